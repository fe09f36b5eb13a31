/**
 * The Study panel's data shaping on the host side, without vscode (test/webview checks it in Node):
 * the worker's StudyAnalysisDto packed for the webview (points as typed-array columns, the JSON leg's
 * nulls back to NaN), the manifest's spec as Resume's `study/run` params, and the checks of the
 * palette flow's inputs (the worker validates again; these give feedback while typing).
 */
import * as path from 'node:path';
import type { EditingProblem, EditMethod, MeanCIDto, StudyAnalysisDto } from '../../protocol/dto';
import type { StudyRunParams } from '../../protocol/engine';
import type { LayerMeansView, R2RowView, StudyMetricName, StudyPointColumns, StudySummary, StudyView } from '../../protocol/panels/study';

/** The fields of a study manifest the panel uses (read defensively: it is a file on disk). */
interface ManifestLike {
  readonly model?: { readonly name?: string; readonly n_layers?: number };
  readonly spec?: { readonly cases?: number[]; readonly methods?: string[]; readonly problems?: string[]; readonly layers?: number[]; readonly seed?: number; readonly localization?: string };
  readonly localization?: string;
  readonly shard?: { readonly i: number; readonly n: number };
  readonly started?: string;
  readonly mergedFrom?: readonly string[];
}

/** null (NaN on the JSON leg) → NaN, so the webview handles one kind of "undefined". */
const num = (v: number | null | undefined): number => (typeof v === 'number' ? v : NaN);
const ci = (c: MeanCIDto): MeanCIDto => ({ mean: num(c.mean), lo: num(c.lo), hi: num(c.hi), n: c.n });

/** How many cases a shard runs: those at index % n == i of the spec's list. */
export function shardCount(cases: number, shard?: { i: number; n: number }): number {
  if (!shard) return cases;
  return cases > shard.i ? Math.floor((cases - 1 - shard.i) / shard.n) + 1 : 0;
}

export function packPoints(points: StudyAnalysisDto['points']): StudyPointColumns {
  const methods = [...new Set(points.map((p) => p.method))];
  const problems = [...new Set(points.map((p) => p.problem))];
  const n = points.length;
  const cols = {
    count: n, methods, problems,
    method: new Uint8Array(n), problem: new Uint8Array(n), caseId: new Int32Array(n), layer: new Int32Array(n),
    tracingEffect: new Float32Array(n), rewrite: new Float32Array(n), paraphrase: new Float32Array(n), neighborhood: new Float32Array(n), overall: new Float32Array(n),
  };
  points.forEach((p, i) => {
    cols.method[i] = methods.indexOf(p.method);
    cols.problem[i] = problems.indexOf(p.problem);
    cols.caseId[i] = p.caseId;
    cols.layer[i] = p.layer;
    cols.tracingEffect[i] = num(p.tracingEffect);
    cols.rewrite[i] = num(p.rewrite);
    cols.paraphrase[i] = num(p.paraphrase);
    cols.neighborhood[i] = num(p.neighborhood);
    cols.overall[i] = num(p.overall);
  });
  return cols;
}

/** The manifest's localization (its own field, else the spec's); studies written before it are noise. */
const localizationOf = (m: ManifestLike): 'noise' | 'patching' => ((m.localization ?? m.spec?.localization) === 'patching' ? 'patching' : 'noise');

export function studySummary(dir: string, manifest: unknown, rows: number): StudySummary {
  const m = (manifest ?? {}) as ManifestLike;
  const spec = m.spec ?? {};
  const cases = spec.cases?.length ?? 0;
  const methods = spec.methods ?? [];
  const problems = spec.problems ?? [];
  const layers = spec.layers ?? [];
  const expected = shardCount(cases, m.shard) * methods.length * problems.length * layers.length;
  const shard = m.shard ? `${m.shard.i}/${m.shard.n}` : undefined;
  return {
    dir, name: path.basename(dir), model: m.model?.name ?? 'unknown model',
    ...(m.model?.n_layers !== undefined ? { nLayers: m.model.n_layers } : {}),
    cases, methods, problems, layers,
    ...(m.started ? { started: m.started } : {}),
    ...(shard ? { shard, resumeNote: `This is shard ${shard}: resume it with the CLI (locus study run … --shard ${shard} --out ${dir}).` } : {}),
    merged: (m.mergedFrom?.length ?? 0) > 0, rows, expected, localization: localizationOf(m),
  };
}

