/** What the edit, sweep and study handlers share: turning client input into FactCases (records: the engine's factCaseOf), and keeping the stack exact. */
import type { EditStack, FactCase } from '../../engine/index';
import { LocusError } from '../../engine/index';
import type { FactCaseDto } from '../../protocol/dto';

/** A case sent by the client: checked field by field, since it crossed a process boundary. */
export function inlineCase(c: FactCaseDto): FactCase {
  if (typeof c?.prompt !== 'string' || !c.prompt.includes('{}')) throw new LocusError('bad-input', 'each case needs a prompt with {} where the subject goes');
  if (typeof c.subject !== 'string' || typeof c.target_new?.str !== 'string' || typeof c.target_true?.str !== 'string') {
    throw new LocusError('bad-input', 'each case needs subject, target_new.str and target_true.str');
  }
  return c;
}

/**
 * runEdit measures with the edit applied and then reverts through its own stacks, which rebuild the
 * touched parameters from the file's values: that would drop our earlier edits on those parameters.
 * Re-applying our stack afterwards restores exactly file + every kept edit.
 */
export async function reapply(stack: EditStack): Promise<void> {
  const kept = [...stack.applied];
  if (kept.length === 0) return;
  await stack.revertAll();
  for (const e of kept) await stack.apply(e);
}
