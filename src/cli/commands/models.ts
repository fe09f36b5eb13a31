import type { CachedModel } from '../../engine/index';
import { hfHubCacheDir, hubFolder, listCachedModels } from '../../engine/index';
import { parseFlags } from '../args';
import type { CliIO } from '../io';
import { formatBytes, formatCount } from '../../protocol/units';

export const modelsHelp = `locus models [--hf-cache DIR] [--json]

The models in the Hugging Face cache (offline: nothing is downloaded), with their family, parameters,
storage dtype and size, and why Locus cannot open one when it cannot. Open one with --model org/name.
  --hf-cache DIR  the cache to read (a hub folder, or an HF_HOME holding hub/); default: $HF_HUB_CACHE,
                  else $HF_HOME/hub, else ~/.cache/huggingface/hub
  --json          print JSON: { cacheDir, models: [{ repoId, path, revision, modelType, familySupported,
                  parameters, dtype, sizeBytes, problem: { code, reason } }] }`;


function table(models: readonly CachedModel[]): string[] {
  const rows = models.map((m) => [m.repoId, m.modelType ?? '?', m.problem ? 'no' : 'yes', formatCount(m.parameters), m.dtype ?? '?', formatBytes(m.sizeBytes), m.problem?.reason ?? '']);
  const header = ['REPO', 'FAMILY', 'OPENS', 'PARAMS', 'DTYPE', 'SIZE', 'WHY NOT'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  // The reason is last and not padded: it can be long.
  const line = (r: string[]): string => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export async function modelsCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, { 'hf-cache': { type: 'string' }, json: { type: 'boolean' } }, 'models');
  if (values.help) return io.out(modelsHelp);
  const given = values['hf-cache'] as string | undefined;
  const cacheDir = given !== undefined && given.trim() !== '' ? hubFolder(given) : hfHubCacheDir();
  const models = listCachedModels(cacheDir);
  if (values.json) return io.out(JSON.stringify({ cacheDir, models }, null, 2));
  if (models.length === 0) {
    io.out(`no models in the Hugging Face cache at ${cacheDir}; Locus never downloads: fetch one with \`huggingface-cli download org/name\`, or give --model a folder`);
    return;
  }
  const open = models.filter((m) => !m.problem).length;
  io.out(`Hugging Face cache ${cacheDir}: ${models.length} model(s), ${open} Locus can open (--model org/name)`);
  for (const l of table(models)) io.out(l);
}
