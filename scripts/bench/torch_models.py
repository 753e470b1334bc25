"""Decoder models in PyTorch 1.13 eager, for torch_bench.py's `decode` op.

Written from the architectures, the way a 1.13 user writes them (no fused
attention: 1.13 has no F.scaled_dot_product_attention), float32, with a KV
cache preallocated for the whole context: keys and values [L, Hkv, max_len, Dh],
each call writes its T new positions in place and attends to positions
0..pos0+T-1. Forward returns the last position's logits, like attn's
Decoder.Forward.

  gpt2      GPT-2 as Hugging Face's GPT2LMHeadModel runs it: learned positions,
            LayerNorm (eps 1e-5), Conv1D projections (weights [in, out],
            torch.addmm(bias, x, w)) with a fused q/k/v, tanh GELU MLP (4·D),
            and the head an nn.Linear tied to the token embedding
            (F.linear(x, wte)).

matvec=True (torch_bench.py decode --matvec) runs every projection and the head
of a one-token step as a matrix-vector product (torch.addmv / torch.mv) instead:
PyTorch 1.13's OpenBLAS (0.3.21) does not turn a 1-row GEMM into a GEMV, and its
GEMM is several times slower for one row, so this is the faster PyTorch a
hand-tuned decode loop gets; the default is the code users run.
  llama     a Llama-architecture model as Hugging Face's LlamaForCausalLM runs
            it, at SmolLM-135M's shape (smollm_135m): nn.Linear weights
            [out, in] (F.linear), RMSNorm as LlamaRMSNorm computes it (eps
            1e-5), rotate-half RoPE from a cos/sin table (theta 10000),
            grouped-query attention with k/v expanded per call (repeat_kv),
            SwiGLU MLP (down(silu(gate(x)) * up(x))), no biases, the head
            tied to the token embedding.
  llama2c   llama2.c (Llama): RMSNorm (eps 1e-5), interleaved RoPE
            (theta 10000, complex multiply as in llama2.c's model.py),
            grouped-query attention with k/v repeated per call
            (repeat_interleave, as Llama's repeat_kv), SwiGLU MLP, no biases,
            classifier shared with the embedding when the file says so.
"""

import math
import struct

import torch
import torch.nn.functional as F


class KVCacheModel:
    """A decoder's preallocated cache: keys and values [L, Hkv, max_len, Dh] and
    the causal mask [max_len, max_len] (True = masked), from self.cfg."""

    def new_cache(self, max_len):
        c = self.cfg
        shape = (c["layers"], c["kv_heads"], max_len, c["head_dim"])
        return torch.zeros(shape), torch.zeros(shape), torch.ones(max_len, max_len, dtype=torch.bool).triu(1)


def gpt2_small():
    return {"arch": "gpt2", "vocab": 50257, "dim": 768, "layers": 12, "heads": 12, "kv_heads": 12,
            "head_dim": 64, "hidden": 3072, "max_seq": 1024}


