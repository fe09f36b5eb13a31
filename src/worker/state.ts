/**
 * What one worker owns: at most one loaded model, the edits applied to it (one EditStack, so
 * reverting any edit leaves the others exactly applied; temporary edits — measurements, sweeps,
 * studies — nest on it and leave it bit for bit, edits.ts), and the last loaded dataset. Only jobs
 * (src/worker/jobs.ts, one at a time) touch it.
 */
import type { CounterFactRecord, Edit, LoadedModel } from '../engine/index';
import { EditStack, editMethodList, LocusError, prepareAttributionPreview, prepareTraceSessions } from '../engine/index';
import type { AppliedEditDto, EditStackDto, ModelInfo } from '../protocol/dto';
import type { EngineMethod, EngineParams, EngineResult } from '../protocol/engine';
import type { JobContext } from './jobs';

/** Handles one method inside a job; throws LocusError for anything the user can fix. */
export type Handler<M extends EngineMethod> = (params: EngineParams<M>, ctx: JobContext) => Promise<EngineResult<M>>;
export type HandlerTable<Ms extends EngineMethod> = { readonly [M in Ms]: Handler<M> };

export interface AppliedEdit {
  readonly edit: Edit;
  readonly dto: AppliedEditDto;
}

export class WorkerState {
  private current?: { model: LoadedModel; stack: EditStack };
  private preparing?: { readonly ctl: AbortController; readonly done: Promise<void> };
  /** Applied edits by id, oldest first (Map keeps insertion order). */
  readonly applied = new Map<string, AppliedEdit>();
  private nextEditId = 1;
  dataset?: { readonly path: string; readonly records: readonly CounterFactRecord[] };

  get model(): LoadedModel | undefined {
    return this.current?.model;
  }

  requireModel(): LoadedModel {
    if (!this.current) throw new LocusError('bad-input', 'no model is loaded: load one first (model/load)');
    return this.current.model;
  }

  /** The loaded model's edit stack. */
  stack(): EditStack {
    this.requireModel();
    return this.current!.stack;
  }

  /**
   * Replaces the model (disposing the old one and forgetting its edits); undefined unloads. A new
   * model's trace sessions are then created in the background (prepareTraceSessions, one session at a
   * time between requests), so the first trace grid of a worker costs about what a warm one does;
   * the preparation is stopped, and waited for, before its model is disposed.
   */
  async setModel(model: LoadedModel | undefined): Promise<void> {
    const old = this.current;
    this.current = undefined;
    this.applied.clear();
    if (this.preparing) {
      this.preparing.ctl.abort();
      await this.preparing.done;
      this.preparing = undefined;
    }
    if (old) await old.model.dispose();
    if (!model) return;
    this.current = { model, stack: new EditStack(model) };
    const ctl = new AbortController();
    // A failure here (e.g. out of memory for a session) is not the user's request: the trace that needs
    // the session creates it again and reports its own error.
    this.preparing = { ctl, done: prepareTraceSessions(model, ctl.signal).then(() => prepareAttributionPreview(model, ctl.signal)).catch(() => undefined) };
  }

  /** Resolves when the background session preparation of the loaded model has finished (tests). */
  prepared(): Promise<void> {
    return this.preparing?.done ?? Promise.resolve();
  }

  newEditId(): string {
    return `e${this.nextEditId++}`;
  }

  stackDto(): EditStackDto {
    return { edits: [...this.applied.values()].map((a) => a.dto) };
  }

  async dispose(): Promise<void> {
    await this.setModel(undefined);
    this.dataset = undefined;
  }
}

/**
 * A few engine messages name the CLI's flag for a value; through the worker that value is a param or a
 * setting, so the line names that instead (the rest of the line is the engine's, word for word). A flag
 * counts only at the start or after a space or "(", so a path that happens to hold "--out" is left alone.
 */
const WORKER_WORDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(?<=^|[\s(])pass --allow-nonfinite\b/g, 'set locus.allowNonFinite'],
  [/(?<=^|[\s(])--allow-nonfinite\b/g, 'locus.allowNonFinite'],
  [/ \(--cache\)/g, ''],
  [/(?<=^|[\s(])another --out\b/g, 'another study folder'],
  [/(?<=^|[\s(])--dataset\b/g, 'the dataset'],
  [/(?<=^|[\s(])--cases\b/g, 'cases'],
];

export const workerWording = (text: string): string => WORKER_WORDS.reduce((t, [flag, name]) => t.replace(flag, name), text);

export function modelInfo(model: LoadedModel): ModelInfo {
  return { ...model.manifest, warnings: model.warnings.map(workerWording), methods: editMethodList() };
}

/** How a value that crossed the process boundary is named in a message (strings quoted, like JSON). */
const shown = (v: unknown): string => {
  const text = typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
  // JSON escapes newlines, so this stays one line; a pasted document is cut short.
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

/**
 * Parameter checks at the process boundary. Params come from a webview form or a script, so their
 * TYPES cannot be trusted (a form may send "5" for 5, an object for a list); a wrong type is the
 * client's fault: 'bad-input', never a crash deeper in. RANGES are the engine's business: a number of
 * the right type goes through and meets the same check (and the same message) as the CLI's value.
 */
export const check = {
  string(v: unknown, name: string): string {
    if (typeof v !== 'string') throw new LocusError('bad-input', `${name} must be a string (got ${shown(v)})`);
    return v;
  },
  optString(v: unknown, name: string): string | undefined {
    return v === undefined || v === null ? undefined : check.string(v, name);
  },
  optInt(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
      throw new LocusError('bad-input', `${name} must be an integer ${range} (got ${shown(v)})`);
    }
    return v as number;
  },
  /** A finite number of any value (the engine checks the range). */
  optNumber(v: unknown, name: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LocusError('bad-input', `${name} must be a number (got ${shown(v)})`);
    return v;
  },
  optBool(v: unknown, name: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new LocusError('bad-input', `${name} must be true or false (got ${shown(v)})`);
    return v;
  },
  /** A non-empty list of distinct-or-not values from `allowed`. */
  optList<T extends string>(v: unknown, name: string, allowed: readonly T[]): T[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.length === 0) throw new LocusError('bad-input', `${name} must be a non-empty list of ${allowed.join(', ')} (got ${shown(v)})`);
    const bad = v.find((x) => !allowed.includes(x as T));
    if (bad !== undefined) throw new LocusError('bad-input', `${name}: ${shown(bad)} is not one of ${allowed.join(', ')}`);
    return v as T[];
  },
  optStrings(v: unknown, name: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) throw new LocusError('bad-input', `${name} must be a non-empty list of strings (got ${shown(v)})`);
    return v as string[];
  },
  /** A JSON object (not an array, not null). */
  optObject(v: unknown, name: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw new LocusError('bad-input', `${name} must be a JSON object (got ${shown(v)})`);
    return v as Record<string, unknown>;
  },
};
