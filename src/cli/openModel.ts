/**
 * The flags every model-loading command shares, and the one way the CLI opens a model: validated
 * runtime options, the load warnings printed to stderr (`warning: …`), notes on clamped values.
 */
import * as os from 'node:os';
import type { Device, LoadedModel, LoadOptions } from '../engine/index';
import { loadModel } from '../engine/index';
import { intFlag, UsageError } from './args';
import type { CliIO } from './io';

/** Spread into a command's flag table. */
export const MODEL_FLAGS = {
  model: { type: 'string' },
  threads: { type: 'string' },
  'allow-nonfinite': { type: 'boolean' },
  device: { type: 'string' },
} as const;

const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

export const MODEL_FLAGS_HELP = `  --model M             a Hugging Face model folder, org/name from the Hugging Face cache (see locus models),
                        or "default" (the embedded model; the default)
  --threads N           intra-op threads (default: cores, at most 4; at most the machine's ${os.availableParallelism()} cores)
  --allow-nonfinite     load a model whose weights hold NaN/Inf (a warning instead of an error)
  --device D            cpu (default), cuda (onnxruntime-node's CUDA 12 provider, installed separately) or
                        webgpu; a device that cannot start here is refused when the model loads`;

/** `--threads`, validated and clamped to the machine's cores (a note says so). */
export function threadsFlag(value: string | undefined, io: CliIO): number | undefined {
  if (value === undefined) return undefined;
  const asked = intFlag(value, 'threads', 1, 1);
  const cores = os.availableParallelism();
  if (asked <= cores) return asked;
  io.err(`note: --threads ${asked} is more than this machine's ${cores} cores; using ${cores}`);
  return cores;
}

function deviceFlag(value: string | undefined): Device | undefined {
  if (value === undefined) return undefined;
  const device = DEVICES.find((d) => d === value.trim().toLowerCase());
  if (!device) throw new UsageError(`--device "${value}" is not one of ${DEVICES.join(', ')}`);
  return device;
}

/**
 * Opens `--model` (default: the embedded model) with the shared flags; prints load warnings to stderr.
 * `lean`: the command's choice of lean weights (LoadOptions.lean; default the engine's size rule).
 */
export async function openModel(values: Record<string, unknown>, io: CliIO, lean?: LoadOptions['lean']): Promise<LoadedModel> {
  const options: LoadOptions = {
    threads: threadsFlag(values['threads'] as string | undefined, io),
    allowNonFinite: values['allow-nonfinite'] === true,
    device: deviceFlag(values['device'] as string | undefined),
    lean,
  };
  const spec = values['model'] as string | undefined;
  if (spec !== undefined && spec.trim() === '') throw new UsageError('--model is empty: give a Hugging Face model folder, org/name from the Hugging Face cache, or "default" for the embedded model');
  const model = await loadModel(spec ?? 'default', options);
  for (const w of model.warnings) io.err(`warning: ${w}`);
  return model;
}