class GPT2(KVCacheModel):
    """GPT-2 with random weights (N(0, 0.02²), norms at 1, biases at 0: GPT-2's init)."""

    def __init__(self, cfg, gen, matvec=False):
        self.cfg, self.matvec = cfg, matvec
        D, F_, V, S = cfg["dim"], cfg["hidden"], cfg["vocab"], cfg["max_seq"]
        normal = lambda *shape: torch.randn(*shape, generator=gen) * 0.02  # noqa: E731
        self.wte, self.wpe = normal(V, D), normal(S, D)
        self.layers = []
        for _ in range(cfg["layers"]):
            self.layers.append({
                "ln1_w": torch.ones(D), "ln1_b": torch.zeros(D),
                "qkv_w": normal(D, 3 * D), "qkv_b": torch.zeros(3 * D),
                "o_w": normal(D, D), "o_b": torch.zeros(D),
                "ln2_w": torch.ones(D), "ln2_b": torch.zeros(D),
                "fc_w": normal(D, F_), "fc_b": torch.zeros(F_),
                "proj_w": normal(F_, D), "proj_b": torch.zeros(D),
            })
        self.lnf_w, self.lnf_b = torch.ones(D), torch.zeros(D)

    def conv1d(self, x, w, b):
        """HF's Conv1D: x [T, in] · w [in, out] + b."""
        if self.matvec and x.shape[0] == 1:
            return torch.addmv(b, w.t(), x[0]).unsqueeze(0)
        return torch.addmm(b, x, w)

    def forward(self, ids, pos0, cache):
        c = self.cfg
        D, H, Dh = c["dim"], c["heads"], c["head_dim"]
        kc, vc, mask = cache
        T = ids.shape[0]
        S = pos0 + T
        lin = self.conv1d
        x = self.wte[ids] + self.wpe[pos0:S]
        scale = 1.0 / math.sqrt(Dh)
        for i, ly in enumerate(self.layers):
            h = F.layer_norm(x, (D,), ly["ln1_w"], ly["ln1_b"], 1e-5)
            q, k, v = lin(h, ly["qkv_w"], ly["qkv_b"]).split(D, dim=1)
            q = q.view(T, H, Dh).transpose(0, 1)
            kc[i, :, pos0:S] = k.view(T, H, Dh).transpose(0, 1)
            vc[i, :, pos0:S] = v.view(T, H, Dh).transpose(0, 1)
            att = (q @ kc[i, :, :S].transpose(-2, -1)) * scale
            if T > 1:
                att = att.masked_fill(mask[pos0:S, :S], float("-inf"))
            y = (att.softmax(dim=-1) @ vc[i, :, :S]).transpose(0, 1).reshape(T, D)
            x = x + lin(y, ly["o_w"], ly["o_b"])
            h = F.layer_norm(x, (D,), ly["ln2_w"], ly["ln2_b"], 1e-5)
            x = x + lin(F.gelu(lin(h, ly["fc_w"], ly["fc_b"]), approximate="tanh"), ly["proj_w"], ly["proj_b"])
        x = F.layer_norm(x[-1:], (D,), self.lnf_w, self.lnf_b, 1e-5)
        if self.matvec:
            return torch.mv(self.wte, x[0]).unsqueeze(0)
        return F.linear(x, self.wte)


def smollm_135m():
    return {"arch": "llama", "vocab": 49152, "dim": 576, "layers": 30, "heads": 9, "kv_heads": 3,
            "head_dim": 64, "hidden": 1536, "max_seq": 2048, "rope_theta": 10000.0, "eps": 1e-5}


