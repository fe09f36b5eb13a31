"""PyTorch replica of Locus's LM trainer (src/engine/train/lmTrainer.ts), to compare model shapes on a GPU.

Same batches (export-batches.js), same objective (per-batch weighted next-token NLL), same optimiser
(AdamW, decoupled decay on matrices and embeddings only, global-norm clipping, warm-up + cosine), GPT-2
arithmetic in the Hugging Face layout. Only the kernels differ, so a run lands near, not on, the CPU run.
Writes OUT/model.safetensors (float32, HF names). Needs torch and numpy.

  python3 train_replica.py DATA OUT --layers 8 --d-model 160 --heads 5 [--d-mlp 640] [--seed 1] [--init DATA/init.safetensors] [--epochs N] [--max-steps N]
"""
import argparse, gzip, json, math, os, struct, time
import numpy as np
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('data'); ap.add_argument('out')
ap.add_argument('--layers', type=int, required=True); ap.add_argument('--d-model', type=int, required=True)
ap.add_argument('--heads', type=int, required=True); ap.add_argument('--d-mlp', type=int)
ap.add_argument('--seed', type=int, default=1); ap.add_argument('--init')
ap.add_argument('--max-steps', type=int, help='stop early (a smoke test)')
ap.add_argument('--epochs', type=int, help='train this many epochs, cycling the exported ones (one cosine over all)')
a = ap.parse_args()
n_layer, d, n_head = a.layers, a.d_model, a.heads
inner = a.d_mlp or 4 * d
meta = json.load(open(f'{a.data}/meta.json'))
tr, cfg = meta['recipe']['train'], meta['recipe']['config']
V, C = cfg['vocab_size'], cfg['n_positions']
PAD = V - 1
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.manual_seed(a.seed)


def read(name, dtype):
    return np.frombuffer(gzip.open(f'{a.data}/{name}').read(), dtype=dtype)


def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    return {k: np.frombuffer(b[8 + n + m['data_offsets'][0]:8 + n + m['data_offsets'][1]], '<f4').reshape(m['shape'])
            for k, m in header.items() if k != '__metadata__'}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, t in tensors.items():
        raw = t.detach().float().cpu().numpy().astype('<f4').tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        off += len(raw); blobs.append(raw)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header).encode(); h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for raw in blobs: f.write(raw)


# Batches as lmTrainer's batchFeeds makes them: inputs ids[:-1], targets ids[1:], right padding, weights / their sum.
ids, wts, lens, bsz = read('ids.u16.gz', np.uint16), read('wts.u8.gz', np.uint8), read('lens.u16.gz', np.uint16), read('bsz.u16.gz', np.uint16)
offs = np.concatenate([[0], np.cumsum(lens.astype(np.int64))])
batches, ex = [], 0
for b in map(int, bsz):
    T = int(lens[ex:ex + b].max()) - 1
    x = np.full((b, T), PAD, np.int64); y = np.full((b, T), PAD, np.int64); w = np.zeros((b, T), np.float32)
    for i in range(b):
        s, n = int(offs[ex + i]), int(lens[ex + i])
        x[i, :n - 1] = ids[s:s + n - 1]; y[i, :n - 1] = ids[s + 1:s + n]; w[i, :n - 1] = wts[s:s + n - 1]
    w /= w.sum(dtype=np.float64)
    batches.append(tuple(torch.from_numpy(t).to(dev) for t in (x, y, w)))
    ex += b
if a.epochs:
    starts = np.concatenate([[0], np.cumsum(meta['epochBatches'])])
    cycle = len(meta['epochBatches'])
    batches = [batches[i] for e in range(a.epochs) for i in range(starts[e % cycle], starts[e % cycle + 1])]
total = len(batches)

# GPT-2 initialisation as initGpt2Params: N(0, 0.02), residual projections N(0, 0.02/√(2L)), wpe N(0, 0.01).
P = {}
def param(name, shape, init):
    t = torch.empty(shape, device=dev)
    if init == 'one': t.fill_(1)
    elif init == 'zero': t.zero_()
    else: t.normal_(0, init)
    P[name] = t.requires_grad_()
