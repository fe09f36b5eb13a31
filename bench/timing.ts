/** Wall-clock seconds of each of `reps` runs, after one warm-up run (session creation, first-touch allocations). */
export async function timeIt(reps: number, run: () => Promise<unknown>): Promise<number[]> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return times;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function report(label: string, seconds: number, tokens: number, flops: number): void {
  console.log(`${label}: ${(seconds * 1000).toFixed(1)} ms  ${(tokens / seconds).toFixed(0)} tokens/s  ${(flops / seconds / 1e9).toFixed(1)} GFLOP/s`);
}
