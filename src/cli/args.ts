/** Tiny flag reader shared by the CLI commands: `-c/--config FILE`, `--flag value`, `--flag=value`. */
export function flag(args: readonly string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    for (const n of names) {
      if (a === n) return args[i + 1];
      if (a.startsWith(`${n}=`)) return a.slice(n.length + 1);
    }
  }
  return undefined;
}

/** Positional arguments: everything that is not a flag or a flag's value. */
export function positionals(args: readonly string[], flagsWithValue: readonly string[] = ['-c', '--config']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (flagsWithValue.includes(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    out.push(a);
  }
  return out;
}

export function configPathFrom(args: readonly string[]): string {
  return flag(args, '-c', '--config') ?? process.env.AGENTGATE_CONFIG ?? 'agentgate.yaml';
}