resid = 0.02 / math.sqrt(2 * n_layer)
param('transformer.wte.weight', (V, d), 0.02); param('transformer.wpe.weight', (C, d), 0.01)
for l in range(n_layer):
    h = f'transformer.h.{l}'
    param(f'{h}.ln_1.weight', (d,), 'one'); param(f'{h}.ln_1.bias', (d,), 'zero')
    param(f'{h}.attn.c_attn.weight', (d, 3 * d), 0.02); param(f'{h}.attn.c_attn.bias', (3 * d,), 'zero')
    param(f'{h}.attn.c_proj.weight', (d, d), resid); param(f'{h}.attn.c_proj.bias', (d,), 'zero')
    param(f'{h}.ln_2.weight', (d,), 'one'); param(f'{h}.ln_2.bias', (d,), 'zero')
    param(f'{h}.mlp.c_fc.weight', (d, inner), 0.02); param(f'{h}.mlp.c_fc.bias', (inner,), 'zero')
    param(f'{h}.mlp.c_proj.weight', (inner, d), resid); param(f'{h}.mlp.c_proj.bias', (d,), 'zero')
param('transformer.ln_f.weight', (d,), 'one'); param('transformer.ln_f.bias', (d,), 'zero')
if a.init:  # the recipe's own initialisation (export-batches.js … L D H)
    for k, v in read_safetensors(a.init).items():
        assert tuple(P[k].shape) == v.shape, k
        with torch.no_grad(): P[k].copy_(torch.from_numpy(v.copy()))


def attention(q, k, v):  # [batch, head, pos, d_head], causal
    if hasattr(F, 'scaled_dot_product_attention'):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[2]  # torch < 2.0
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    return s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float('-inf')).softmax(-1) @ v


def forward(x):
    B, T = x.shape
    h = P['transformer.wte.weight'][x] + P['transformer.wpe.weight'][:T]  # [batch, pos, d_model]
    for l in range(n_layer):
        p = f'transformer.h.{l}'
        z = F.layer_norm(h, (d,), P[f'{p}.ln_1.weight'], P[f'{p}.ln_1.bias'], cfg['layer_norm_epsilon'])
        q, k, v = (z @ P[f'{p}.attn.c_attn.weight'] + P[f'{p}.attn.c_attn.bias']).view(B, T, 3, n_head, d // n_head).permute(2, 0, 3, 1, 4)
        o = attention(q, k, v).transpose(1, 2).reshape(B, T, d)
        h = h + o @ P[f'{p}.attn.c_proj.weight'] + P[f'{p}.attn.c_proj.bias']
        z = F.layer_norm(h, (d,), P[f'{p}.ln_2.weight'], P[f'{p}.ln_2.bias'], cfg['layer_norm_epsilon'])
        z = F.gelu(z @ P[f'{p}.mlp.c_fc.weight'] + P[f'{p}.mlp.c_fc.bias'], approximate='tanh')  # gelu_new
        h = h + z @ P[f'{p}.mlp.c_proj.weight'] + P[f'{p}.mlp.c_proj.bias']
    h = F.layer_norm(h, (d,), P['transformer.ln_f.weight'], P['transformer.ln_f.bias'], cfg['layer_norm_epsilon'])
    return h @ P['transformer.wte.weight'].T  # [batch, pos, d_vocab], tied unembedding


decayed = [t for k, t in P.items() if k.endswith('.weight') and ('.attn.' in k or '.mlp.' in k or 'wte' in k or 'wpe' in k)]
rest = [t for t in P.values() if not any(t is u for u in decayed)]
opt = torch.optim.AdamW([{'params': decayed, 'weight_decay': tr['weightDecay']}, {'params': rest, 'weight_decay': 0.0}], lr=tr['lr'], betas=(0.9, 0.999), eps=1e-8)


def lr_at(step):
    if step < tr['warmupSteps']: return tr['lr'] * (step + 1) / tr['warmupSteps']
    t = min(1, (step - tr['warmupSteps']) / max(1, total - tr['warmupSteps']))
    return tr['lr'] * (tr['minLrRatio'] + (1 - tr['minLrRatio']) * 0.5 * (1 + math.cos(math.pi * t)))


t0 = time.time()
for step, (x, y, w) in enumerate(batches[:a.max_steps] if a.max_steps else batches):
    for g in opt.param_groups: g['lr'] = lr_at(step)
    loss = (F.cross_entropy(forward(x).reshape(-1, V), y.reshape(-1), reduction='none') * w.reshape(-1)).sum()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(P.values()), tr['clipNorm'])
    opt.step()
    if step % 1000 == 0 or step == total - 1 or a.max_steps:
        print(f'{a.out}: step {step}/{total} loss {loss.item():.3f} {time.time() - t0:.0f} s', flush=True)
os.makedirs(a.out, exist_ok=True)
write_safetensors(f'{a.out}/model.safetensors', P)
print(f'{a.out}: done in {time.time() - t0:.0f} s', flush=True)
