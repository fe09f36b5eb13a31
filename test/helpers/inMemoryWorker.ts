import { PassThrough } from 'node:stream';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { RequestOptions } from '../../src/extension/workerClient';
import { sendEngineRequest } from '../../src/extension/workerClient';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import { serve } from '../../src/worker/serve';
import type { Served } from '../../src/worker/serve';

/** The worker's handlers behind an in-memory JSON-RPC stream pair: the real protocol without a process. */
export interface InMemoryWorker {
  readonly client: MessageConnection;
  send<M extends EngineMethod>(method: M, params: EngineParams<M>, options?: RequestOptions): Promise<EngineResult<M>>;
  dispose(): Promise<void>;
}

export function inMemoryWorker(options: { onShutdown?: () => void } = {}): InMemoryWorker {
  const up = new PassThrough();
  const down = new PassThrough();
  const server = createMessageConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
  const client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  const served: Served = serve(server, options);
  server.listen();
  client.listen();
  return {
    client,
    send: (method, params, o) => sendEngineRequest(client, method, params, o),
    dispose: async () => {
      await served.dispose();
      client.dispose();
      server.dispose();
    },
  };
}
