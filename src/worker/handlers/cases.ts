/** What the edit, sweep and study handlers share: turning client input into FactCases (records: the engine's factCaseOf). */
import type { FactCase } from '../../engine/index';
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
