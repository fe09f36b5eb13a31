import { constants as bufferConstants } from 'node:buffer';
import { LocusError } from '../../errors';
import type { LocusErrorCode } from '../../errors';
import { isFolder, readJsonFile } from '../../files/read';
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { DIVERGED } from './edits';
import type { Edit, ParamDelta } from './edits';
import { readBatchDeltas, readBatches, readSequentialManifest, SEQ_MANIFEST } from '../sequential/store';

/**
 * An edit as JSON, so `locus trace --edit`, `locus assert --edits` and the panels can re-apply exactly
 * what `locus edit --json` computed: every ΔW factor as base64 of its little-endian float32 bytes
 * (lossless: the same floats come back), tagged with the model it was computed on. A ΔW only makes
 * sense on the weights it was solved against, so decoding refuses another model.
 */
export const EDIT_FILE_FORMAT = 'locus-edit';
export const EDIT_FILE_VERSION = 1;

/** A float32 vector: its length and base64 of its little-endian bytes. */
export interface EncodedFloats {
  readonly length: number;
  readonly float32le: string;
}

export type EncodedDelta =
  | { readonly param: string; readonly kind: 'rank-one'; readonly u: EncodedFloats; readonly v: EncodedFloats }
  | { readonly param: string; readonly kind: 'dense'; readonly shape: number[]; readonly delta: EncodedFloats };

