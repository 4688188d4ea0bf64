/**
 * `agentgate policy export|diff|import`: the policy in force lives in the Store (src/app/policy-sync.ts);
 * these commands read it from the Store the config names and compare or replace it with a document
 * (the config's `directory`, or `--file`).
 *
 * `import` needs `--as <user>`: each change it makes is checked by the administration rules as if that
 * user had sent it to POST /v1/policy/changes, and the audit names that user. `--as` is not a login:
 * whoever can read the config's Redis URL can write Redis directly, so the config file (and the
 * Redis password) must stay readable only by the service and its administrators.
 */
import { stringify } from 'yaml';
import { describeDiff, diffPolicies, isEmptyDiff, POLICY_KINDS, type PolicyDiff } from '../../app/policy-diff.js';
import { importPolicy } from '../../app/policy-import.js';
import { ConfigError } from '../../config/load.js';
import { AgentgateError } from '../../errors/codes.js';
import { silentLogger } from '../../log.js';
import { systemClock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';
import { describeRedis, openStore, readPolicyParts, readStoredPolicy, type ConfigPolicyParts } from '../policy-sources.js';

export const USAGE = `usage: agentgate policy <export|diff|import> [-c file.yaml] [--file doc.yaml] [--as user] [--json]
  The policy in force is the one in the Store the config names (store.redis); the config's directory
  only seeded it. These commands read and change that one.
  export             print it, with its version, as YAML (a top-level \`directory:\`), or JSON with --json
  diff               what differs between the config's directory (or --file) and it;
                     exit 0 no difference, 1 different
  import --as USER   store the config's directory (or --file) as its next version: each change is
                     checked by the administration rules as if USER sent it to POST /v1/policy/changes,
                     all or nothing; audited as USER. Running daemons follow within 2 s.
  -c, --config FILE  default: env AGENTGATE_CONFIG, else ./agentgate.yaml (only directory and store are read)
  --file FILE        another policy document: a file with a top-level \`directory:\` (a config, an export)
  exit code: 0 done (diff: same), 1 different (diff), refused or failed, 2 usage or config error
`;

function fail(message: string, code = 1): number {
  process.stderr.write(`agentgate policy: ${message}\n`);
  return code;
}

/** Per kind: ids only in the file, only in the Store, different. */
function diffLines(d: PolicyDiff, fileName: string): string[] {
  const lines: string[] = [];
  for (const kind of POLICY_KINDS) {
    const k = d[kind];
    if (k.added.length > 0) lines.push(`  ${kind.padEnd(10)} only in ${fileName}: ${k.added.join(', ')}`);
    if (k.removed.length > 0) lines.push(`  ${kind.padEnd(10)} only in the Store: ${k.removed.join(', ')}`);
    if (k.changed.length > 0) lines.push(`  ${kind.padEnd(10)} different: ${k.changed.join(', ')}`);
  }
  return lines;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...CONFIG_OPTION,
    file: { type: 'string' },
    as: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [sub, ...extra] = positionals;
  if (sub === undefined || !['export', 'diff', 'import'].includes(sub)) {
    throw new UsageError(
      sub === undefined ? 'missing subcommand (export, diff, import)' : `unknown subcommand '${sub}' (expected export, diff, import)`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (sub === 'import' && values.as === undefined)
    throw new UsageError('import needs --as <user>: the administrator the change is checked and audited as');
  if (sub !== 'import' && values.as !== undefined) throw new UsageError('--as is for import only');
  if (sub === 'export' && values.file !== undefined) throw new UsageError('--file is for diff and import');

  const file = configPath(values);
  let config: ConfigPolicyParts;
  let source: ConfigPolicyParts;
  try {
    config = readPolicyParts(file);
    source = values.file === undefined ? config : readPolicyParts(values.file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const sourceName = values.file ?? file;
  if (!config.redis) {
    return fail(
      `${file} names no Redis store (store.redis): the policy lives in the running daemon's memory, seeded from this directory at every start. ` +
        'Read it with GET /v1/policy, change it with POST /v1/policy/changes, or edit the directory and reload (SIGHUP).',
    );
  }
  const where = describeRedis(config.redis);
  let store: Store;
  try {
    store = await openStore(config.redis);
  } catch (err) {
    return fail(err instanceof AgentgateError ? err.message : String(err));
  }
  try {
    const stored = await readStoredPolicy(store);
    if (stored === null)
      return fail(`the Store at ${where} holds no policy yet: the first daemon start seeds it from the config's directory`);

    if (sub === 'export') {
      if ('invalid' in stored) return fail(`the policy in the Store (version ${stored.version}) is invalid: ${stored.invalid}`);
      if (values.json === true) process.stdout.write(`${JSON.stringify({ version: stored.version, directory: stored.doc })}\n`);
      else {
        process.stdout.write(
          `# agentgate policy version ${stored.version}, exported from ${where} at ${new Date().toISOString()}\n` +
            `# Compare or import it: agentgate policy diff|import --file <this file> [--as <administrator>]; or paste its directory into the config.\n` +
            stringify({ version: stored.version, directory: stored.doc }, { lineWidth: 0 }),
        );
      }
      return 0;
    }

    if (sub === 'diff') {
      if ('invalid' in stored) return fail(`the policy in the Store (version ${stored.version}) is invalid: ${stored.invalid}`);
      const d = diffPolicies(stored.doc, source.directory);
      if (values.json === true) process.stdout.write(`${JSON.stringify({ version: stored.version, same: isEmptyDiff(d), diff: d })}\n`);
      else if (isEmptyDiff(d))
        process.stdout.write(`${sourceName}: same as the policy in force (Store version ${stored.version}, ${where})\n`);
      else {
        process.stdout.write(
          [
            `${sourceName} vs the policy in force (Store version ${stored.version}, ${where}): ${describeDiff(d)}`,
            ...diffLines(d, sourceName),
            `apply ${sourceName} with: agentgate policy import -c ${file}${values.file ? ` --file ${values.file}` : ''} --as <administrator>`,
            '',
          ].join('\n'),
        );
      }
      return isEmptyDiff(d) ? 0 : 1;
    }

    // import
    const actor = values.as!;
    try {
      const r = await importPolicy({ store, clock: systemClock(), logger: silentLogger() }, source.directory, { kind: 'user', id: actor });
      if (!r.changed) {
        process.stdout.write(`${sourceName}: nothing to import, the Store already holds it (version ${r.version})\n`);
        return 0;
      }
      if (values.json === true)
        process.stdout.write(`${JSON.stringify({ from: r.from, version: r.version, diff: r.diff, changes: r.changes })}\n`);
      else {
        process.stdout.write(
          [
            `imported ${sourceName} as policy version ${r.version} (was ${r.from}) at ${where}: ${describeDiff(r.diff)}`,
            `checked and audited as ${actor}: ${r.changes.join(', ')}`,
            'running daemons follow within their poll (2 s)',
            '',
          ].join('\n'),
        );
      }
      return 0;
    } catch (err) {
      if (!(err instanceof AgentgateError)) throw err;
      return fail(`${err.code}: ${err.message}${err.code === 'AGENTGATE_ERR_POLICY_VERSION' ? ' (run it again)' : ''}`);
    }
  } catch (err) {
    return fail(err instanceof AgentgateError ? `${err.code}: ${err.message}` : String(err));
  } finally {
    await store.close();
  }
}
