/**
 * glibc malloc settings for the processes that run the engine (the CLI and the worker). The engine
 * allocates and frees tens of megabytes per block run (ORT's outputs copied into fresh typed arrays,
 * batch buffers); with glibc's defaults each of those is a fresh mmap, faulted in 4 KiB at a time and
 * unmapped again when freed. Measured here (2 vCPU, `locus trace` of an 11-token prompt on a
 * GPT-2-small-shaped folder, 2 threads): 913 k page faults, 20.3 s wall; with these settings 35 k
 * faults, 11.8 s; a `locus edit --method rome` process 14.3 → 11.6 s. Huge pages alone gave 15.6 s;
 * the thresholds alone nothing. glibc reads them only when a process starts, so the CLI restarts
 * itself with them (src/cli/respawn.ts) and the extension starts the worker with them. Other C
 * libraries (macOS, Windows, musl) ignore the variable.
 */
export const MALLOC_TUNABLES: readonly string[] = [
  // Transparent huge pages for malloc's own mmaps and heap (madvise): 512× fewer faults on big buffers.
  'glibc.malloc.hugetlb=1',
  // Chunks up to 32 MiB (glibc's largest dynamic threshold) come from the heap and are reused when freed...
  'glibc.malloc.mmap_threshold=33554432',
  // ...and the heap is not trimmed back to the kernel after each free (freed memory is reused instead).
  'glibc.malloc.trim_threshold=4294967295',
];

/** Set to 0 to run without the settings (and, for the CLI, in one process: no restart). */
export const MALLOC_TUNING_SWITCH = 'LOCUS_MALLOC_TUNING';

/** Whether `env` already carries the settings (e.g. a process started with them). */
export function hasMallocTunables(env: Readonly<Record<string, string | undefined>>): boolean {
  return (env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.hugetlb=1');
}

/**
 * `env` with MALLOC_TUNABLES added to GLIBC_TUNABLES; a tunable the user already set keeps the
 * user's value. Unchanged when LOCUS_MALLOC_TUNING=0.
 */
export function withMallocTunables(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  if (env[MALLOC_TUNING_SWITCH] === '0') return { ...env };
  const own = (env.GLIBC_TUNABLES ?? '').split(':').filter((s) => s.length > 0);
  const set = new Set(own.map((s) => s.split('=')[0]));
  const added = MALLOC_TUNABLES.filter((s) => !set.has(s.split('=')[0]));
  return { ...env, GLIBC_TUNABLES: [...own, ...added].join(':') };
}
