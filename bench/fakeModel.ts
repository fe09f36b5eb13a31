import type { LoadedModel } from '../src/engine/model/model';
import { ParamOverrides } from '../src/engine/model/overrides';
import { SessionCache } from '../src/engine/model/sessions';
import { createTokenizer } from '../src/engine/model/tokenizer';
import { gpt2TokenizerJson } from '../src/engine/model/byteLevel';
import { GPT2_SMALL, randomModel } from './randomModel';

/**
 * A GPT-2-small-shaped random model behind the LoadedModel interface, with a toy tokenizer (one token
 * per letter or space) so prompts have exactly the lengths a benchmark asks for. `layers` below 12 keeps
 * every block GPT-2-small-sized with fewer of them (a benchmark that must stay within a memory budget).
 */
export function fakeGpt2Small(threads: number, layers = 12): LoadedModel {
  const { config, param } = randomModel({ ...GPT2_SMALL, n_layer: layers });
  const vocab: Record<string, number> = {};
  [...'abcdefghijklmnopqrstuvwxyz.Ġ'].forEach((c, i) => (vocab[c] = i));
  vocab['<|endoftext|>'] = 50256;
  const tokenizer = createTokenizer(gpt2TokenizerJson(vocab, []), {}, 'bench');
  const holder: { sessions?: SessionCache } = {};
  const overrides = new ParamOverrides(param, () => holder.sessions!);
  const sessions = new SessionCache(config, overrides.get, { threads });
  holder.sessions = sessions;
  return {
    config,
    tokenizer,
    param: overrides.get,
    overrides,
    sessions,
    warnings: [],
    manifest: { name: 'gpt2-small-random', path: '', architecture: 'gpt2', n_layers: layers, d_model: 768, n_heads: 12, d_vocab: 50257, n_ctx: 1024, parameters: 124e6, fingerprint: 'bench', device: 'cpu' },
    dispose: () => sessions.releaseAll(),
  };
}