class HFLlama(KVCacheModel):
    """Llama with random weights (N(0, 0.02²), norms at 1): the cost of the real checkpoint."""

    def __init__(self, cfg, gen, matvec=False):
        self.cfg, self.matvec = cfg, matvec
        D, F_, V = cfg["dim"], cfg["hidden"], cfg["vocab"]
        qw, kw = cfg["heads"] * cfg["head_dim"], cfg["kv_heads"] * cfg["head_dim"]
        normal = lambda *shape: torch.randn(*shape, generator=gen) * 0.02  # noqa: E731
        self.embed = normal(V, D)
        self.layers = [{"ln1": torch.ones(D), "q": normal(qw, D), "k": normal(kw, D), "v": normal(kw, D),
                        "o": normal(D, qw), "ln2": torch.ones(D),
                        "gate": normal(F_, D), "up": normal(F_, D), "down": normal(D, F_)}
                       for _ in range(cfg["layers"])]
        self.norm = torch.ones(D)
        Dh = cfg["head_dim"]
        inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, Dh, 2).float() / Dh))
        freqs = torch.outer(torch.arange(cfg["max_seq"]).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def rmsnorm(self, x, w):
        """LlamaRMSNorm: x · rsqrt(mean(x²) + eps), times the weight."""
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg["eps"]))

    def lin(self, x, w):
        if self.matvec and x.shape[0] == 1:
            return torch.mv(w, x[0]).unsqueeze(0)
        return F.linear(x, w)

    def forward(self, ids, pos0, cache):
        c = self.cfg
        H, G, Dh = c["heads"], c["kv_heads"], c["head_dim"]
        kc, vc, mask = cache
        T = ids.shape[0]
        S = pos0 + T
        cos, sin = self.cos[pos0:S].unsqueeze(0), self.sin[pos0:S].unsqueeze(0)  # [1, T, Dh]

        def rope(t):  # t [heads, T, Dh]
            half = Dh // 2
            rot = torch.cat((-t[..., half:], t[..., :half]), dim=-1)  # rotate_half
            return t * cos + rot * sin

        def repeat_kv(t):  # [G, S, Dh] -> [H, S, Dh], as HF's repeat_kv
            if H == G:
                return t
            return t[:, None].expand(G, H // G, S, Dh).reshape(H, S, Dh)

        x = self.embed[ids]
        scale = 1.0 / math.sqrt(Dh)
        lin = self.lin
        for i, ly in enumerate(self.layers):
            h = self.rmsnorm(x, ly["ln1"])
            q = rope(lin(h, ly["q"]).view(T, H, Dh).transpose(0, 1))
            kc[i, :, pos0:S] = rope(lin(h, ly["k"]).view(T, G, Dh).transpose(0, 1))
            vc[i, :, pos0:S] = lin(h, ly["v"]).view(T, G, Dh).transpose(0, 1)
            k, v = repeat_kv(kc[i, :, :S]), repeat_kv(vc[i, :, :S])
            att = (q @ k.transpose(-2, -1)) * scale
            if T > 1:
                att = att.masked_fill(mask[pos0:S, :S], float("-inf"))
            y = (att.softmax(dim=-1) @ v).transpose(0, 1).reshape(T, H * Dh)
            x = x + lin(y, ly["o"])
            h = self.rmsnorm(x, ly["ln2"])
            x = x + lin(F.silu(lin(h, ly["gate"])) * lin(h, ly["up"]), ly["down"])
        return lin(self.rmsnorm(x[-1:], self.norm), self.embed)


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Llama2c(KVCacheModel):
    """A llama2.c checkpoint (legacy .bin: 7 int32 header, then float32 weights)."""

    def __init__(self, path, matvec=False):
        self.matvec = matvec
        with open(path, "rb") as f:
            raw = f.read()
        dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("7i", raw[:28])
        shared = vocab > 0
        vocab = abs(vocab)
        Dh = dim // heads
        self.cfg = {"arch": "llama2c", "vocab": vocab, "dim": dim, "layers": layers, "heads": heads,
                    "kv_heads": kv_heads, "head_dim": Dh, "hidden": hidden, "max_seq": seq}
        w = torch.frombuffer(bytearray(raw[28:]), dtype=torch.float32)
        off = 0

        def take(*shape):
            nonlocal off
            n = math.prod(shape)
            t = w[off:off + n].view(*shape)
            off += n
            return t

        kvd = kv_heads * Dh
        self.emb = take(vocab, dim)
        rms_att = take(layers, dim)
        wq, wk, wv, wo = take(layers, dim, dim), take(layers, kvd, dim), take(layers, kvd, dim), take(layers, dim, dim)
        rms_ffn = take(layers, dim)
        w1, w2, w3 = take(layers, hidden, dim), take(layers, dim, hidden), take(layers, hidden, dim)
        self.rms_final = take(dim)
        take(seq, Dh // 2)  # legacy freq_cis_real, freq_cis_imag: RoPE is recomputed
        take(seq, Dh // 2)
        self.head = self.emb if shared else take(vocab, dim)
        if off != w.numel():
            raise ValueError(f"{path}: {w.numel() - off} floats left over after the weights")
        self.layers = [{"rms_att": rms_att[i], "wq": wq[i], "wk": wk[i], "wv": wv[i], "wo": wo[i],
                        "rms_ffn": rms_ffn[i], "w1": w1[i], "w2": w2[i], "w3": w3[i]} for i in range(layers)]
        freqs = 1.0 / (10000.0 ** (torch.arange(0, Dh, 2).float() / Dh))
        self.freqs_cis = torch.polar(torch.ones(seq, Dh // 2), torch.outer(torch.arange(seq).float(), freqs))

    def forward(self, ids, pos0, cache):
        c = self.cfg
        D, H, G, Dh = c["dim"], c["heads"], c["kv_heads"], c["head_dim"]
        kc, vc, mask = cache
        T = ids.shape[0]
        S = pos0 + T
        fc = self.freqs_cis[pos0:S].view(T, 1, Dh // 2)

        def rope(t, heads):
            tc = torch.view_as_complex(t.view(T, heads, Dh // 2, 2))
            return torch.view_as_real(tc * fc).view(T, heads, Dh)

        def lin(x, w):
            if self.matvec and T == 1:
                return torch.mv(w, x[0]).unsqueeze(0)
            return F.linear(x, w)

        x = self.emb[ids]
        scale = 1.0 / math.sqrt(Dh)
        rep = H // G
        for i, ly in enumerate(self.layers):
            h = rmsnorm(x, ly["rms_att"])
            q = rope(lin(h, ly["wq"]), H).transpose(0, 1)
            kc[i, :, pos0:S] = rope(lin(h, ly["wk"]), G).transpose(0, 1)
            vc[i, :, pos0:S] = lin(h, ly["wv"]).view(T, G, Dh).transpose(0, 1)
            k, v = kc[i, :, :S], vc[i, :, :S]
            if rep > 1:
                k, v = k.repeat_interleave(rep, dim=0), v.repeat_interleave(rep, dim=0)
            att = (q @ k.transpose(-2, -1)) * scale
            if T > 1:
                att = att.masked_fill(mask[pos0:S, :S], float("-inf"))
            y = (att.softmax(dim=-1) @ v).transpose(0, 1).reshape(T, D)
            x = x + lin(y, ly["wo"])
            h = rmsnorm(x, ly["rms_ffn"])
            x = x + lin(F.silu(lin(h, ly["w1"])) * lin(h, ly["w3"]), ly["w2"])
        return lin(rmsnorm(x[-1:], self.rms_final), self.head)


def load(model, gen, matvec=False):
    """gpt2-small or smollm-135m (random weights from gen), or a llama2.c .bin path."""
    if model == "gpt2-small":
        return GPT2(gpt2_small(), gen, matvec)
    if model == "smollm-135m":
        return HFLlama(smollm_135m(), gen, matvec)
    if model.endswith(".bin"):
        return Llama2c(model, matvec)
    raise ValueError(f"--model {model!r}: the PyTorch side knows gpt2-small, smollm-135m and llama2.c .bin files")


# ---- encoders (torch_bench.py encode) ----------------------------------------

def bert_base():
    return {"arch": "bert", "vocab": 30522, "dim": 768, "layers": 12, "heads": 12, "hidden": 3072,
            "max_pos": 512, "type_vocab": 2, "eps": 1e-12}


class HFBert:
    """BERT as Hugging Face's BertModel runs it in eval mode (1.13-era eager code):
    embeddings summed and LayerNorm'd, per layer separate query/key/value nn.Linear
    products, matmul-softmax-matmul attention with the extended additive mask,
    output dense + residual + LayerNorm, erf GELU feed-forward, and the tanh
    pooler on the first token. Random weights (N(0, 0.02²), LayerNorms at 1,
    biases at 0): the cost of bert-base-uncased."""

    def __init__(self, cfg, gen):
        self.cfg = cfg
        D, F_ = cfg["dim"], cfg["hidden"]
        normal = lambda *shape: torch.randn(*shape, generator=gen) * 0.02  # noqa: E731
        lin = lambda o, i: (normal(o, i), torch.zeros(o))  # noqa: E731
        ln = lambda: (torch.ones(D), torch.zeros(D))  # noqa: E731
        self.word, self.pos, self.typ = normal(cfg["vocab"], D), normal(cfg["max_pos"], D), normal(cfg["type_vocab"], D)
        self.emb_ln = ln()
        self.layers = [{"q": lin(D, D), "k": lin(D, D), "v": lin(D, D), "o": lin(D, D), "ln1": ln(),
                        "up": lin(F_, D), "down": lin(D, F_), "ln2": ln()} for _ in range(cfg["layers"])]
        self.pool = lin(D, D)

    def forward(self, ids, mask):
        """ids [B, T] int64, mask [B, T] (1 = real token); returns (last, pooled)."""
        c = self.cfg
        D, H, eps = c["dim"], c["heads"], c["eps"]
        Dh = D // H
        B, T = ids.shape
        x = self.word[ids] + self.pos[:T][None] + self.typ[torch.zeros_like(ids)]
        x = F.layer_norm(x, (D,), *self.emb_ln, eps)
        ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min

        def heads(y):
            return y.view(B, T, H, Dh).permute(0, 2, 1, 3)

        for ly in self.layers:
            q, k, v = (heads(F.linear(x, *ly[n])) for n in ("q", "k", "v"))
            s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(Dh) + ext
            ctx = torch.matmul(s.softmax(dim=-1), v).permute(0, 2, 1, 3).reshape(B, T, D)
            x = F.layer_norm(F.linear(ctx, *ly["o"]) + x, (D,), *ly["ln1"], eps)
            x = F.layer_norm(F.linear(F.gelu(F.linear(x, *ly["up"])), *ly["down"]) + x, (D,), *ly["ln2"], eps)
        return x, torch.tanh(F.linear(x[:, 0], *self.pool))


# ---- training models (torch_bench.py train) ---------------------------------
#
# Written as a PyTorch 1.13 user writes them, in training mode (autograd,
# no inference fast paths), float32, dropout 0.


def sinusoidal(max_len, d):
    """The paper's positional encoding [max_len, d] (sin on even, cos on odd columns)."""
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class DemoTransformer(torch.nn.Module):
    """attn's demo model (nn.TransformerPreset("small")): torch.nn.Transformer's
    encoder and decoder layers with batch_first, 2 + 2 post-LN layers (no final
    norms, as nn.Transformer-style post-LN stacks in attn), d_model 64, 4 heads,
    d_ff 256, ReLU, dropout 0; one embedding shared by source, target and the
    output projection (F.linear(y, emb.weight)), scaled by sqrt(d_model), plus
    sinusoidal positions. Xavier-uniform matrices, as nn.Transformer initialises."""

    def __init__(self, vocab, d_model=64, nhead=4, d_ff=256, layers=2, max_len=64, eps=1e-5):
        super().__init__()
        nn = torch.nn
        self.d = d_model
        self.emb = nn.Embedding(vocab, d_model)
        nn.init.normal_(self.emb.weight, std=d_model ** -0.5)
        enc = nn.TransformerEncoderLayer(d_model, nhead, d_ff, dropout=0.0, batch_first=True, layer_norm_eps=eps)
        dec = nn.TransformerDecoderLayer(d_model, nhead, d_ff, dropout=0.0, batch_first=True, layer_norm_eps=eps)
        self.encoder = nn.TransformerEncoder(enc, layers, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec, layers)
        for name, p in self.named_parameters():
            if p.dim() > 1 and not name.startswith("emb"):
                nn.init.xavier_uniform_(p)
        self.register_buffer("pe", sinusoidal(max_len, d_model))
        self.register_buffer("causal", torch.ones(max_len, max_len, dtype=torch.bool).triu(1))

    def forward(self, src, src_pad, tgt_in):
        S, T = src.shape[1], tgt_in.shape[1]
        scale = math.sqrt(self.d)
        x = self.emb(src) * scale + self.pe[:S]
        mem = self.encoder(x, src_key_padding_mask=src_pad)
        y = self.emb(tgt_in) * scale + self.pe[:T]
        y = self.decoder(y, mem, tgt_mask=self.causal[:T, :T], memory_key_padding_mask=src_pad)
        return F.linear(y, self.emb.weight)


def reverse_batch(B, gen, min_len=8, max_len=16, symbols=10):
    """A padded batch of attn's "reverse" task (train.MakeBatch's layout): PAD 0,
    BOS 1, EOS 2, symbols from 3; labels -1 where padded. Drawn from gen, so the
    tokens differ from attn's batch but the distribution and shapes are the same."""
    lens = torch.randint(min_len, max_len + 1, (B,), generator=gen)
    S = int(lens.max())
    T = S + 1
    src = torch.zeros(B, S, dtype=torch.long)
    tgt_in = torch.zeros(B, T, dtype=torch.long)
    tgt_out = torch.full((B, T), -1, dtype=torch.long)
    for i, n in enumerate(lens.tolist()):
        s = torch.randint(3, 3 + symbols, (n,), generator=gen)
        src[i, :n] = s
        tgt_in[i, 0] = 1
        tgt_in[i, 1:n + 1] = s.flip(0)
        tgt_out[i, :n] = s.flip(0)
        tgt_out[i, n] = 2
    src_pad = torch.arange(S).unsqueeze(0) >= lens.unsqueeze(1)  # True = padding
    return src, src_pad, tgt_in, tgt_out


class CausalSelfAttention(torch.nn.Module):
    """nanoGPT's attention without flash (PyTorch 1.13 has no fused SDPA on CPU):
    matmul, masked_fill with the registered tril buffer, softmax, matmul."""

    def __init__(self, d, heads, context):
        super().__init__()
        self.c_attn = torch.nn.Linear(d, 3 * d)
        self.c_proj = torch.nn.Linear(d, d)
        self.h, self.d = heads, d
        self.register_buffer("bias", torch.tril(torch.ones(context, context)).view(1, 1, context, context))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(torch.nn.Module):
    """nanoGPT's pre-LN block: LayerNorm, attention, LayerNorm, tanh-GELU MLP (4·D)."""

    def __init__(self, d, heads, context, eps=1e-5):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(d, eps=eps)
        self.attn = CausalSelfAttention(d, heads, context)
        self.ln_2 = torch.nn.LayerNorm(d, eps=eps)
        self.c_fc = torch.nn.Linear(d, 4 * d)
        self.c_proj = torch.nn.Linear(4 * d, d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    """nanoGPT's GPT (attn's nn.GPT): token and learned position embeddings, blocks,
    final LayerNorm, head tied to the token embedding, cross-entropy loss."""

    def __init__(self, vocab, context, layers, heads, d, eps=1e-5):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(context, d)
        self.h = torch.nn.ModuleList([Block(d, heads, context, eps) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d, eps=eps)
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
