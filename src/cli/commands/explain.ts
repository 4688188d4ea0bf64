/**
 * `agentgate explain <user> <action> <extension> [queue] [-c|--config file.yaml] [--ip addr] [--json]`
 *
 * May <user> do <action> on <extension> (in [queue]), and why. Reads only the `directory` key of the
 * config file (default: env AGENTGATE_CONFIG, else ./agentgate.yaml); other keys are ignored, so a
 * policy can be checked before the rest of the config is written.
 * Exit code: 0 allowed, 1 denied, 2 usage or config error.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { compilePolicy, decide, explain, isValidIp, parsePolicyDoc, QUEUE_ACTIONS, type DecisionRequest, type QueueAction } from '../../domain/policy/index.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';

export const USAGE = `usage: agentgate explain <user> <action> <extension> [queue] [-c file.yaml] [--ip addr] [--json]
  action: ${QUEUE_ACTIONS.join(' | ')}
  exit code: 0 allowed, 1 denied, 2 usage or config error
`;

function fail(message: string): number {
  process.stderr.write(`agentgate explain: ${message}\n`);
  return 2;
}

export async function run(args: string[]): Promise<number> {
  let cli;
  try {
    cli = parse(args, { ...CONFIG_OPTION, ip: { type: 'string' }, json: { type: 'boolean' } });
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
  if (!(QUEUE_ACTIONS as readonly string[]).includes(action)) return fail(`unknown action '${action}' (expected ${QUEUE_ACTIONS.join(', ')})`);
  const ip = cli.values.ip;
  if (ip !== undefined && !isValidIp(ip)) return fail(`--ip: '${ip}' is not an IPv4 or IPv6 address`);

  const file = configPath(cli.values);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)';
    return fail(`${file}: ${where}: ${e.message.split('\n')[0] ?? e.message}`);
  }
  const root = doc.toJS() as unknown;
  const directory = root !== null && typeof root === 'object' && !Array.isArray(root) ? (root as Record<string, unknown>).directory : undefined;
  if (directory === undefined) return fail(`${file}: no top-level 'directory' (users, groups, extensions, queues, grants)`);
  const parsed = parsePolicyDoc(directory);
  if (!parsed.ok) {
    process.stderr.write(`${file}: ${parsed.errors.length} policy error(s)\n${parsed.errors.map((e) => `  directory.${e.path}: ${e.message}`.replace('directory.[', 'directory[')).join('\n')}\n`);
    return 2;
  }

  const req: DecisionRequest = { actor, action: action as QueueAction, extension };
  if (queue !== undefined) req.queue = queue;
  if (ip !== undefined) {
    req.ip = ip;
    req.source = 'http';
  }
  const decision = decide(compilePolicy(parsed.value), req);
  if (cli.values.json === true) process.stdout.write(`${JSON.stringify({ request: req, ...decision })}\n`);
  else process.stdout.write(`${explain(decision, req)}\n`);
  return decision.allowed ? 0 : 1;
}
