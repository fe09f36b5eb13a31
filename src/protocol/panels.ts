/**
 * The webview ⇄ extension-host contract (postMessage). Every panel speaks the same envelope:
 * - host → webview: `{ type, ...payload }` messages the panel renders (ToWebview<P>);
 * - webview → host: `{ type, ...payload }` requests (FromWebview<P>), and every request that runs a
 *   job carries a `requestId` the host echoes in `job/progress`, `job/done` and `job/error`, so a
 *   panel can run several jobs and cancel one (`job/cancel`).
 * Each panel declares its own message maps (src/protocol/panels/<panel>.ts); the envelope types here
 * make both sides typed from one map. Payloads are structured-clone data: large grids travel as
 * Float32Array / ArrayBuffer (cloned without JSON), small tables as plain arrays.
 */

/** A map of message type → payload (without `type`). */
export type MessageMap = Record<string, object>;

/** The union of `{ type: K } & Payload` over a map. */
export type MessageOf<Map extends MessageMap> = { [K in keyof Map & string]: { readonly type: K } & Map[K] }[keyof Map & string];

/** Messages the host sends to any panel about its jobs. */
export interface JobMessages {
  'job/progress': { readonly requestId: string; readonly message?: string; readonly done?: number; readonly total?: number };
  'job/error': { readonly requestId: string; readonly message: string; readonly cancelled: boolean };
  /** The job finished (its result came in its own message just before). */
  'job/done': { readonly requestId: string };
}

/** Messages every panel sends to its host. */
export interface PanelRequests {
  /** Sent once when the bundle has loaded; the host then posts the panel's initial data. */
  'panel/ready': Record<never, never>;
  'job/cancel': { readonly requestId: string };
  /** Save an exported chart or table (the host shows a save dialog). */
  'export/save': { readonly suggestedName: string; readonly mime: 'image/png' | 'text/csv'; readonly data: ArrayBuffer | string };
}

export type HostToPanel<Map extends MessageMap> = MessageOf<Map & JobMessages>;
export type PanelToHost<Map extends MessageMap> = MessageOf<Map & PanelRequests>;
