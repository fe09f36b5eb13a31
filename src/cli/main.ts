import { isLocusError, oneLine } from '../engine/index';
import { UsageError } from './args';
import { evalCommand, evalHelp } from './commands/eval';
import { probeCommand, probeHelp } from './commands/probe';
import { editCommand, editHelp } from './commands/edit';
import { traceCommand, traceHelp } from './commands/trace';
import { studyCommand, studyHelp } from './commands/study';
import { trainDefaultCommand, trainDefaultHelp } from './commands/trainDefault';
import { modelsCommand, modelsHelp } from './commands/models';
import { lensCommand, lensHelp } from './commands/lens';
import { assertCommand, assertHelp } from './commands/assert';
import { patchCommand, patchHelp } from './commands/patch';
import type { CliIO } from './io';
import { processIO } from './io';
import { respawnWithMallocTunables, shouldRespawn, watchParent } from './respawn';

/**
 * `statusFromRun`: the command's result is its exit status (locus assert: 1 when a fact fails). Other
 * commands' results mean nothing (`return io.out(...)` hands back whatever the writer returns).
 */
type Command = { run: (argv: string[], io: CliIO) => Promise<unknown>; help: string; summary: string; statusFromRun?: true };

const commands: Record<string, Command> = {
  probe: { run: probeCommand, help: probeHelp, summary: 'next-token distribution for a prompt' },
  edit: { run: editCommand, help: editHelp, summary: 'edit a fact (ROME, MEMIT, FT-1, FT-5) and measure it' },
  eval: { run: evalCommand, help: evalHelp, summary: 'which CounterFact facts a model knows' },
  trace: { run: traceCommand, help: traceHelp, summary: 'Causal Tracing: which states carry a fact' },
  models: { run: modelsCommand, help: modelsHelp, summary: 'the models in the Hugging Face cache, and which Locus can open' },
  study: { run: studyCommand, help: studyHelp, summary: 'the regression study: tracing vs. editing success per layer' },
  lens: { run: lensCommand, help: lensHelp, summary: 'logit lens: each layer\'s residual stream decoded to tokens' },
  assert: { run: assertCommand, help: assertHelp, summary: 'check a facts file against a model (exit 1 on a failure; JUnit XML for CI)', statusFromRun: true },
  patch: { run: patchCommand, help: patchHelp, summary: 'activation patching with a counterfactual subject (same token length)' },
  'train-default-model': { run: trainDefaultCommand, help: trainDefaultHelp, summary: 'train the embedded default model (tokenizer + GPT-2)' },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(20)} ${c.summary}`);
  return `locus <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\n"locus <command> --help" for a command's flags.`;
}

/** Runs the CLI; returns the exit code (0 ok, 1 unexpected failure, 2 bad usage or bad input, 130 interrupted). */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.err(`locus: unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}`);
    return 2;
  }
  try {
    const status = await command.run(rest, io);
    return command.statusFromRun && typeof status === 'number' ? status : 0;
  } catch (e) {
    if (isLocusError(e) && e.code === 'cancelled') {
      // Interrupted by the user (Ctrl-C): the shell's convention for SIGINT, 128 + 2.
      io.err(`locus ${name}: ${e.message}`);
      return 130;
    }
    if (e instanceof UsageError || isLocusError(e)) {
      io.err(`locus ${name}: ${oneLine(e.message)}`);
      return 2;
    }
    io.err(`locus ${name}: unexpected error: ${(e as Error)?.message ?? String(e)}`);
    if (process.env.LOCUS_DEBUG) io.err(String((e as Error)?.stack));
    else io.err('(this is a bug in Locus; set LOCUS_DEBUG=1 to see the stack)');
    return 1;
  }
}

if (require.main === module) {
  // On Linux the command runs in a child started with the malloc settings (respawn.ts); help needs none.
  const argv = process.argv.slice(2);
  const quick = argv.length === 0 || argv.some((a) => a === '--help' || a === '-h' || a === 'help');
  if (!quick && shouldRespawn()) {
    respawnWithMallocTunables().then((code) => {
      process.exitCode = code;
    });
  } else {
    watchParent();
    main(argv).then((code) => {
      process.exitCode = code;
    });
  }
}
