/**
 * The panels' data shaping on the host side, without vscode (test/webview checks it in Node): facts from
 * dataset records or free prompts, trace results packed for the wire (grids as Float32Array), the
 * validation of what a webview asks for, and export bytes.
 */
import type { DatasetRecordDto, EditingProblem, EditMethod, ModelInfo, TraceKind, TraceResultDto } from '../../protocol/dto';
import type { FactRef } from './context';
import type { SweepFormValues } from '../../protocol/panels/compare';
import type { EditFormValues, FactView, ModelSummary, RetraceView, TraceGridWire, TraceOptions, TraceView } from '../../protocol/panels/fact';
import type { RetraceResultDto } from '../../protocol/engine';
import { EDITING_PROBLEM_NAMES, TRACE_KIND_NAMES } from '../../protocol/panels/fact';

/** A panel key per fact: one Fact panel per dataset record or per (prompt, subject, target). */
export function factKey(ref: FactRef): string {
  return 'caseId' in ref ? `case:${ref.caseId}` : `prompt:${JSON.stringify([ref.prompt, ref.subject, ref.target ?? null])}`;
}

export function factFromRecord(r: DatasetRecordDto): FactView {
  const at = r.prompt.indexOf('{}');
  const prompt = at < 0 ? `${r.subject} ${r.prompt}` : r.prompt.slice(0, at) + r.subject + r.prompt.slice(at + 2);
  return {
    caseId: r.case_id,
    relationId: r.relation_id,
    prompt,
    subject: r.subject,
    subjectStart: at < 0 ? 0 : at,
    targetTrue: r.target_true,
    targetNew: r.target_new,
    canEdit: true,
  };
}

/** A free prompt (Trace Selection). Throws a readable message when the subject is not in the prompt. */
export function factFromPrompt(prompt: string, subject: string, target?: string): FactView {
  if (prompt.trim() === '') throw new Error('The prompt is empty: select some text to trace.');
  if (subject.trim() === '') throw new Error('The subject is empty: give the part of the prompt to corrupt (e.g. "The Space Needle").');
  const at = prompt.indexOf(subject);
  if (at < 0) throw new Error(`The prompt does not contain the subject "${subject}": Causal Tracing corrupts the subject's tokens, so it must appear in "${prompt}" exactly (case and spaces included).`);
  return {
    prompt,
    subject,
    subjectStart: at,
    ...(target !== undefined && target !== '' ? { traceTarget: target } : {}),
    canEdit: false,
    editNote: 'Editing needs a CounterFact record (a new target and its evaluation prompts): open a fact from the Facts view to edit it. Tracing works on any prompt.',
  };
}

export function modelSummary(m: ModelInfo | undefined | null): ModelSummary | null {
  return m ? { name: m.name, n_layers: m.n_layers, architecture: m.architecture, methods: m.methods } : null;
}

/** Flattens a number[][] grid ([tokens][layers]) into the wire form; ragged rows are a bug upstream. */
export function packGrid(kind: TraceKind, window: number, scores: readonly (readonly number[])[]): TraceGridWire {
  const tokens = scores.length;
  const layers = scores[0]?.length ?? 0;
  const flat = new Float32Array(tokens * layers);
  scores.forEach((row, t) => {
    if (row.length !== layers) throw new Error(`trace grid ${kind}: row ${t} has ${row.length} layers, row 0 has ${layers}`);
    flat.set(row, t * layers);
  });
  return { kind, window, tokens, layers, scores: flat };
}

/** A trace result for the webview: grids packed (hidden, mlp, attn order), everything else as is. */
export function packTrace(r: TraceResultDto): TraceView {
  const { ids: _ids, answer, grids, ...rest } = r;
  return { ...rest, answer: answer.token, grids: TRACE_KIND_NAMES.filter((k) => grids[k]).map((k) => packGrid(k, grids[k]!.window, grids[k]!.scores)) };
}

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** Checks the webview's trace options (a message is data, not trusted code). */
export function checkTraceOptions(o: unknown, nLayers: number): TraceOptions {
  const opts = (o ?? {}) as Record<string, unknown>;
  const out: { window?: number; samples?: number; target?: string } = {};
  if (opts.window !== undefined) {
    if (!isInt(opts.window, 1, Math.max(1, nLayers))) throw new Error(`Window must be a whole number from 1 to ${nLayers}`);
    out.window = opts.window;
  }
  if (opts.samples !== undefined) {
    if (!isInt(opts.samples, 1, 1000)) throw new Error('Samples must be a whole number from 1 to 1000');
    out.samples = opts.samples;
  }
  if (opts.target !== undefined && opts.target !== '') {
    if (typeof opts.target !== 'string') throw new Error('The answer to trace must be text');
    out.target = opts.target;
  }
  return out;
}

