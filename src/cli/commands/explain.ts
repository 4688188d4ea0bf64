/**
 * `agentgate explain <user> <action> <extension> [queue] [-c|--config file.yaml] [--ip addr] [--from ...] [--json]`
 *
 * May <user> do <action> on <extension> (in [queue]), and why — answered from the policy the daemon
 * decides from: the one in the Store the config names (store.redis), when it holds one; else from
 * the config's `directory`, saying why (no Redis configured, Redis down, nothing stored yet). Reads
 * only the `directory` and `store` keys of the config file (default: env AGENTGATE_CONFIG, else
 * ./agentgate.yaml); other keys are ignored, so a policy can be checked before the rest of the config
 * is written. Exit code: 0 allowed, 1 denied, 2 usage or config error.
 */
import { ConfigError } from '../../config/load.js';
import {
  compilePolicy,
  decide,
  explain,
  isValidIp,
  QUEUE_ACTIONS,
  type DecisionRequest,
  type PolicyDoc,
  type QueueAction,
} from '../../domain/policy/index.js';
import { AgentgateError } from '../../errors/codes.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';
import { describeRedis, openStore, readPolicyParts, readStoredPolicy, type ConfigPolicyParts } from '../policy-sources.js';

export const USAGE = `usage: agentgate explain <user> <action> <extension> [queue] [-c file.yaml] [--ip addr] [--from auto|store|config] [--json]
  action: ${QUEUE_ACTIONS.join(' | ')}
  --from   which policy answers: store = the one in force, in the Store the config names (what the
           daemon decides from); config = the config file's directory; auto (default) = the Store's
           when the config names Redis and it holds a policy, else the file's. The last line (the
           \`policy\` field with --json) says which one answered.
  exit code: 0 allowed, 1 denied, 2 usage or config error
`;

function fail(message: string): number {
  process.stderr.write(`agentgate explain: ${message}\n`);
  return 2;
}

export async function run(args: string[]): Promise<number> {
  let cli;
  try {
    cli = parse(args, { ...CONFIG_OPTION, ip: { type: 'string' }, json: { type: 'boolean' }, from: { type: 'string' } });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`agentgate explain: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [actor, action, extension, queue, ...extra] = cli.positionals;
  if (actor === undefined || action === undefined || extension === undefined || extra.length > 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (!(QUEUE_ACTIONS as readonly string[]).includes(action))
    return fail(`unknown action '${action}' (expected ${QUEUE_ACTIONS.join(', ')})`);
  const ip = cli.values.ip;
  if (ip !== undefined && !isValidIp(ip)) return fail(`--ip: '${ip}' is not an IPv4 or IPv6 address`);

  const from = cli.values.from ?? 'auto';
  if (!['auto', 'store', 'config'].includes(from)) return fail(`--from: '${from}' is not auto, store or config`);
  const file = configPath(cli.values);
  let parts: ConfigPolicyParts;
  try {
    parts = readPolicyParts(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const unreadable = err.issues.find((i) => i.path === '(file)');
    if (unreadable) return fail(`cannot read ${file}: ${unreadable.message}`);
    if (err.issues.length === 1 && err.issues[0]!.path === 'directory')
      return fail(`${file}: no top-level 'directory' (users, groups, extensions, queues, grants)`);
    process.stderr.write(
      `${file}: ${err.issues.length} policy error(s)\n${err.issues.map((e) => `  ${e.path}: ${e.message}`).join('\n')}\n`,
    );
    return 2;
  }
  const chosen = await choosePolicy(parts, file, from as 'auto' | 'store' | 'config');
  if ('error' in chosen) return fail(chosen.error);

  const req: DecisionRequest = { actor, action: action as QueueAction, extension };
  if (queue !== undefined) req.queue = queue;
  if (ip !== undefined) {
    req.ip = ip;
    req.source = 'http';
  }
  const decision = decide(compilePolicy(chosen.doc, chosen.used.version ?? 0), req);
  if (cli.values.json === true) process.stdout.write(`${JSON.stringify({ request: req, ...decision, policy: chosen.used })}\n`);
  else process.stdout.write(`${explain(decision, req)}\npolicy: ${chosen.text}\n`);
  return decision.allowed ? 0 : 1;
}

type PolicyUsed =
  { source: 'store'; version: number; store: string } | { source: 'config'; file: string; reason: string; version?: undefined };

/** The policy that answers, per --from; `text` is the line printed under the explanation. */
async function choosePolicy(
  parts: ConfigPolicyParts,
  file: string,
  from: 'auto' | 'store' | 'config',
): Promise<{ doc: PolicyDoc; used: PolicyUsed; text: string } | { error: string }> {
  const fromFile = (reason: string): { doc: PolicyDoc; used: PolicyUsed; text: string } => ({
    doc: parts.directory,
    used: { source: 'config', file, reason },
    text: `the directory of ${file} (${reason})`,
  });
  if (from === 'config') return fromFile('--from config; the daemon decides from the policy in the Store, which may differ');
  if (!parts.redis) {
    if (from === 'store')
      return { error: `${file} names no Redis store (store.redis): the daemon keeps its policy in memory; ask it with GET /v1/explain` };
    return fromFile(
      'the config names no Redis store: a running daemon keeps its policy in memory, seeded from this directory; GET /v1/explain asks it',
    );
  }
  const where = describeRedis(parts.redis);
  let reason: string;
  try {
    const store = await openStore(parts.redis);
    try {
      const stored = await readStoredPolicy(store);
      if (stored !== null && 'doc' in stored) {
        return {
          doc: stored.doc,
          used: { source: 'store', version: stored.version, store: where },
          text: `the policy in force, Store version ${stored.version} at ${where}`,
        };
      }
      reason =
        stored === null
          ? `the Store at ${where} holds no policy yet: the daemon's first start seeds it from this directory`
          : `the policy in the Store (version ${stored.version}) is invalid: ${stored.invalid}`;
    } finally {
      await store.close();
    }
  } catch (err) {
    reason = `the Store at ${where} does not answer: ${err instanceof AgentgateError ? err.message : String(err)}; the policy in force may differ`;
  }
  if (from === 'store') return { error: reason };
  return fromFile(reason);
}
