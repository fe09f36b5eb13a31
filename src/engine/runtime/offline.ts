/**
 * Imported by ort.ts before onnxruntime-node, so it runs first: onnxruntime's Linux build enables
 * Microsoft's 1DS telemetry by default (a device id and an event database under
 * ~/.cache/Microsoft/DeveloperTools/.onnxruntime, a `mat-debug-<pid>.log` in the temp folder, and DNS
 * lookups for its events host on longer runs). The native library reads ORT_DISABLE_TELEMETRY from the
 * environment; setting it here covers the CLI, the worker, tests and benches, and child processes
 * inherit it. Measured: with it set, a `locus probe` under strace opens none of those files.
 */
process.env.ORT_DISABLE_TELEMETRY = '1';

// A module (not a script) with nothing to export: importing it is what matters.
export {};
