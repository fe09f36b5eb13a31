/**
 * What one worker owns: at most one loaded model, the edits applied to it (one EditStack, so
 * reverting any edit leaves the others exactly applied), and the last loaded dataset. Only jobs
 * (src/worker/jobs.ts, one at a time) touch it.
 */
import type { CounterFactRecord, Edit, LoadedModel } from '../engine/index';
import { EditStack, LocusError } from '../engine/index';
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

  /** Replaces the model (disposing the old one and forgetting its edits); undefined unloads. */
  async setModel(model: LoadedModel | undefined): Promise<void> {
    const old = this.current;
    this.current = undefined;
    this.applied.clear();
    if (old) await old.model.dispose();
    if (model) this.current = { model, stack: new EditStack(model) };
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

export function modelInfo(model: LoadedModel): ModelInfo {
  return { ...model.manifest, warnings: [...model.warnings] };
}

/** Parameter checks: a wrong type from the client is the client's fault, so 'bad-input' rather than a crash. */
export const check = {
  string(v: unknown, name: string): string {
    if (typeof v !== 'string') throw new LocusError('bad-input', `${name} must be a string`);
    return v;
  },
  optInt(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) throw new LocusError('bad-input', `${name} must be an integer in ${min}..${max} (got ${JSON.stringify(v)})`);
    return v as number;
  },
};
