/** Text renderings of a next-token distribution (quick pick rows, hover table). Pure. */
import type { ProbeResultDto } from '../../protocol/dto';

/** A visible token: quotes, and ␣ / ⏎ for a leading space / newline so " Paris" and "Paris" differ at a glance. */
export function showToken(token: string): string {
  return token.replace(/^ /, '␣').replace(/\n/g, '⏎');
}

/** A 20-cell bar of a probability. */
export function bar(p: number): string {
  const n = Math.round(Math.max(0, Math.min(1, p)) * 20);
  return '█'.repeat(n) + '░'.repeat(20 - n);
}

export function probeMarkdown(prompt: string, r: ProbeResultDto): string {
  const rows = r.top.map((t) => `| \`${showToken(t.token).replace(/`/g, 'ˋ')}\` | ${(t.prob * 100).toFixed(1)}% | ${t.logprob.toFixed(2)} |`);
  const tail = prompt.length > 60 ? '…' + prompt.slice(-60) : prompt;
  return [`**Locus** — next token after “${tail}” (${r.tokens.length} tokens)`, '', '| token | p | log p |', '|---|---:|---:|', ...rows].join('\n');
}