/**
 * A method id from the webview: a non-empty string, and one of `methods` (the loaded model's list, the
 * worker's registry) when the caller has it; the worker checks it against its registry in any case.
 */
const isMethod = (m: unknown, methods?: readonly EditMethod[]): m is EditMethod => typeof m === 'string' && m !== '' && (methods === undefined || methods.includes(m));

export function checkEditForm(f: unknown, nLayers: number, methods?: readonly EditMethod[]): EditFormValues {
  const form = (f ?? {}) as Record<string, unknown>;
  if (!isMethod(form.method, methods)) throw new Error(methods ? `Method must be one of ${methods.join(', ')}` : 'Choose a method');
  if (!EDITING_PROBLEM_NAMES.includes(form.problem as EditingProblem)) throw new Error(`Problem must be one of ${EDITING_PROBLEM_NAMES.join(', ')}`);
  if (form.layer !== undefined && !isInt(form.layer, 0, nLayers - 1)) throw new Error(`Layer must be from 0 to ${nLayers - 1}`);
  const h = form.hparams;
  if (h !== undefined && (h === null || typeof h !== 'object' || Array.isArray(h))) throw new Error('Hyperparameters must be a JSON object');
  return {
    method: form.method as EditMethod,
    problem: form.problem as EditingProblem,
    ...(form.layer !== undefined ? { layer: form.layer as number } : {}),
    ...(h !== undefined ? { hparams: h as Record<string, unknown> } : {}),
    ...(form.force === true ? { force: true } : {}),
  };
}

export function checkSweepForm(f: unknown, nLayers: number, methodIds?: readonly EditMethod[]): SweepFormValues {
  const form = (f ?? {}) as Record<string, unknown>;
  if (!isInt(form.caseId, 0, Number.MAX_SAFE_INTEGER)) throw new Error('Choose a fact (a case id of the loaded dataset)');
  const methods = form.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => isMethod(m, methodIds))) {
    throw new Error(methodIds ? `Choose one or more methods of ${methodIds.join(', ')}` : 'Choose one or more methods');
  }
  if (!EDITING_PROBLEM_NAMES.includes(form.problem as EditingProblem)) throw new Error(`Problem must be one of ${EDITING_PROBLEM_NAMES.join(', ')}`);
  const layers = form.layers;
  if (layers !== undefined && (!Array.isArray(layers) || layers.length === 0 || !layers.every((l) => isInt(l, 0, nLayers - 1)))) {
    throw new Error(`Layers must be from 0 to ${nLayers - 1}`);
  }
  return {
    caseId: form.caseId,
    methods: [...new Set(methods as EditMethod[])],
    problem: form.problem as EditingProblem,
    ...(layers !== undefined ? { layers: [...new Set(layers as number[])].sort((a, b) => a - b) } : {}),
  };
}

/**
 * The bytes of an `export/save` payload: text (CSV) as UTF-8, an ArrayBuffer or a typed array as is,
 * and — should a transport have flattened the buffer into a plain object of index → byte — that too.
 */
export function exportBytes(data: unknown): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data && typeof data === 'object') {
    const values = Object.values(data as Record<string, unknown>);
    if (values.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 256)) return Uint8Array.from(values as number[]);
  }
  throw new Error('the export carried no data');
}

/** A plain file name (no folders, no odd characters) ending in `.ext`. */
export function safeFileName(name: string, ext: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[^\w.\- ]+/g, '-').replace(/^[.\s-]+/, '').slice(0, 80) || 'locus-export';
  return clean.toLowerCase().endsWith(`.${ext}`) ? clean : `${clean}.${ext}`;
}

/** A re-trace for the webview: the edited trace packed as a trace, the original's and the difference's grids packed alike. */
export function packRetrace(r: RetraceResultDto): RetraceView {
  const { original, difference, edit, ...edited } = r;
  const pack = (grids: TraceResultDto['grids']): TraceGridWire[] => TRACE_KIND_NAMES.filter((k) => grids[k]).map((k) => packGrid(k, grids[k]!.window, grids[k]!.scores));
  return {
    edited: packTrace(edited),
    original: { highScore: original.highScore, lowScore: original.lowScore, grids: pack(original.grids) },
    difference: pack(difference.grids),
    edit: { method: edit.method, layers: [...edit.layers] },
  };
}
