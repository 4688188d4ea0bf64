/** Small helpers shared by the benchmarks. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function summary(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: +percentile(s, 0.5).toFixed(3), p99: +percentile(s, 0.99).toFixed(3), max: +(s[s.length - 1] ?? NaN).toFixed(3) };
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
