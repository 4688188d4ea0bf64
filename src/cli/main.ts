/**
 * agentgate command line: `agentgate <command> [args]`.
 * Each command lives in src/cli/commands/<name>.ts and exports `run(argv): Promise<number>` (exit code).
 */
import { fileURLToPath } from 'node:url';

const COMMANDS: Record<string, string> = {
  run: 'Run the daemon against the PBX in the config file (agentgate run -c agentgate.yaml)',
  demo: 'Start the simulator and the daemon and walk through calls and queue operations',
  sim: 'Run the Asterisk simulator standalone (ARI on 8088, AMI on 5038)',
  'check-config': 'Validate a config file and print every error with its path',
  explain: 'May <user> do <action> on <extension> [queue], and why (exit 0 allowed, 1 denied)',
  'sim-call': 'Place a call into Stasis on a running simulator (agentgate sim-call <agent>)',
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, text]) => `  ${name.padEnd(13)} ${text}`);
  return `usage: agentgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (!(name in COMMANDS)) {
    process.stderr.write(`agentgate: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = (await import(`./commands/${name}.js`)) as { run: (args: string[]) => Promise<number> };
  return mod.run(rest);
}

const invokedDirectly =
  process.argv[1] !== undefined &&
  (fileURLToPath(import.meta.url) === process.argv[1] || process.argv[1].endsWith('bin/agentgate.js'));
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`agentgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
