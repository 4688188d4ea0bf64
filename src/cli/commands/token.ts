/**
 * `agentgate token create --user <id> [--label L] [-c file.yaml]`: the first admin's token (or any
 * user's) without a running daemon. The token is printed once and never stored; the config line
 * holds only its sha-256, and the daemon loads `tokens:` at start. With a config file, the user must
 * exist in its directory (a token for an unknown user would fail the config check at start).
 */
import { stringify } from 'yaml';
import { newToken, sha256 } from '../../app/tokens.js';
import { ConfigError, loadDirectoryFile } from '../../config/load.js';
import { CONFIG_OPTION, parse, UsageError } from '../args.js';

export const USAGE = `usage: agentgate token create --user <id> [--label text] [-c file.yaml]
  Prints a new API token once, then the line to paste under \`tokens:\` in the config (its sha-256,
  never the token). With -c (or env AGENTGATE_CONFIG) the user must exist in that config's directory.
  The daemon reads \`tokens:\` at start: restart it after pasting (or issue tokens with POST /v1/tokens).
  exit code: 0 created, 1 unknown user or unreadable config, 2 usage error
`;

// The directory's own id rule (src/domain/policy/parse.ts): lower case, so no token is made for a user that cannot exist.
const USER_ID = /^[a-z0-9._-]{1,64}$/;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...CONFIG_OPTION, user: { type: 'string', short: 'u' }, label: { type: 'string' } });
  const [sub, ...extra] = positionals;
  if (sub !== 'create')
    throw new UsageError(sub === undefined ? 'missing subcommand (create)' : `unknown subcommand '${sub}' (expected create)`);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const user = values.user;
  if (user === undefined) throw new UsageError('--user is required');
  if (!USER_ID.test(user)) throw new UsageError(`--user: '${user}' is not a user id (lower-case letters, digits, . _ -)`);
  const label = values.label ?? 'cli';

  const file = values.config ?? process.env.AGENTGATE_CONFIG;
  if (file !== undefined) {
    try {
      const directory = loadDirectoryFile(file);
      const known = directory.users.find((u) => u.id === user);
      if (!known) {
        const ids = directory.users.map((u) => u.id);
        process.stderr.write(
          `agentgate token: no user '${user}' in ${file} (directory.users: ${ids.length > 0 ? ids.join(', ') : 'none'})\n`,
        );
        return 1;
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
  }

  const token = newToken();
  // The entry as YAML flow mapping, quoted by the yaml library when the label needs it.
  const entry = stringify({ user, sha256: sha256(token), label }, { collectionStyle: 'flow', lineWidth: 0 }).trim();
  process.stdout.write(
    [
      token,
      '',
      `# The token above is shown only this once. Paste this line under \`tokens:\` in ${file ?? 'the config'}, then (re)start agentgate:`,
      `  - ${entry}`,
      '',
    ].join('\n'),
  );
  return 0;
}
