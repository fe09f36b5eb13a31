/**
 * Times two contenders interleaved (a, b, a, b, …) after one warm-up each, so machine-load drift hits
 * both alike. Returns each one's per-run wall-clock seconds.
 */
export async function timePair(reps: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number[], number[]]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  const once = async (run: () => Promise<unknown>, into: number[]): Promise<void> => {
    const t0 = process.hrtime.bigint();
    await run();
    into.push(Number(process.hrtime.bigint() - t0) / 1e9);
  };
  for (let i = 0; i < reps; i++) {
    await once(a, ta);
    await once(b, tb);
  }
  return [ta, tb];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function report(label: string, seconds: number, tokens: number, flops: number): void {
  console.log(`${label}: ${(seconds * 1000).toFixed(1)} ms  ${(tokens / seconds).toFixed(0)} tokens/s  ${(flops / seconds / 1e9).toFixed(1)} GFLOP/s`);
}
