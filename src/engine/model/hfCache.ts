/**
 * The Hugging Face hub cache, read offline: which models a user already has, and whether Locus can
 * open each one. Layout (huggingface_hub, "Understand caching", docs/source/en/guides/manage-cache.md):
 *
 *   <cache>/models--{org}--{name}/
 *     refs/main                  the commit hash `main` pointed at when it was downloaded
 *     snapshots/<commit>/<file>  symlinks into ../../blobs/ (copies on Windows without symlinks)
 *     blobs/<sha>                the files' content; `<sha>.incomplete` while a download runs or after it broke
 *
 * Nothing here touches the network or writes to the cache.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocusErrorCode } from '../errors';
import { LocusError } from '../errors';
import { fsError, readJsonFile } from '../files/read';
import { readConfig, SUPPORTED_MODEL_TYPES } from './config';
import { openSafetensors } from './safetensors';
import { checkWeightHeaders } from './weights';

/**
 * The hub cache folder, with huggingface_hub's precedence (constants.py; documented in
 * package_reference/environment_variables.md): $HF_HUB_CACHE, else the legacy $HUGGINGFACE_HUB_CACHE,
 * else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. `~` is expanded
 * as huggingface_hub does (os.path.expanduser).
 */
export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = (name: string): string | undefined => (env[name] ? expandHome(env[name] as string) : undefined);
  const hub = set('HF_HUB_CACHE') ?? set('HUGGINGFACE_HUB_CACHE');
  if (hub) return path.resolve(hub);
  const hfHome = set('HF_HOME') ?? path.join(set('XDG_CACHE_HOME') ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.resolve(hfHome, 'hub');
}

/** `~` and `~/…` as the user's home (what a shell, and Python's expanduser, would make of them). */
const expandHome = (p: string): string => (p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p);

/**
 * A folder the user named as "the cache": the hub folder itself, or an HF_HOME holding `hub/`
 * (the setting's name invites both); `~` is the home folder.
 */
export function hubFolder(given: string): string {
  const dir = expandHome(given);
  const hub = path.join(dir, 'hub');
  const hasRepos = (d: string): boolean => {
    try {
      return fs.readdirSync(d).some((n) => n.startsWith('models--'));
    } catch {
      return false;
    }
  };
  return !hasRepos(dir) && hasRepos(hub) ? hub : path.resolve(dir);
}

/** Why a cached model cannot be opened, as a LocusError code and a clause for the user. */
export interface CacheProblem {
  readonly code: LocusErrorCode;
  readonly reason: string;
}

/** One model repository of the cache, described without loading it. */
export interface CachedModel {
  /** `org/name` (or `name` for the hub's few un-namespaced repos, e.g. `gpt2`). */
  readonly repoId: string;
  /** The snapshot folder Locus opens (undefined when the repo has no snapshot). */
  readonly path?: string;
  /** The snapshot's commit hash. */
  readonly revision?: string;
  /** config.json's `model_type` (the family), when readable. */
  readonly modelType?: string;
  /** Whether Locus has that family; the model may still be unopenable for another reason (`problem`). */
  readonly familySupported: boolean;
  /** Sum of the tensors' element counts, from the safetensors headers. */
  readonly parameters?: number;
  /** The weights' storage dtype (safetensors spelling: BF16, F16, F32), the most parameters first when mixed ("BF16+F32"). */
  readonly dtype?: string;
  /** Bytes on disk of the snapshot's files (links followed, each blob once). */
  readonly sizeBytes: number;
  /** Set when Locus cannot open it, with the reason. */
  readonly problem?: CacheProblem;
}

/**
 * Whether `spec` reads as a hub repo id rather than a path: `org/name` or a bare `name`, of the
 * characters huggingface_hub's validate_repo_id allows, without its forbidden `--` and `..`.
 */