/** The `"edit"` field of `locus edit --json` (CONTRACTS.md: "carries what is needed to re-apply it"). */
export interface EncodedEdit {
  readonly format: typeof EDIT_FILE_FORMAT;
  readonly version: number;
  readonly model: { readonly name: string; readonly fingerprint: string };
  readonly method: string;
  readonly layers: number[];
  readonly deltas: EncodedDelta[];
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function encodeFloats(a: Float32Array): EncodedFloats {
  let bytes: Buffer;
  if (littleEndian) bytes = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  else {
    bytes = Buffer.alloc(a.byteLength);
    for (let i = 0; i < a.length; i++) bytes.writeFloatLE(a[i], i * 4);
  }
  return { length: a.length, float32le: bytes.toString('base64') };
}

/** Characters of base64 for `n` float32 values (4 per 3 bytes, padded). */
const base64Chars = (n: number): number => 4 * Math.ceil((4 * n) / 3);

/** Characters the ΔW factors take in an edit JSON (the base64 strings; the rest is a few hundred characters). */
export function encodedEditChars(edit: Edit): number {
  return edit.deltas.reduce((sum, d) => sum + (d.kind === 'rank-one' ? base64Chars(d.u.length) + base64Chars(d.v.length) : base64Chars(d.delta.length)), 0);
}

/**
 * Room left in the JSON string for everything but the ΔW (scores, safety, notes, indentation): a JSON
 * edit is one string when written (JSON.stringify) and when read back (readJsonFile, JSON.parse).
 */
const JSON_MARGIN_CHARS = 16 * 2 ** 20;

/**
 * Refuses an edit whose JSON cannot be one JavaScript string: V8's limit (buffer.constants.MAX_STRING_LENGTH,
 * 2²⁹ − 24 ≈ 512 MiB on 64-bit Node 20). Streaming it out piece by piece would write a file that Locus
 * itself cannot read back (readJsonFile holds a file as one string), so the way out is a run folder, whose
 * deltas are float32 files. Where that bites: dense ΔWs (FT, MEMIT, EMMET, AlphaEdit) on big layers: GPT-2 XL's
 * W_out [6400, 1600] is 41 MB, 55 MB as base64, fine even over 5 layers (273 MB); GPT-J's [16384, 4096] is
 * 268 MB, 358 MB as base64, so two layers pass the limit. Checked before anything is encoded.
 */
export function checkEditFitsJson(edit: Edit, limitChars: number = bufferConstants.MAX_STRING_LENGTH): void {
  const chars = encodedEditChars(edit);
  if (chars + JSON_MARGIN_CHARS <= limitChars) return;
  const mb = (c: number): string => `${(c / 1e6).toFixed(0)} MB`;
  throw new LocusError(
    'bad-input',
    `the edit's ΔW is ${mb(chars)} as base64 JSON, more than one JSON string can hold (${mb(limitChars)}): --json cannot carry it; save it as a run folder instead (the same requests with --requests FILE --sequential --batch-size <all of them> --out DIR: deltas as float32 files, which locus trace --edit and assert --edits read), or the edited model with --save DIR`,
  );
}

export function encodeEdit(edit: Edit, model: LoadedModel, limitChars?: number): EncodedEdit {
  checkEditFitsJson(edit, limitChars);
  return {
    format: EDIT_FILE_FORMAT,
    version: EDIT_FILE_VERSION,
    model: { name: model.manifest.name, fingerprint: model.manifest.fingerprint },
    method: edit.method,
    layers: [...edit.layers],
    deltas: edit.deltas.map((d): EncodedDelta =>
      d.kind === 'rank-one'
        ? { param: d.param, kind: 'rank-one', u: encodeFloats(d.u), v: encodeFloats(d.v) }
        : { param: d.param, kind: 'dense', shape: [...d.shape], delta: encodeFloats(d.delta) },
    ),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v);

function decodeFloats(v: unknown, where: string, bad: (msg: string, code?: LocusErrorCode) => LocusError): Float32Array {
  if (!isObject(v) || typeof v.float32le !== 'string' || !Number.isInteger(v.length) || (v.length as number) < 0) {
    throw bad(`${where} must be { "length": n, "float32le": "<base64>" }`);
  }
  // Buffer.from silently skips characters outside the alphabet; a damaged string must not decode to other floats.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.float32le)) throw bad(`${where}.float32le is not base64`);
  const bytes = Buffer.from(v.float32le, 'base64');
  const n = v.length as number;
  if (bytes.length !== n * 4) throw bad(`${where} holds ${bytes.length} bytes; ${n} float32 values need ${n * 4}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
  for (let i = 0; i < n; i++) if (!Number.isFinite(out[i])) throw bad(`${where}[${i}] is ${out[i]}: ${DIVERGED}`, 'non-finite');
  return out;
}

/**
 * Reads an edit from parsed JSON: the whole output of `locus edit --json` (its `"edit"` field) or the
 * encoded edit itself. Checks it against `model` — the fingerprint it was computed on, each parameter's
 * existence and shape — so a ΔW is never added to weights it does not belong to. Every problem is one
 * line naming `source`.
 */
export function decodeEdit(json: unknown, model: LoadedModel, source: string): Edit {
  const bad = (msg: string, code: LocusErrorCode = 'bad-input'): LocusError => new LocusError(code, `${source}: ${msg}`);
  if (!isObject(json)) throw bad(`must hold a JSON object (the output of locus edit --json), not ${describe(json)}`);
  let e: Record<string, unknown> = json;
  if (json.format !== EDIT_FILE_FORMAT) {
    if (!isObject(json.edit)) {
      const hint = Array.isArray(json.batches) ? ' (a sequential run: not yet supported here; give one edit)' : ' (write it with locus edit --json)';
      throw bad(`holds no edit: expected an "edit" field from locus edit --json${hint}`);
    }
    e = json.edit;
  }
  if (e.format !== EDIT_FILE_FORMAT) throw bad(`the edit's "format" must be "${EDIT_FILE_FORMAT}"`);
  if (e.version !== EDIT_FILE_VERSION) throw bad(`edit format version ${String(e.version)} is not supported (this Locus reads version ${EDIT_FILE_VERSION})`);
  const m = e.model;
  if (!isObject(m) || typeof m.fingerprint !== 'string' || typeof m.name !== 'string') throw bad('the edit lacks "model": { "name", "fingerprint" }');
  if (m.fingerprint !== model.manifest.fingerprint) {
    throw bad(`the edit was computed on ${m.name} (fingerprint ${m.fingerprint}), not on ${model.manifest.name} (${model.manifest.fingerprint}); give the model it was made for with --model`);
  }
  if (typeof e.method !== 'string') throw bad('the edit lacks "method"');
  if (!Array.isArray(e.layers) || !e.layers.every((l) => Number.isInteger(l) && l >= 0 && l < model.config.n_layers)) {
    throw bad(`the edit's "layers" must be layer numbers 0..${model.config.n_layers - 1}`);
  }
  if (!Array.isArray(e.deltas) || e.deltas.length === 0) throw bad('the edit has no "deltas"');
  const deltas = e.deltas.map((d, i): ParamDelta => {
    const where = `deltas[${i}]`;
    if (!isObject(d) || typeof d.param !== 'string') throw bad(`${where} lacks "param"`);
    const param = d.param as ParamName;
    let shape: readonly number[];
    try {
      shape = model.param(param).shape;
    } catch {
      throw bad(`${where}: ${model.manifest.name} has no parameter ${JSON.stringify(d.param)}`);
    }
    if (d.kind === 'rank-one') {
      const u = decodeFloats(d.u, `${where}.u`, bad);
      const v = decodeFloats(d.v, `${where}.v`, bad);
      if (shape.length !== 2 || shape[0] !== u.length || shape[1] !== v.length) {
        throw bad(`${where}: u vᵀ is [${u.length}, ${v.length}] but ${param} is [${shape.join(', ')}]`);
      }
      return { param, kind: 'rank-one', u, v };
    }
    if (d.kind === 'dense') {
      if (!Array.isArray(d.shape) || d.shape.join(',') !== shape.join(',')) {
        throw bad(`${where}: ΔW shape [${Array.isArray(d.shape) ? d.shape.join(', ') : String(d.shape)}] is not ${param}'s [${shape.join(', ')}]`);
      }
      const delta = decodeFloats(d.delta, `${where}.delta`, bad);
      if (delta.length !== shape.reduce((a, b) => a * b, 1)) throw bad(`${where}: ΔW has ${delta.length} values; ${param} has ${shape.reduce((a, b) => a * b, 1)}`);
      return { param, kind: 'dense', shape: [...shape], delta };
    }
    throw bad(`${where}: "kind" must be "rank-one" or "dense"`);
  });
  return { method: e.method, layers: e.layers as number[], deltas };
}

/** Reads and decodes an edit file (`locus edit --json > EDIT.json`) for `model`. */
export function readEditFile(file: string, model: LoadedModel, what = 'edit file'): Edit {
  return decodeEdit(readJsonFile(file, what), model, `${what} ${file}`);
}

/** Checks that a ΔW fits its parameter in `model` (a saved run's deltas were shaped by another process). */
function checkDeltaFits(d: ParamDelta, model: LoadedModel, where: string, bad: (msg: string) => LocusError): void {
  let shape: readonly number[];
  try {
    shape = model.param(d.param).shape;
  } catch {
    throw bad(`${where}: ${model.manifest.name} has no parameter ${JSON.stringify(d.param)}`);
  }
  const fits = d.kind === 'rank-one' ? shape.length === 2 && shape[0] === d.u.length && shape[1] === d.v.length : d.shape.join(',') === shape.join(',') && d.delta.length === shape.reduce((a, b) => a * b, 1);
  if (!fits) throw bad(`${where}: the ΔW of ${d.param} does not fit its shape [${shape.join(', ')}]`);
}

/**
 * An edit from `source`: an edit JSON (`locus edit --json`), or a sequential run folder (`locus edit
 * --requests FILE --sequential --out DIR`), whose completed batches are applied in order as one edit
 * (each batch's ΔW was computed on the weights the batches before it left, which is what applying them
 * in order rebuilds). Either must have been made on `model` (its fingerprint).
 */
export function readEditSource(source: string, model: LoadedModel, what = 'edit file'): Edit {
  if (!isFolder(source)) return readEditFile(source, model, what);
  const bad = (msg: string): LocusError => new LocusError('bad-input', `${what} ${source}: ${msg}`);
  const manifest = readSequentialManifest(source);
  if (!manifest) throw bad(`is a folder without ${SEQ_MANIFEST}: give an edit JSON (locus edit --json) or a sequential run folder`);
  if (manifest.model.fingerprint !== model.manifest.fingerprint) {
    throw bad(`the run was made on ${manifest.model.name} (fingerprint ${manifest.model.fingerprint}), not on ${model.manifest.name} (${model.manifest.fingerprint}); give the model it was made for with --model`);
  }
  const { batches } = readBatches(source);
  if (batches.length === 0) throw bad('the run has no completed batch yet');
  const deltas = batches.flatMap((b) => readBatchDeltas(source, b));
  deltas.forEach((d, i) => checkDeltaFits(d, model, `delta ${i}`, bad));
  return { method: manifest.spec.method, layers: [...new Set(batches.flatMap((b) => b.layers))].sort((a, b) => a - b), deltas };
}