/** The worker's analysis as the panel's view. */
export function studyView(a: StudyAnalysisDto): StudyView {
  const rows: R2RowView[] = a.rows.map((r) => ({
    method: r.method, problem: r.problem, metric: r.metric as StudyMetricName, n: r.n,
    r2Layer: num(r.r2Layer), r2LayerTracing: num(r.r2LayerTracing), r2Gain: num(r.r2Gain), r2Tracing: num(r.r2Tracing), pValue: num(r.pValue),
  }));
  const perLayer: LayerMeansView[] = a.perLayer.map((p) => ({
    method: p.method, problem: p.problem, layer: p.layer, n: p.n,
    tracingEffect: ci(p.tracingEffect), rewrite: ci(p.rewrite), paraphrase: ci(p.paraphrase), neighborhood: ci(p.neighborhood), overall: ci(p.overall),
  }));
  return { summary: studySummary(a.dir, a.manifest, a.points.length), rows, perLayer, points: packPoints(a.points) };
}

/** `study/run` params that resume the study in `dir` with its manifest's spec; throws a readable message when it cannot. */
export function resumeParams(dir: string, manifest: unknown): StudyRunParams {
  const m = (manifest ?? {}) as ManifestLike;
  const s = m.spec;
  if (!s || !Array.isArray(s.cases) || !Array.isArray(s.methods) || !Array.isArray(s.problems) || !Array.isArray(s.layers)) {
    throw new Error(`${path.join(dir, 'manifest.json')} has no study spec to resume`);
  }
  if (m.shard) throw new Error(`${dir} is shard ${m.shard.i}/${m.shard.n}: resume it with the CLI and the same --shard`);
  return {
    dir, cases: s.cases.join(','), methods: s.methods as EditMethod[], problems: s.problems as EditingProblem[], layers: [...s.layers],
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    // A resumed study keeps its localization (the worker refuses a folder of the other one).
    ...(localizationOf(m) === 'patching' ? { localization: 'patching' as const } : {}),
  };
}

/** "study-2024-05-01-1432" (local time): the palette's default name. */
export function defaultStudyName(now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `study-${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}`;
}

/** Why a study name is not a plain folder name (undefined when it is). */
export function checkStudyName(name: string): string | undefined {
  const s = name.trim();
  if (s === '') return 'Give the study a name (a folder under .locus/runs/).';
  if (!/^[\w.-]+$/.test(s) || s.startsWith('.')) return 'Use letters, digits, "-", "_" and "." only (it becomes a folder name).';
  return undefined;
}

/** Why a --cases text is not "known:N", case_ids or ranges (undefined when it is). */
export function checkCasesText(text: string): string | undefined {
  const s = text.trim();
  if (/^known:[1-9]\d*$/.test(s)) return undefined;
  if (/^\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*$/.test(s)) return undefined;
  return 'Use "known:N" (the first N facts the model knows), case_ids and ranges ("0-99", "12,40,77").';
}

/** "all" → undefined (every layer); "0,2, 4" → [0, 2, 4]; throws a readable message otherwise. */
export function parseLayersText(text: string, nLayers?: number): number[] | undefined {
  const s = text.trim();
  if (s === '' || s === 'all') return undefined;
  const parts = s.split(',').map((p) => p.trim());
  const layers: number[] = [];
  for (const p of parts) {
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(p);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a) throw new Error(`Layer range ${p} is reversed.`);
      for (let l = a; l <= b; l++) layers.push(l);
    } else if (/^\d+$/.test(p)) layers.push(Number(p));
    else throw new Error(`"${p}" is not a layer: use "all", "0,2,4" or "0-5".`);
  }
  const bad = nLayers === undefined ? undefined : layers.find((l) => l >= nLayers);
  if (bad !== undefined) throw new Error(`Layer ${bad} is outside 0..${nLayers! - 1}.`);
  return [...new Set(layers)].sort((a, b) => a - b);
}
