/**
 * agentgate command line: `agentgate <command> [args]`.
 * Each command lives in src/cli/commands/<name>.ts and exports `USAGE` and `run(argv): Promise<number>`
 * (the exit code). The executable is src/cli/bin.ts; this module only dispatches, so tests call main().
 */
import { UsageError } from './args.js';

interface Command {
  USAGE: string;
  run(args: string[]): Promise<number>;
}

/** Each command is loaded only when used (the simulator is not loaded to run the daemon). */
const COMMANDS: Record<string, { text: string; load: () => Promise<Command> }> = {
  run: {
    text: 'Run the daemon against the PBX in the config file (agentgate run -c agentgate.yaml)',
    load: () => import('./commands/run.js'),
  },
  'check-config': { text: 'Validate a config file and print every error with its path', load: () => import('./commands/check-config.js') },
  token: {
    text: 'Create an API token for a user: the token once, and the line for `tokens:` in the config',
    load: () => import('./commands/token.js'),
  },
  policy: {
    text: 'The policy in force (in the Store): export it, diff it with the config, import the config as an admin',
    load: () => import('./commands/policy.js'),
  },
  doctor: {
    text: 'Check the PBX, Redis and a running agentgate against the config; one line per check, what to fix',
    load: () => import('./commands/doctor.js'),
  },
  explain: {
    text: 'May <user> do <action> on <extension> [queue], and why (exit 0 allowed, 1 denied)',
    load: () => import('./commands/explain.js'),
  },
  demo: {
    text: 'Start the simulator and the daemon and walk through calls and queue operations',
    load: () => import('./commands/demo.js'),
  },
  sim: { text: 'Run the Asterisk simulator standalone (ARI on 8088, AMI on 5038)', load: () => import('./commands/sim.js') },
  'sim-call': {
    text: 'Place a call into Stasis on a running simulator (agentgate sim-call <agent>)',
    load: () => import('./commands/sim-call.js'),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(13)} ${c.text}`);
  return [
    'usage: agentgate <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    "'agentgate <command> --help' shows a command's options.",
    'environment: AGENTGATE_CONFIG (config file when -c is not given, default ./agentgate.yaml),',
    '             AGENTGATE_LOG_LEVEL (overrides log.level: trace, debug, info, warn, error)',
    '',
  ].join('\n');
}

/** Runs one command line; resolves to the process exit code (2 = usage error). */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    // `agentgate` alone is a mistake (exit 2); asking for help is not (exit 0).
    (name === undefined ? process.stderr : process.stdout).write(usage());
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    process.stderr.write(`agentgate: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const cmd = await COMMANDS[name]!.load();
  const end = rest.indexOf('--');
  const flags = end === -1 ? rest : rest.slice(0, end);
  if (flags.includes('-h') || flags.includes('--help')) {
    process.stdout.write(cmd.USAGE);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`agentgate ${name}: ${err.message}\n\n${cmd.USAGE}`);
    return 2;
  }
}
