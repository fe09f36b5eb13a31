import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { forward, forwardContext, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { LocusError } from '../../src/engine/errors';
import { readConfig } from '../../src/engine/model/config';
import { mapStandIns } from '../../src/engine/model/mappedWeights';
import type { MappedRef, MappedSource } from '../../src/engine/model/mappedWeights';
import type { ParamName } from '../../src/engine/model/names';
import { loadWeights } from '../../src/engine/model/weights';
import type { Tensor } from '../../src/engine/tensor/tensor';
import { maxAbsDiff } from '../helpers/assertClose';
import { golden, tempDir } from '../helpers/paths';

/**
 * Mapped weights (issue 17): a lean float32 model's parameters stored as the graphs use them are ONNX
 * external initializers that ORT maps from the user's file. References: the golden's float32 forward
 * (../shared/golden/gpt2-facts-trained/forward.json, same 1e-4 as forward.golden.test.ts) and the fed
 * lean load (the path before mapping), which must agree bit for bit: the same float32 weights, and the
 * fused c_attn product sliced per Q/K/V computes each column as the separate product does.
 */
const NAME = 'gpt2-facts-trained';
const ATOL = 1e-4;

interface GoldenPrompt {
  prompt: string;
  input_ids: number[];
  logits_last: number[];
}
const ref = JSON.parse(fs.readFileSync(golden(NAME, 'forward.json'), 'utf8')) as { prompts: GoldenPrompt[] };

async function lastLogits(model: LoadedModel, ids: number[]): Promise<Float32Array> {
  return (await forward(forwardContext(model), [ids])).logits!.data;
}

const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The golden folder's files copied to a fresh folder (the safetensors file through `write`). */
function copyGolden(into: string, write: (bytes: Buffer) => Buffer = (b) => b): void {
  fs.mkdirSync(into, { recursive: true });
  for (const f of fs.readdirSync(golden(NAME))) {
    if (!fs.statSync(golden(NAME, f)).isFile()) continue;
    const bytes = fs.readFileSync(golden(NAME, f));
    fs.writeFileSync(path.join(into, f), f === 'model.safetensors' ? write(bytes) : bytes);
  }
}

describe(`${NAME} loaded lean with mapped weights`, () => {
  let mapped: LoadedModel;
  let fed: LoadedModel;
  before(async () => {
    // Mapped without ORT's prepacking, as a model above 1 GiB loads (fed weights are never prepacked, so the two agree bit for bit).
    mapped = await loadModel(golden(NAME), { lean: true, prepack: false });
    fed = await loadModel(golden(NAME), { lean: true, map: false });
  });
  after(async () => {
    await mapped.dispose();
    await fed.dispose();
  });

  test('every GPT-2 parameter is mapped (whole, bias ranges and c_attn column blocks)', () => {
    const w = loadWeights(golden(NAME), readConfig(golden(NAME)), { lean: true });
    try {
      assert.equal(w.mapped?.count, w.params.names().length);
    } finally {
      w.store.close();
    }
  });

  test('logits equal the fed lean load bit for bit and the golden within 1e-4; the file is not written', async (t) => {
    const file = golden(NAME, 'model.safetensors');
    const before0 = sha(file);
    let worst = 0;
    for (const p of ref.prompts) {
      const got = await lastLogits(mapped, p.input_ids);
      assert.deepEqual(got, await lastLogits(fed, p.input_ids), `"${p.prompt}": mapped vs fed`);
      const d = maxAbsDiff(got, p.logits_last);
      assert.ok(d <= ATOL, `"${p.prompt}": max |diff| ${d} vs the golden`);
      worst = Math.max(worst, d);
    }
    assert.equal(sha(file), before0);
    t.diagnostic(`max |diff| vs golden ${worst}`);
  });

  test('an edit of a mapped weight reaches the sessions; reverting restores the logits bit for bit', async () => {
    const ids = ref.prompts[0].input_ids;
    const before0 = await lastLogits(mapped, ids);
    for (const target of ['blocks.1.mlp.W_out', 'blocks.0.attn.W_K'] as ParamName[]) {
      const orig = mapped.param(target);
      const edited: Tensor = { shape: [...orig.shape], data: orig.data.map((x, i) => x * (1 + ((i % 7) - 3) * 0.1)) };
      await mapped.overrides.set(target, edited);
      await fed.overrides.set(target, { shape: [...edited.shape], data: edited.data.slice() });
      const got = await lastLogits(mapped, ids);
      assert.ok(maxAbsDiff(got, before0) > 1e-4, `${target}: the edit changes the logits`);
      assert.deepEqual(got, await lastLogits(fed, ids), `${target}: mapped and fed edits agree`);
      await mapped.overrides.clear(target);
      await fed.overrides.clear(target);
      assert.deepEqual(await lastLogits(mapped, ids), before0);
    }
  });
});

describe('mapped weights on files as users have them', () => {
  let dir: string;
  before(() => {
    dir = tempDir('locus-mapped-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a Hugging Face cache snapshot (files linked into ../../blobs) maps from the real folder', async () => {
    const blobs = path.join(dir, 'hub', 'blobs');
    const snap = path.join(dir, 'hub', 'snapshots', 'abc123');
    copyGolden(blobs);
    fs.mkdirSync(snap, { recursive: true });
    for (const f of fs.readdirSync(blobs)) fs.symlinkSync(path.join('..', '..', 'blobs', f), path.join(snap, f));
    const m = await loadModel(snap, { lean: true });
    try {
      const p = ref.prompts[0];
      assert.ok(maxAbsDiff(await lastLogits(m, p.input_ids), p.logits_last) <= ATOL);
    } finally {
      await m.dispose();
    }
  });

  test('a NaN in a mapped tensor is refused at its first use in one line naming the tensor', async () => {
    const bad = path.join(dir, 'nan');
    copyGolden(bad, (bytes) => {
      const headerLen = Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
      const at = 8 + headerLen + header['transformer.h.1.mlp.c_fc.weight'].data_offsets[0] + 4 * 17;
      const out = Buffer.from(bytes);
      out.writeFloatLE(NaN, at);
      return out;
    });
    // checkAtLoadBytes 0: checked at first use, as a model above 1 GiB is (a small one is refused at load).
    const w = loadWeights(bad, readConfig(bad), { lean: true, checkAtLoadBytes: 0 });
    try {
      const source = w.mapped!.unless(() => false);
      assert.ok(source.placeholder('blocks.0.mlp.W_in' as ParamName), 'a clean tensor passes');
      assert.throws(() => source.placeholder('blocks.1.mlp.W_in' as ParamName), (e: unknown) => {
        assert.ok(e instanceof LocusError && e.code === 'non-finite', String(e));
        assert.match(e.message, /transformer\.h\.1\.mlp\.c_fc\.weight has 1 NaN\/Inf of 16,384; pass --allow-nonfinite/);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    } finally {
      w.store.close();
    }
    const allowed = loadWeights(bad, readConfig(bad), { lean: true, checkAtLoadBytes: 0, allowNonFinite: true });
    try {
      assert.ok(allowed.mapped!.unless(() => false).placeholder('blocks.1.mlp.W_in' as ParamName), '--allow-nonfinite: mapped anyway');
      assert.match(allowed.warnings.join('\n'), /c_fc\.weight has 1 NaN\/Inf of 16,384; loaded anyway \(--allow-nonfinite\)/);
    } finally {
      allowed.store.close();
    }
  });
});

describe('mapStandIns', () => {
  const fused = { location: 'model.safetensors', offset: 1000, length: 4 * 4 * 12 };
  const col: MappedRef = { kind: 'columns', fused, stored: 'h.0.attn.c_attn.weight', dims: [4, 12], start: 4, count: 4 };
  const standIn = new Uint8Array(0);
  const source: MappedSource = { folder: '/x', placeholder: () => undefined, external: (raw) => (raw.buffer === standIn.buffer ? col : undefined) };
  const spec = (opType: string) => ({
    name: 'g',
    nodes: [{ opType, inputs: ['x', 'W_K'], outputs: ['k'], name: 'proj' }],
    initializers: [{ name: 'W_K', dataType: 'float' as const, dims: [4, 4], raw: standIn }],
    inputs: [{ name: 'x', dataType: 'float' as const, dims: ['rows', 4] }],
    outputs: [{ name: 'k', dataType: 'float' as const, dims: ['rows', 4] }],
  });

  test('a column block used as a MatMul B becomes a slice of the product with the fused external weight', () => {
    const out = mapStandIns(spec('MatMul'), source);
    assert.deepEqual(out.nodes.map((n) => [n.opType, n.inputs[0], n.inputs[1], n.outputs[0]]), [
      ['MatMul', 'x', 'mapped.h.0.attn.c_attn.weight', 'k.fused'],
      ['Slice', 'k.fused', 'k.cols.starts', 'k'],
    ]);
    const w = out.initializers.find((i) => i.name === 'mapped.h.0.attn.c_attn.weight');
    assert.deepEqual(w?.external, fused);
    assert.deepEqual(w?.dims, [4, 12]);
  });

  test('any other use of a column block fails loudly instead of computing with no values', () => {
    assert.throws(() => mapStandIns(spec('Add'), source), /proj \(Add\) uses a column block/);
  });
});
