/**
 * The one place a panel touches `acquireVsCodeApi()` (it may be called once per page): a typed channel
 * over postMessage with the envelope of src/protocol/panels.ts, and the webview's persisted UI state.
 * Tests load the bundles in Chromium with a stand-in acquireVsCodeApi, so nothing else may reach for it.
 */
import type { HostToPanel, MessageMap, PanelToHost } from '../../src/protocol/panels';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState<T>(state: T): T;
}
declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;
const vscodeApi = (): VsCodeApi => (api ??= acquireVsCodeApi());

/**
 * The host's PanelOrigin (html.ts puts it on #root): every state this page saves carries it, because the
 * state is all VS Code hands the extension when it restores the panel after a window reload.
 */
const ORIGIN_KEY = 'locusOrigin';
function origin(): unknown {
  try {
    return JSON.parse(document.getElementById('root')?.dataset.origin ?? 'null');
  } catch {
    return null;
  }
}
const withOrigin = (state: object): object => ({ ...state, [ORIGIN_KEY]: origin() });

export interface PanelChannel<To extends MessageMap, From extends MessageMap> {
  post(message: PanelToHost<From>): void;
  /** Every host message, with the time it arrived (performance.now(), for render timing). */
  listen(handler: (message: HostToPanel<To>, receivedAt: number) => void): void;
  /** Tells the host the bundle has loaded (it answers with the panel's data). */
  ready(): void;
  /** The UI state saved with `saveState` (it survives the panel being hidden and reloaded). */
  state<S extends object>(): Partial<S>;
  saveState<S extends object>(state: S): void;
}

export function panelChannel<To extends MessageMap, From extends MessageMap>(): PanelChannel<To, From> {
  return {
    post: (message) => vscodeApi().postMessage(message),
    // panels.ts types panel/ready's payload as Record<string, never>, which no object with `type` satisfies.
    ready: () => {
      vscodeApi().setState(withOrigin((vscodeApi().getState() as object | null) ?? {}));
      vscodeApi().postMessage({ type: 'panel/ready' });
    },
    listen: (handler) =>
      window.addEventListener('message', (event: MessageEvent<unknown>) => {
        const data = event.data as { type?: unknown } | null;
        if (data && typeof data === 'object' && typeof data.type === 'string') handler(data as HostToPanel<To>, performance.now());
      }),
    state: <S extends object>() => (vscodeApi().getState() ?? {}) as Partial<S>,
    saveState: (state) => void vscodeApi().setState(withOrigin(state)),
  };
}

let counter = 0;
/** A request id unique within this page load (the host keys jobs by it). */
export const newRequestId = (what: string): string => `${what}-${Date.now().toString(36)}-${++counter}`;
