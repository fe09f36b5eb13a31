/**
 * `--device` / `locus.device`: whether an execution provider other than the CPU can start here,
 * asked once per device with a one-node graph, so that a missing GPU or a CPU-only onnxruntime-node
 * is one clear line when the model loads, not an ORT stack trace at the first forward pass.
 */
import { LocusError } from '../errors';
import { GraphBuilder } from '../graph/builder';
import { encodeModel } from '../graph/proto';
import { RuntimeSession } from './ort';
import type { Device } from './ort';

/** What to do when a device's provider cannot start. */
const HOW_TO: Readonly<Record<Exclude<Device, 'cpu'>, string>> = {
  cuda:
    "onnxruntime-node's CUDA provider is not installed (Locus installs onnxruntime-node without its CUDA download, " +
    'to stay offline). On a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, run once in Locus\'s folder: ' +
    'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js (it downloads the provider)',
  webgpu: 'no WebGPU adapter was found (a GPU with Vulkan drivers on Linux, D3D12 on Windows, Metal on macOS)',
};

const checked = new Map<Device, Promise<void>>();

/** The provider's own first line, without ORT's source-file prefix. */
function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n').find((l) => l.trim()) ?? text;
  // ORT's failed checks read "<file>:<line> <function> <condition> was false. <reason>": keep the reason.
  const checkFailed = /\bwas false\.\s*(.+)$/.exec(line);
  const plain = checkFailed ? checkFailed[1] : line.replace(/^.*?(?:\.cc|\.cpp|\.h):\d+\s+/, '').replace(/^.*?\] : \d+ : [A-Z_]+ : /, '');
  return plain.slice(0, 200).trim();
}

/** Resolves when `device` can run a graph here; otherwise rejects with LocusError('bad-input'). */
export function checkDevice(device: Device): Promise<void> {
  if (device === 'cpu') return Promise.resolve();
  let probe = checked.get(device);
  if (!probe) {
    probe = (async () => {
      const g = new GraphBuilder('device-check');
      g.output(g.node('Identity', [g.input('x', [1])], undefined, 'y'), [1]);
      let session: RuntimeSession;
      try {
        session = await RuntimeSession.create('device-check', encodeModel(g.build()), { device, threads: 1 });
      } catch (e) {
        throw new LocusError('bad-input', `--device ${device} cannot start on this machine: ${HOW_TO[device]} (onnxruntime: ${reason(e)}). Use --device cpu.`);
      }
      await session.release();
    })();
    checked.set(device, probe);
  }
  return probe;
}