export function isRepoId(spec: string): boolean {
  return /^([A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/.test(spec) && !spec.includes('--') && !spec.includes('..') && !spec.endsWith('.git');
}

/** `models--org--name` → `org/name`; undefined for anything else (datasets, spaces, `.locks`). */
export function repoIdOfFolder(folderName: string): string | undefined {
  if (!folderName.startsWith('models--')) return undefined;
  const parts = folderName.slice('models--'.length).split('--');
  return parts.length <= 2 && parts.every((p) => p.length > 0) ? parts.join('/') : undefined;
}

/** `org/name` → the repo's folder in `cacheDir`. */
export const repoFolder = (repoId: string, cacheDir: string): string => path.join(cacheDir, `models--${repoId.split('/').join('--')}`);

/**
 * When `folder` is a snapshot inside a hub cache (`…/models--org--name/snapshots/<rev>`), its repo id:
 * a loaded model is then called `org/name`, not by its commit hash.
 */
export function repoIdOfSnapshot(folder: string): string | undefined {
  const snapshots = path.dirname(path.resolve(folder));
  if (path.basename(snapshots) !== 'snapshots') return undefined;
  return repoIdOfFolder(path.basename(path.dirname(snapshots)));
}

const lstatOrUndefined = (file: string): fs.Stats | undefined => {
  try {
    return fs.lstatSync(file);
  } catch {
    return undefined;
  }
};
const statOrUndefined = (file: string): fs.Stats | undefined => {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
};

/** The snapshot `refs/main` names when present and there, else the most recently written one. */
function pickSnapshot(repoDir: string): string | undefined {
  const snapshots = path.join(repoDir, 'snapshots');
  let revs: string[];
  try {
    revs = fs.readdirSync(snapshots).filter((r) => statOrUndefined(path.join(snapshots, r))?.isDirectory());
  } catch {
    return undefined;
  }
  let main: string | undefined;
  try {
    main = fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8').trim();
  } catch {
    main = undefined;
  }
  if (main && revs.includes(main)) return main;
  return revs.sort((a, b) => (statOrUndefined(path.join(snapshots, b))?.mtimeMs ?? 0) - (statOrUndefined(path.join(snapshots, a))?.mtimeMs ?? 0))[0];
}

/** How many blobs a download left unfinished (`blobs/<sha>.incomplete`). */
function incompleteBlobs(repoDir: string): number {
  try {
    return fs.readdirSync(path.join(repoDir, 'blobs')).filter((n) => n.endsWith('.incomplete')).length;
  } catch {
    return 0;
  }
}

/** Bytes of every file under the snapshot, each blob counted once (two names may share one blob). */
function snapshotBytes(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const visit = (d: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = statOrUndefined(p);
      if (!st) continue; // a dangling link: a file that never arrived
      if (st.isDirectory()) visit(p);
      else if (st.isFile() && !seen.has(`${st.dev}:${st.ino}`)) {
        seen.add(`${st.dev}:${st.ino}`);
        total += st.size;
      }
    }
  };
  visit(dir);
  return total;
}

/** What a snapshot's file is: there, a link whose blob is missing, or absent. */
function fileState(file: string): 'ok' | 'dangling' | 'absent' {
  if (!lstatOrUndefined(file)) return 'absent';
  return statOrUndefined(file) ? 'ok' : 'dangling';
}

const PICKLE = /\.(bin|pt|pth|pkl|ckpt)$/i;
const INDEX = 'model.safetensors.index.json';

/** The shard files a sharded checkpoint's index names (none when the index is unreadable: opening it says why). */
function shardNames(indexFile: string): string[] {
  try {
    const map = (readJsonFile(indexFile, 'weights index') as { weight_map?: unknown }).weight_map;
    if (typeof map !== 'object' || map === null) return [];
    return [...new Set(Object.values(map).filter((v): v is string => typeof v === 'string' && v === path.basename(v)))].sort();
  } catch {
    return [];
  }
}

/** The parts of a description that the weights' headers give. */
interface WeightsSummary {
  readonly parameters?: number;
  readonly dtype?: string;
  readonly problem?: CacheProblem;
}

/** Parameter count and dtype from the safetensors headers only (no tensor data is read). */
function summarizeWeights(dir: string): WeightsSummary {
  let store;
  try {
    store = openSafetensors(dir);
  } catch (e) {
    if (e instanceof LocusError) return { problem: { code: e.code, reason: e.message } };
    throw e;
  }
  try {
    const elementsByDtype = new Map<string, number>();
    let parameters = 0;
    for (const name of store.names()) {
      const n = store.shape(name).reduce((a, b) => a * b, 1);
      parameters += n;
      const dtype = store.dtype(name);
      elementsByDtype.set(dtype, (elementsByDtype.get(dtype) ?? 0) + n);
    }
    const dtype = [...elementsByDtype.entries()].sort((a, b) => b[1] - a[1]).map(([d]) => d).join('+');
    return { parameters, dtype: dtype || undefined };
  } finally {
    store.close();
  }
}

/**
 * Why the snapshot cannot be opened, checked in the order a user would fix things: the family first
 * (nothing else matters if Locus cannot build it), then the weights' format, then missing files.
 * `missing(file)` turns an absent or dangling file into "incomplete download" when the repo shows one.
 */
function findProblem(dir: string, repoId: string, modelType: string | undefined, configProblem: CacheProblem | undefined, incomplete: number): CacheProblem | undefined {
  const again = `fetch it again with \`huggingface-cli download ${repoId}\` on a machine with internet`;
  const unfinished = (what: string): CacheProblem => ({ code: 'not-found', reason: `incomplete download: ${what}; ${again}` });
  const missing = (file: string, otherwise: CacheProblem): CacheProblem | undefined => {
    const state = fileState(path.join(dir, file));
    if (state === 'ok') return undefined;
    if (state === 'dangling') return unfinished(`${file} links to a blob that is not in the cache`);
    return incomplete > 0 ? unfinished(`no ${file} yet and ${incomplete} unfinished blob(s) (.incomplete)`) : otherwise;
  };
  const config = missing('config.json', { code: 'not-found', reason: 'no config.json' });
  if (config) return config;
  if (configProblem) return configProblem;
  if (!modelType || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    return { code: 'unsupported-architecture', reason: `model_type ${JSON.stringify(modelType ?? null)} is not supported (Locus opens ${SUPPORTED_MODEL_TYPES.join(', ')})` };
  }
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch (e) {
    return { code: 'io', reason: fsError(e, dir, 'snapshot folder').message };
  }
  const weights = files.includes('model.safetensors') ? 'model.safetensors' : files.includes(INDEX) ? INDEX : files.find((f) => f.endsWith('.safetensors'));
  if (!weights) {
    const pickles = files.filter((f) => PICKLE.test(f));
    if (pickles.length > 0) {
      return {
        code: 'unsupported-format',
        reason: `pickle weights only (${pickles.join(', ')}), which Locus never loads (a pickle can run code); convert once with transformers: save_pretrained(folder, safe_serialization=True)`,
      };
    }
    return missing('model.safetensors', { code: 'not-found', reason: 'no weights (no *.safetensors)' });
  }
  const weightsFile = missing(weights, { code: 'not-found', reason: `no ${weights}` });
  if (weightsFile) return weightsFile;
  if (weights === INDEX) {
    const shards = shardNames(path.join(dir, INDEX));
    const absent = shards.filter((f) => fileState(path.join(dir, f)) !== 'ok');
    if (absent.length > 0) return unfinished(`${absent.length} of ${shards.length} shards are not in the cache (${absent[0]}${absent.length > 1 ? ', …' : ''})`);
  }
  const tokenizer = fileState(path.join(dir, 'tokenizer.json'));
  const bpePair = fileState(path.join(dir, 'vocab.json')) === 'ok' && fileState(path.join(dir, 'merges.txt')) === 'ok';
  if (tokenizer !== 'ok' && !bpePair) {
    if (tokenizer === 'dangling') return unfinished('tokenizer.json links to a blob that is not in the cache');
    if (incomplete > 0) return unfinished(`no tokenizer.json yet and ${incomplete} unfinished blob(s) (.incomplete)`);
    const sentencePiece = fileState(path.join(dir, 'tokenizer.model')) === 'ok' ? ' (only a SentencePiece tokenizer.model, which Locus does not read)' : '';
    return { code: 'missing-tokenizer', reason: `missing tokenizer: no tokenizer.json, nor vocab.json + merges.txt${sentencePiece}` };
  }
  return undefined;
}

/**
 * What loading would refuse before reading any tensor: config.json as the family's adapter parses it,
 * and the config's sizes against the weights' shapes (headers only; the tokenizer is left to loading).
 * File names in the reason are relative to the snapshot.
 */
function configFitsWeights(dir: string): CacheProblem | undefined {
  try {
    checkWeightHeaders(dir, readConfig(dir));
    return undefined;
  } catch (e) {
    if (!(e instanceof LocusError)) throw e;
    return { code: e.code, reason: e.message.split(`${dir}${path.sep}`).join('') };
  }
}

/** Describes one `models--org--name` folder. */
export function describeCachedRepo(repoDir: string, repoId: string): CachedModel {
  const revision = pickSnapshot(repoDir);
  const incomplete = incompleteBlobs(repoDir);
  if (!revision) {
    const reason = incomplete > 0 ? `incomplete download: no snapshot yet and ${incomplete} unfinished blob(s) (.incomplete)` : 'no snapshot (the repo folder holds no downloaded revision)';
    return { repoId, familySupported: false, sizeBytes: 0, problem: { code: 'not-found', reason: `${reason}; fetch it with \`huggingface-cli download ${repoId}\` on a machine with internet` } };
  }
  const dir = path.join(repoDir, 'snapshots', revision);
  let modelType: string | undefined;
  let configProblem: CacheProblem | undefined;
  if (fileState(path.join(dir, 'config.json')) === 'ok') {
    try {
      const raw = readJsonFile(path.join(dir, 'config.json'), 'model config');
      const t = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['model_type'] : undefined;
      modelType = typeof t === 'string' ? t : undefined;
    } catch (e) {
      if (!(e instanceof LocusError)) throw e;
      configProblem = { code: e.code, reason: e.message };
    }
  }
  const familySupported = modelType !== undefined && (SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType);
  let problem = findProblem(dir, repoId, modelType, configProblem, incomplete);
  // Headers of whatever safetensors there are, for the size of unsupported families too.
  const hasSafetensors = (() => {
    try {
      return fs.readdirSync(dir).some((f) => f.endsWith('.safetensors') || f === INDEX);
    } catch {
      return false;
    }
  })();
  const weights: WeightsSummary = hasSafetensors ? summarizeWeights(dir) : {};
  problem ??= weights.problem ?? configFitsWeights(dir);
  return { repoId, path: dir, revision, modelType, familySupported, parameters: weights.parameters, dtype: weights.dtype, sizeBytes: snapshotBytes(dir), problem };
}

/** Every model repository in the cache, by repo id; an absent cache is an empty list. */
export function listCachedModels(cacheDir: string = hfHubCacheDir()): CachedModel[] {
  let names: string[];
  try {
    names = fs.readdirSync(cacheDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR' && statOrUndefined(cacheDir)?.isFile()) {
      throw new LocusError('io', `the Hugging Face cache ${cacheDir} is a file, not a folder (HF_HUB_CACHE, HF_HOME)`);
    }
    throw fsError(e, cacheDir, 'Hugging Face cache');
  }
  const models: CachedModel[] = [];
  for (const name of names.sort()) {
    const repoId = repoIdOfFolder(name);
    if (repoId && statOrUndefined(path.join(cacheDir, name))?.isDirectory()) models.push(describeCachedRepo(path.join(cacheDir, name), repoId));
  }
  return models;
}

/**
 * The snapshot folder of `repoId` in the cache, ready for loadModel; a LocusError saying why when the
 * repo is not cached or cannot be opened. Locus never downloads.
 */
export function resolveCachedModel(repoId: string, cacheDir: string = hfHubCacheDir()): string {
  const repoDir = repoFolder(repoId, cacheDir);
  if (!statOrUndefined(repoDir)?.isDirectory()) {
    throw new LocusError(
      'not-found',
      `${repoId} is not a folder, nor a model in the Hugging Face cache at ${cacheDir}; Locus never downloads: fetch it with \`huggingface-cli download ${repoId}\` on a machine with internet, or give a folder`,
    );
  }
  const model = describeCachedRepo(repoDir, repoId);
  if (model.problem || !model.path) {
    const reason = model.problem?.reason ?? 'no snapshot';
    throw new LocusError(model.problem?.code ?? 'not-found', `${repoId} is in the Hugging Face cache (${model.path ?? repoDir}) but cannot be opened: ${reason}`);
  }
  return model.path;
}
