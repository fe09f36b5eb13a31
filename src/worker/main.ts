/**
 * The worker process (dist/worker.js): forked by the extension host with an IPC channel, it serves
 * src/protocol/engine.ts over vscode-jsonrpc. It owns the engine, so onnxruntime's blocking calls and
 * any out-of-memory crash stay out of VS Code; the extension restarts it when it dies.
 * stdout is not used; diagnostics go to stderr (the client keeps its tail for crash reports).
 */
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { serve } from './serve';

function main(): void {
  if (typeof process.send !== 'function') {
    process.stderr.write('the Locus worker must be started by the extension (child_process.fork with an IPC channel)\n');
    process.exit(2);
  }
  const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  const exit = (code: number): void => {
    // Give the last response time to leave over IPC, but never linger.
    setTimeout(() => process.exit(code), 100).unref();
  };
  const served = serve(connection, { onShutdown: () => exit(0) });
  // The parent went away (closed the channel or died): nobody can use the model any more.
  process.on('disconnect', () => process.exit(0));
  connection.onClose(() => void served.dispose().finally(() => exit(0)));
  process.on('unhandledRejection', (e) => process.stderr.write(`locus worker: unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`));
  connection.listen();
}

main();
