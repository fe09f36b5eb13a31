/** A method's default hyper-parameters and where they come from (shown in the edit's notes). */
export interface Preset<T> {
  readonly hparams: T;
  /** The published file they were taken from (repository + path), and how they were adapted. */
  readonly source: string;
}

/**
 * Below this depth a model is a test-sized or toy model (the embedded model, the tiny random
 * goldens): published hparams tuned on 7B-scale models do not apply, the small-model presets do.
 */
export const MIN_SCALED_DEPTH = 12;

/** `layer` of a `fromLayers`-deep model at the same relative depth of a `toLayers`-deep one. */
export function scaleLayer(layer: number, fromLayers: number, toLayers: number): number {
  return Math.min(toLayers - 1, Math.max(0, Math.round((layer / fromLayers) * toLayers)));
}

/** "scaled by depth from …" wording shared by every scaled preset. */
export function scaledSource(published: string, fromLayers: number, toLayers: number): string {
  return `scaled by depth from ${published} (${fromLayers} → ${toLayers} layers; other values unchanged)`;
}
