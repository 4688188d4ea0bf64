/**
 * Command-line parsing shared by the commands, on node:util parseArgs (strict: an unknown flag or a
 * missing flag value is a usage error, never silently ignored).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line that cannot be understood: the command prints its usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `-c/--config FILE`, which most commands take. */
export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const satisfies Options;

export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string };
  positionals: string[];
  help: boolean;
}

/** Parse `args` against `options`; `-h/--help` is always accepted. Throws UsageError. */
export function parse<O extends Options>(args: readonly string[], options: O, positionals = true): Parsed<O> {
  let out;
  try {
    out = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals,
      strict: true,
    });
  } catch (err) {
    // parseArgs' messages name the flag ("Unknown option '--x'"); drop its advice about '--'.
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { help, ...values } = out.values as Record<string, unknown>;
  return { values: values as Parsed<O>['values'], positionals: out.positionals, help: help === true };
}

/** The config file: `-c FILE`, else env AGENTGATE_CONFIG, else ./agentgate.yaml. */
export function configPath(values: { config?: string | undefined }): string {
  return values.config ?? process.env.AGENTGATE_CONFIG ?? 'agentgate.yaml';
}

/** A port number flag (0 = any free port), or a UsageError naming the flag. */
export function portFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new UsageError(`--${name}: '${value}' is not a port number (0-65535)`);
  return Number(value);
}
