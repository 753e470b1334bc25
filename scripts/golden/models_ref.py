"""Reference implementations and file helpers for gen_models.py.

Everything here is written from the published architecture definitions
(GPT-2, BERT, Llama/Qwen2/Mistral as in Hugging Face transformers, and
karpathy/llama2.c run.c); no `transformers` package is used.

Two families of references:

* `torch_*`: vectorised torch implementations, parameterised by dtype
  (torch.float32 or torch.float64).  These produce the stored outputs.
* `np_*`: independent float64 numpy implementations written differently
  (token by token with a KV cache, per-head loops, explicit K/V head
  repetition, complex-number RoPE).  Used only for consistency checks.

Weights are passed as {HF name: float64 numpy array} holding exactly the
stored values (F16/BF16 upcast exactly), so float32 and float64 runs use
bit-identical parameters.
"""

import json
import math
import struct

import numpy as np
import torch

import st

# --------------------------------------------------------------------------
# safetensors with BF16 (st.py has no BF16: numpy has no bfloat16 dtype)
# --------------------------------------------------------------------------


class BF16:
    """A tensor stored as safetensors dtype BF16, given by its uint16 bit patterns."""

    def __init__(self, bits):
        bits = np.asarray(bits)
        assert bits.dtype == np.uint16, bits.dtype
        self.bits = bits

    @property
    def shape(self):
        return self.bits.shape

    @property
    def nbytes(self):
        return self.bits.nbytes


def f32_to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest, ties to even (finite inputs only)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    assert np.isfinite(x).all()
    b = x.view(np.uint32).astype(np.uint64)
    rounded = (b + np.uint64(0x7FFF) + ((b >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)


_EXT_DTYPES = dict(st._DTYPES)
_EXT_DTYPES["BF16"] = np.dtype("<u2")


def nbytes(v):
    return v.nbytes if isinstance(v, BF16) else np.asarray(v).nbytes


def serialize(tensors, metadata=None):
    """st.serialize plus BF16 values. Same layout rules (sorted names, compact
    JSON, space padding to 8); for inputs without BF16 the bytes equal
    st.serialize (checked by the caller)."""
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"metadata must be str -> str, got {k!r}: {v!r}")
    header = {}
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        v = tensors[name]
        if isinstance(v, BF16):
            dt, shape = "BF16", v.bits.shape
            data = np.ascontiguousarray(v.bits, dtype="<u2").tobytes(order="C")
        else:
            arr = np.asarray(v)
            dt, shape = st._st_dtype(arr), arr.shape
            data = np.ascontiguousarray(arr, dtype=st._DTYPES[dt]).tobytes(order="C")
        header[name] = {"dtype": dt, "shape": [int(s) for s in shape],
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    hjson += b" " * ((-(8 + len(hjson))) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(blobs)


def parse(buf):
    """Strict reader for `serialize` output; BF16 tensors come back as BF16."""
    (n,) = struct.unpack("<Q", buf[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(buf)[8 + n:]
    out, expect = {}, 0
    for name in sorted(header):
        info = header[name]
        dt = _EXT_DTYPES[info["dtype"]]
        shape = tuple(info["shape"])
        b, e = info["data_offsets"]
        assert b == expect and e - b == int(np.prod(shape, dtype=np.int64)) * dt.itemsize, name
        arr = np.frombuffer(data[b:e], dtype=dt).reshape(shape).copy()
        out[name] = BF16(arr) if info["dtype"] == "BF16" else arr
        expect = e
    assert expect == len(data)
    return out, meta


def save(path, tensors, metadata=None):
    data = serialize(tensors, metadata)
    if not any(isinstance(v, BF16) for v in tensors.values()):
        assert data == st.serialize(tensors, metadata), path  # same bytes as st.py
    with open(path, "wb") as f:
        f.write(data)
    return data


def same_tensor(a, b):
    if isinstance(a, BF16) or isinstance(b, BF16):
        return isinstance(a, BF16) and isinstance(b, BF16) and a.shape == b.shape \
            and a.bits.tobytes() == b.bits.tobytes()
    return a.dtype == b.dtype and a.shape == b.shape and \
        np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def as_f64(v):
    """Stored value -> float64 numpy (exact)."""
    if isinstance(v, BF16):
        return bf16_bits_to_f32(v.bits).astype(np.float64)
    return np.asarray(v).astype(np.float64)


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def rel_l2(a, ref):
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    n = np.linalg.norm(ref.ravel())
    d = np.linalg.norm((a - ref).ravel())
    return d / n if n > 0 else d


def max_abs(a, ref):
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(ref, np.float64)).max())


def _t(W, name, dt):
    return torch.from_numpy(np.ascontiguousarray(W[name])).to(dt)


def stable_softmax(s):
    """Softmax over the last axis: subtract the row max, exp, normalise."""
    m = s.max(dim=-1, keepdim=True).values
    e = torch.exp(s - m)
    return e / e.sum(dim=-1, keepdim=True)


def t_layer_norm(x, w, b, eps):
    mu = x.mean(dim=-1, keepdim=True)
    xc = x - mu
    var = (xc * xc).mean(dim=-1, keepdim=True)   # biased variance, as nn.LayerNorm
    return xc / torch.sqrt(var + eps) * w + b


def t_rms_norm(x, w, eps):
    # HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then * weight (float32 math
    # for a float32 model; the float64 reference stays in float64)
    var = (x * x).mean(dim=-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def gelu_new(x):
    # HF NewGELUActivation ("gelu_new", GPT-2): tanh approximation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_erf(x):
    # HF "gelu" (BERT): exact erf form
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


# --------------------------------------------------------------------------
# GPT-2 (GPT2LMHeadModel, tied head)
# --------------------------------------------------------------------------


def torch_gpt2(W, cfg, ids, dt):
    """Returns logits [T,V], hidden_states [L+1,T,D] (HF convention)."""
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg["layer_norm_epsilon"]
    Dh = D // H
    ids_t = torch.as_tensor(ids, dtype=torch.int64)
    T = ids_t.shape[0]
    x = _t(W, "transformer.wte.weight", dt)[ids_t] + _t(W, "transformer.wpe.weight", dt)[torch.arange(T)]
    allowed = torch.ones(T, T, dtype=torch.bool).tril()
    outs = [x]
    for i in range(L):
        p = f"transformer.h.{i}."
        a = t_layer_norm(x, _t(W, p + "ln_1.weight", dt), _t(W, p + "ln_1.bias", dt), eps)
        qkv = a @ _t(W, p + "attn.c_attn.weight", dt) + _t(W, p + "attn.c_attn.bias", dt)   # Conv1D
        q, k, v = qkv.split(D, dim=-1)
        q = q.reshape(T, H, Dh).transpose(0, 1)
        k = k.reshape(T, H, Dh).transpose(0, 1)
        v = v.reshape(T, H, Dh).transpose(0, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(Dh)
        s = s.masked_fill(~allowed, float("-inf"))
        ctx = (stable_softmax(s) @ v).transpose(0, 1).reshape(T, D)
        x = x + ctx @ _t(W, p + "attn.c_proj.weight", dt) + _t(W, p + "attn.c_proj.bias", dt)
        m = t_layer_norm(x, _t(W, p + "ln_2.weight", dt), _t(W, p + "ln_2.bias", dt), eps)
        m = gelu_new(m @ _t(W, p + "mlp.c_fc.weight", dt) + _t(W, p + "mlp.c_fc.bias", dt))
        x = x + m @ _t(W, p + "mlp.c_proj.weight", dt) + _t(W, p + "mlp.c_proj.bias", dt)
        outs.append(x)
    xf = t_layer_norm(x, _t(W, "transformer.ln_f.weight", dt), _t(W, "transformer.ln_f.bias", dt), eps)
    hs = torch.stack(outs[:-1] + [xf])
    logits = xf @ _t(W, "transformer.wte.weight", dt).T
    return logits.numpy(), hs.numpy()


def torch_modules_gpt2(W, cfg, ids):
    """GPT-2 in float64 from torch.nn building blocks (nn.MultiheadAttention,
    F.layer_norm, F.gelu(approximate='tanh')), for the consistency check."""
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg["layer_norm_epsilon"]
    dt = torch.float64
    ids_t = torch.as_tensor(ids, dtype=torch.int64)
    T = ids_t.shape[0]
    F = torch.nn.functional
    with torch.no_grad():
        x = F.embedding(ids_t, _t(W, "transformer.wte.weight", dt)) + _t(W, "transformer.wpe.weight", dt)[:T]
        x = x[None]
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)   # True = not allowed
        for i in range(L):
            p = f"transformer.h.{i}."
            mha = torch.nn.MultiheadAttention(D, H, bias=True, batch_first=True).double().eval()
            mha.in_proj_weight.copy_(_t(W, p + "attn.c_attn.weight", dt).T)
            mha.in_proj_bias.copy_(_t(W, p + "attn.c_attn.bias", dt))
            mha.out_proj.weight.copy_(_t(W, p + "attn.c_proj.weight", dt).T)
            mha.out_proj.bias.copy_(_t(W, p + "attn.c_proj.bias", dt))
            a = F.layer_norm(x, (D,), _t(W, p + "ln_1.weight", dt), _t(W, p + "ln_1.bias", dt), eps)
            x = x + mha(a, a, a, attn_mask=mask, need_weights=False)[0]
            m = F.layer_norm(x, (D,), _t(W, p + "ln_2.weight", dt), _t(W, p + "ln_2.bias", dt), eps)
            m = F.linear(m, _t(W, p + "mlp.c_fc.weight", dt).T, _t(W, p + "mlp.c_fc.bias", dt))
            m = F.gelu(m, approximate="tanh")
            x = x + F.linear(m, _t(W, p + "mlp.c_proj.weight", dt).T, _t(W, p + "mlp.c_proj.bias", dt))
        x = F.layer_norm(x, (D,), _t(W, "transformer.ln_f.weight", dt), _t(W, "transformer.ln_f.bias", dt), eps)
        return F.linear(x[0], _t(W, "transformer.wte.weight", dt)).numpy()


def _np_ln(x, w, b, eps):
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return (x - mu) / math.sqrt(var + eps) * w + b


def np_gpt2_stepwise(W, cfg, ids):
    """Token-by-token GPT-2 with a KV cache and per-head loops (float64)."""
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    eps = cfg["layer_norm_epsilon"]
    Dh = D // H
    kc = [[] for _ in range(L)]
    vc = [[] for _ in range(L)]
    logits, hs = [], []
    for pos, tok in enumerate(ids):
        x = W["transformer.wte.weight"][tok] + W["transformer.wpe.weight"][pos]
        h_pos = [x]
        for i in range(L):
            p = f"transformer.h.{i}."
            a = _np_ln(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
            # nn.Linear form: weight [out,in] = Conv1D weight transposed
            qkv = W[p + "attn.c_attn.weight"].T.dot(a) + W[p + "attn.c_attn.bias"]
            q, k, v = qkv[:D], qkv[D:2 * D], qkv[2 * D:]
            kc[i].append(k)
            vc[i].append(v)
            ctx = np.zeros(D)
            for h in range(H):
                sl = slice(h * Dh, (h + 1) * Dh)
                sc = np.array([q[sl].dot(kk[sl]) for kk in kc[i]]) / math.sqrt(Dh)
                e = np.exp(sc - sc.max())
                w = e / e.sum()
                ctx[sl] = sum(wt * vv[sl] for wt, vv in zip(w, vc[i]))
            x = x + W[p + "attn.c_proj.weight"].T.dot(ctx) + W[p + "attn.c_proj.bias"]
            m = _np_ln(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
            u = W[p + "mlp.c_fc.weight"].T.dot(m) + W[p + "mlp.c_fc.bias"]
            u = 0.5 * u * (1 + np.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
            x = x + W[p + "mlp.c_proj.weight"].T.dot(u) + W[p + "mlp.c_proj.bias"]
            h_pos.append(x)
        xf = _np_ln(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
        h_pos[-1] = xf
        hs.append(np.stack(h_pos))
        logits.append(W["transformer.wte.weight"].dot(xf))
    return np.stack(logits), np.stack(hs, axis=1)


# --------------------------------------------------------------------------
# BERT (BertModel)
# --------------------------------------------------------------------------


def torch_bert(W, cfg, ids, tt, mask, dt):
    """Returns dict: last_hidden_state [B,T,D], pooler_output [B,D],
    sentence_embedding [B,D], hidden_states [L+1,B,T,D]."""
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps = cfg["layer_norm_eps"]
    Dh = D // H
    ids_t = torch.as_tensor(ids, dtype=torch.int64)
    tt_t = torch.as_tensor(tt, dtype=torch.int64)
    m_t = torch.as_tensor(mask, dtype=torch.int64)
    B, T = ids_t.shape

    def lin(x, name):
        return x @ _t(W, name + ".weight", dt).T + _t(W, name + ".bias", dt)

    x = (_t(W, "embeddings.word_embeddings.weight", dt)[ids_t]
         + _t(W, "embeddings.token_type_embeddings.weight", dt)[tt_t]
         + _t(W, "embeddings.position_embeddings.weight", dt)[torch.arange(T)][None])
    x = t_layer_norm(x, _t(W, "embeddings.LayerNorm.weight", dt), _t(W, "embeddings.LayerNorm.bias", dt), eps)
    # HF get_extended_attention_mask: (1 - mask) * finfo(dtype).min, added to the scores
    ext = (1.0 - m_t[:, None, None, :].to(dt)) * torch.finfo(dt).min
    outs = [x]
    for i in range(L):
        p = f"encoder.layer.{i}."

        def heads(y):
            return y.reshape(B, T, H, Dh).transpose(1, 2)
        q = heads(lin(x, p + "attention.self.query"))
        k = heads(lin(x, p + "attention.self.key"))
        v = heads(lin(x, p + "attention.self.value"))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(Dh) + ext
        ctx = (stable_softmax(s) @ v).transpose(1, 2).reshape(B, T, D)
        a = t_layer_norm(lin(ctx, p + "attention.output.dense") + x,
                         _t(W, p + "attention.output.LayerNorm.weight", dt),
                         _t(W, p + "attention.output.LayerNorm.bias", dt), eps)
        inter = gelu_erf(lin(a, p + "intermediate.dense"))
        x = t_layer_norm(lin(inter, p + "output.dense") + a,
                         _t(W, p + "output.LayerNorm.weight", dt), _t(W, p + "output.LayerNorm.bias", dt), eps)
        outs.append(x)
    pooled = torch.tanh(lin(x[:, 0], "pooler.dense"))
    mf = m_t.to(dt)[..., None]
    sent = (x * mf).sum(dim=1) / mf.sum(dim=1)
    return {"last_hidden_state": x.numpy(), "pooler_output": pooled.numpy(),
            "sentence_embedding": sent.numpy(), "hidden_states": torch.stack(outs).numpy()}


def torch_modules_bert(W, cfg, ids, tt, mask):
    """BERT encoder in float64 from nn.TransformerEncoderLayer (post-LN,
    activation='gelu'), key padding as a bool src_key_padding_mask."""
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    I, eps = cfg["intermediate_size"], cfg["layer_norm_eps"]
    dt = torch.float64
    F = torch.nn.functional
    ids_t = torch.as_tensor(ids, dtype=torch.int64)
    T = ids_t.shape[1]
    x = (F.embedding(ids_t, _t(W, "embeddings.word_embeddings.weight", dt))
         + F.embedding(torch.as_tensor(tt), _t(W, "embeddings.token_type_embeddings.weight", dt))
         + _t(W, "embeddings.position_embeddings.weight", dt)[:T])
    x = F.layer_norm(x, (D,), _t(W, "embeddings.LayerNorm.weight", dt), _t(W, "embeddings.LayerNorm.bias", dt), eps)
    kpm = torch.as_tensor(mask) == 0
    for i in range(L):
        p = f"encoder.layer.{i}."
        layer = torch.nn.TransformerEncoderLayer(D, H, dim_feedforward=I, dropout=0.0, activation="gelu",
                                                 layer_norm_eps=eps, batch_first=True, norm_first=False)
        layer = layer.double().eval()
        with torch.no_grad():
            sa = layer.self_attn
            sa.in_proj_weight.copy_(torch.cat([_t(W, p + f"attention.self.{n}.weight", dt)
                                               for n in ("query", "key", "value")]))
            sa.in_proj_bias.copy_(torch.cat([_t(W, p + f"attention.self.{n}.bias", dt)
                                             for n in ("query", "key", "value")]))
            for mod, name in ((sa.out_proj, "attention.output.dense"), (layer.linear1, "intermediate.dense"),
                              (layer.linear2, "output.dense"), (layer.norm1, "attention.output.LayerNorm"),
                              (layer.norm2, "output.LayerNorm")):
                mod.weight.copy_(_t(W, p + name + ".weight", dt))
                mod.bias.copy_(_t(W, p + name + ".bias", dt))
        with torch.enable_grad():   # parameters require grad: keeps torch off its fused fast path
            x = layer(x, src_key_padding_mask=kpm).detach()
    return x.numpy()


def np_bert(W, cfg, ids, tt, mask):
    """Per-sequence, per-head loops; padded keys are skipped (not added -big)."""
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    eps = cfg["layer_norm_eps"]
    Dh = D // H
    B, T = ids.shape
    out = np.zeros((B, T, D))
    pooled = np.zeros((B, D))
    for b in range(B):
        keys = [t for t in range(T) if mask[b, t] == 1]
        X = np.stack([_np_ln(W["embeddings.word_embeddings.weight"][ids[b, t]]
                             + W["embeddings.token_type_embeddings.weight"][tt[b, t]]
                             + W["embeddings.position_embeddings.weight"][t],
                             W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], eps)
                      for t in range(T)])
        for i in range(L):
            p = f"encoder.layer.{i}."

            def lin(x, n):
                return W[p + n + ".weight"].dot(x) + W[p + n + ".bias"]
            Q = [lin(X[t], "attention.self.query") for t in range(T)]
            K = [lin(X[t], "attention.self.key") for t in range(T)]
            V = [lin(X[t], "attention.self.value") for t in range(T)]
            Y = np.zeros_like(X)
            for t in range(T):
                ctx = np.zeros(D)
                for h in range(H):
                    sl = slice(h * Dh, (h + 1) * Dh)
                    sc = np.array([Q[t][sl].dot(K[j][sl]) for j in keys]) / math.sqrt(Dh)
                    e = np.exp(sc - sc.max())
                    e /= e.sum()
                    ctx[sl] = sum(w * V[j][sl] for w, j in zip(e, keys))
                a = _np_ln(lin(ctx, "attention.output.dense") + X[t], W[p + "attention.output.LayerNorm.weight"],
                           W[p + "attention.output.LayerNorm.bias"], eps)
                u = lin(a, "intermediate.dense")
                u = np.array([0.5 * z * (1 + math.erf(z / math.sqrt(2))) for z in u])
                Y[t] = _np_ln(lin(u, "output.dense") + a, W[p + "output.LayerNorm.weight"],
                              W[p + "output.LayerNorm.bias"], eps)
            X = Y
        out[b] = X
        pooled[b] = np.tanh(W["pooler.dense.weight"].dot(X[0]) + W["pooler.dense.bias"])
    return out, pooled


# --------------------------------------------------------------------------
# Llama / Qwen2 / Mistral (HF layout: rotate_half RoPE)
# --------------------------------------------------------------------------


def hf_rope_cos_sin(T, Dh, theta, dt):
    """HF LlamaRotaryEmbedding (default rope type), [T, Dh] each.

    float32: exactly HF's arithmetic, all in float32:
        inv_freq = 1 / (theta ** (arange(0, Dh, 2).float() / Dh))
        freqs = pos.float() * inv_freq ; emb = cat(freqs, freqs) ; cos/sin(emb)
    float64: the same formulas evaluated in float64 (HF itself would keep
    float32 cos/sin for a .double() model; we use the exact float64 values).
    """
    inv_freq = 1.0 / (theta ** (torch.arange(0, Dh, 2, dtype=torch.int64).to(dt) / Dh))
    pos = torch.arange(T, dtype=torch.int64).to(dt)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def window_allowed(T, window):
    """allowed[i, j]: causal (j <= i) and, with a window, i - window < j."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    ok = j <= i
    if window is not None:
        ok = ok & (j > i - window)
    return ok


def torch_llama(W, cfg, ids, dt, window=None):
    """Llama-family decoder. Returns logits [T,V], hidden_states [L+1,T,D]."""
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    KV = cfg["num_key_value_heads"]
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    Dh = D // H
    n_rep = H // KV
    ids_t = torch.as_tensor(ids, dtype=torch.int64)
    T = ids_t.shape[0]
    cos, sin = hf_rope_cos_sin(T, Dh, theta, dt)
    allowed = window_allowed(T, window)
    scale = Dh ** -0.5

    def lin(x, name):
        y = x @ _t(W, name + ".weight", dt).T
        if name + ".bias" in W:
            y = y + _t(W, name + ".bias", dt)
        return y

    x = _t(W, "model.embed_tokens.weight", dt)[ids_t]
    outs = [x]
    for i in range(L):
        p = f"model.layers.{i}."
        a = t_rms_norm(x, _t(W, p + "input_layernorm.weight", dt), eps)
        q = lin(a, p + "self_attn.q_proj").reshape(T, H, Dh).transpose(0, 1)     # [H,T,Dh]
        k = lin(a, p + "self_attn.k_proj").reshape(T, KV, Dh).transpose(0, 1)    # [KV,T,Dh]
        v = lin(a, p + "self_attn.v_proj").reshape(T, KV, Dh).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # GQA by grouping: query head h = g*n_rep + r uses kv head g = h // n_rep
        qg = q.reshape(KV, n_rep, T, Dh)
        s = (qg @ k[:, None].transpose(-1, -2)) * scale                        # [KV,n_rep,T,T]
        s = s.masked_fill(~allowed, float("-inf"))
        ctx = (stable_softmax(s) @ v[:, None]).reshape(H, T, Dh).transpose(0, 1).reshape(T, D)
        x = x + lin(ctx, p + "self_attn.o_proj")
        a = t_rms_norm(x, _t(W, p + "post_attention_layernorm.weight", dt), eps)
        g = lin(a, p + "mlp.gate_proj")
        x = x + lin(torch.nn.functional.silu(g) * lin(a, p + "mlp.up_proj"), p + "mlp.down_proj")
        outs.append(x)
    xf = t_rms_norm(x, _t(W, "model.norm.weight", dt), eps)
    hs = torch.stack(outs[:-1] + [xf])
    head = "lm_head.weight" if "lm_head.weight" in W else "model.embed_tokens.weight"
    logits = xf @ _t(W, head, dt).T
    return logits.numpy(), hs.numpy()


def _np_rms(x, w, eps):
    return w * (x / math.sqrt((x * x).mean() + eps))


def np_llama_stepwise(W, cfg, ids, window=None):
    """Token-by-token Llama with a KV cache, K/V heads explicitly repeated
    (np.repeat, as HF repeat_kv), RoPE as a complex rotation of the pairs
    (j, j + Dh/2), sliding window as 'pos - t < window'. float64."""
    D, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
    KV = cfg["num_key_value_heads"]
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    Dh = D // H
    half = Dh // 2
    inv = np.array([theta ** (-2.0 * j / Dh) for j in range(half)])
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    kc = [[] for _ in range(L)]
    vc = [[] for _ in range(L)]

    def lin(x, n):
        y = W[n + ".weight"].dot(x)
        return y + W[n + ".bias"] if n + ".bias" in W else y

    def rope(u, pos):
        z = (u[..., :half] + 1j * u[..., half:]) * np.exp(1j * pos * inv)
        return np.concatenate([z.real, z.imag], axis=-1)

    logits, hs = [], []
    for pos, tok in enumerate(ids):
        x = W["model.embed_tokens.weight"][tok].copy()
        h_pos = [x]
        for i in range(L):
            p = f"model.layers.{i}."
            a = _np_rms(x, W[p + "input_layernorm.weight"], eps)
            q = rope(lin(a, p + "self_attn.q_proj").reshape(H, Dh), pos)
            k = rope(lin(a, p + "self_attn.k_proj").reshape(KV, Dh), pos)
            v = lin(a, p + "self_attn.v_proj").reshape(KV, Dh)
            kc[i].append(k)
            vc[i].append(v)
            Kr = np.repeat(np.stack(kc[i]), H // KV, axis=1)    # [pos+1, H, Dh]
            Vr = np.repeat(np.stack(vc[i]), H // KV, axis=1)
            keys = [t for t in range(pos + 1) if window is None or pos - t < window]
            ctx = np.zeros((H, Dh))
            for h in range(H):
                sc = np.array([q[h].dot(Kr[t, h]) for t in keys]) / math.sqrt(Dh)
                e = np.exp(sc - sc.max())
                e /= e.sum()
                ctx[h] = sum(w * Vr[t, h] for w, t in zip(e, keys))
            x = x + lin(ctx.ravel(), p + "self_attn.o_proj")
            a = _np_rms(x, W[p + "post_attention_layernorm.weight"], eps)
            g = lin(a, p + "mlp.gate_proj")
            x = x + lin(g / (1 + np.exp(-g)) * lin(a, p + "mlp.up_proj"), p + "mlp.down_proj")
            h_pos.append(x)
        xf = _np_rms(x, W["model.norm.weight"], eps)
        h_pos[-1] = xf
        hs.append(np.stack(h_pos))
        logits.append(head.dot(xf))
    return np.stack(logits), np.stack(hs, axis=1)


def repeat_kv_weights(W, cfg):
    """The same model with num_key_value_heads = num_attention_heads: k/v
    projection rows (and biases) of each kv head repeated n_rep times."""
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    Dh = cfg["hidden_size"] // H
    W2 = dict(W)
    for name in list(W):
        if ".self_attn.k_proj." in name or ".self_attn.v_proj." in name:
            w = W[name]
            w = w.reshape((KV, Dh) + w.shape[1:])
            W2[name] = np.repeat(w, H // KV, axis=0).reshape((H * Dh,) + w.shape[2:])
    cfg2 = dict(cfg, num_key_value_heads=H)
    return W2, cfg2


# --------------------------------------------------------------------------
# llama2.c (Meta layout: interleaved RoPE)
# --------------------------------------------------------------------------


def l2c_rope_cos_sin(T, Dh, theta, dt):
    """llama2.c model.py precompute_freqs_cis, [T, Dh/2] each:
    freqs = 1 / (theta ** (arange(0, Dh, 2)[:Dh//2].float() / Dh)); outer(t, freqs)."""
    freqs = 1.0 / (theta ** (torch.arange(0, Dh, 2)[: Dh // 2].to(dt) / Dh))
    t = torch.arange(T).to(dt)
    ang = torch.outer(t, freqs)
    return torch.cos(ang), torch.sin(ang)


def torch_llama2c(Wc, p, ids, dt):
    """Wc: llama2.c arrays (float64 numpy) keyed token_embedding_table,
    rms_att_weight, wq, wk, wv, wo, rms_ffn_weight, w1, w2, w3,
    rms_final_weight, wcls (if untied). p: dim, hidden_dim, n_layers, n_heads,
    n_kv_heads, vocab_size, seq_len, norm_eps, theta."""
    D, H, KV, L = p["dim"], p["n_heads"], p["n_kv_heads"], p["n_layers"]
    Dh = D // H
    n_rep = H // KV
    eps = p["norm_eps"]
    ids_t = torch.as_tensor(ids, dtype=torch.int64)
    T = ids_t.shape[0]
    cos, sin = l2c_rope_cos_sin(T, Dh, p["theta"], dt)     # [T, Dh/2]

    def w(name):
        return torch.from_numpy(Wc[name]).to(dt)

    def rope(u):   # u [n, T, Dh]: rotate pairs (2j, 2j+1) by pos * freq_j
        u2 = u.reshape(u.shape[0], T, Dh // 2, 2)
        a, b = u2[..., 0], u2[..., 1]
        return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).reshape(u.shape)

    allowed = window_allowed(T, None)
    x = w("token_embedding_table")[ids_t]
    outs = [x]
    for l in range(L):
        a = t_rms_norm(x, w("rms_att_weight")[l], eps)
        q = rope((a @ w("wq")[l].T).reshape(T, H, Dh).transpose(0, 1))
        k = rope((a @ w("wk")[l].T).reshape(T, KV, Dh).transpose(0, 1))
        v = (a @ w("wv")[l].T).reshape(T, KV, Dh).transpose(0, 1)
        s = (q.reshape(KV, n_rep, T, Dh) @ k[:, None].transpose(-1, -2)) / math.sqrt(Dh)
        s = s.masked_fill(~allowed, float("-inf"))
        ctx = (stable_softmax(s) @ v[:, None]).reshape(H, T, Dh).transpose(0, 1).reshape(T, D)
        x = x + ctx @ w("wo")[l].T
        a = t_rms_norm(x, w("rms_ffn_weight")[l], eps)
        x = x + (torch.nn.functional.silu(a @ w("w1")[l].T) * (a @ w("w3")[l].T)) @ w("w2")[l].T
        outs.append(x)
    xf = t_rms_norm(x, w("rms_final_weight"), eps)
    hs = torch.stack(outs[:-1] + [xf])
    cls = w("wcls") if "wcls" in Wc else w("token_embedding_table")
    return (xf @ cls.T).numpy(), hs.numpy()


def np_llama2c_runc(Wc, p, ids):
    """A transcription of run.c's forward() (one token at a time, KV cache,
    RoPE loop over i in 0..dim step 2 with head_dim = i % head_size), float64."""
    D, H, KV, L = p["dim"], p["n_heads"], p["n_kv_heads"], p["n_layers"]
    hs_ = D // H
    kv_dim = D * KV // H
    kv_mul = H // KV
    eps = p["norm_eps"]
    kc = np.zeros((L, len(ids), kv_dim))
    vc = np.zeros((L, len(ids), kv_dim))
    cls = Wc.get("wcls", Wc["token_embedding_table"])
    out = []
    for pos, tok in enumerate(ids):
        x = Wc["token_embedding_table"][tok].copy()
        for l in range(L):
            xb = _np_rms(x, Wc["rms_att_weight"][l], eps)
            q = Wc["wq"][l].dot(xb)
            k = Wc["wk"][l].dot(xb)
            v = Wc["wv"][l].dot(xb)
            for i in range(0, D, 2):
                head_dim = i % hs_
                freq = 1.0 / p["theta"] ** (head_dim / hs_)
                val = pos * freq
                fcr, fci = math.cos(val), math.sin(val)
                for vec in ((q, k) if i < kv_dim else (q,)):
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i] = v0 * fcr - v1 * fci
                    vec[i + 1] = v0 * fci + v1 * fcr
            kc[l, pos] = k
            vc[l, pos] = v
            xb = np.zeros(D)
            for h in range(H):
                qh = q[h * hs_:(h + 1) * hs_]
                kvh = (h // kv_mul) * hs_
                att = np.array([qh.dot(kc[l, t, kvh:kvh + hs_]) / math.sqrt(hs_) for t in range(pos + 1)])
                att = np.exp(att - att.max())
                att /= att.sum()
                for t in range(pos + 1):
                    xb[h * hs_:(h + 1) * hs_] += att[t] * vc[l, t, kvh:kvh + hs_]
            x = x + Wc["wo"][l].dot(xb)
            xb = _np_rms(x, Wc["rms_ffn_weight"][l], eps)
            hb = Wc["w1"][l].dot(xb)
            hb2 = Wc["w3"][l].dot(xb)
            hb = hb * (1.0 / (1.0 + np.exp(-hb))) * hb2
            x = x + Wc["w2"][l].dot(hb)
        x = _np_rms(x, Wc["rms_final_weight"], eps)
        out.append(cls.dot(x))
    return np.stack(out)


def meta_to_hf_permute(w, n_heads):
    """convert_llama_weights_to_hf.py permute(): Meta (interleaved pairs) rows
    -> HF (rotate_half) rows for a q or k projection [n_heads*Dh, D]."""
    dim1, dim2 = w.shape
    return w.reshape(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(0, 2, 1, 3).reshape(dim1, dim2)


def llama2c_to_hf(Wc, p):
    """llama2.c arrays -> HF Llama state dict (q/k rows permuted) + config."""
    L = p["n_layers"]
    W = {"model.embed_tokens.weight": Wc["token_embedding_table"], "model.norm.weight": Wc["rms_final_weight"]}
    if "wcls" in Wc:
        W["lm_head.weight"] = Wc["wcls"]
    for l in range(L):
        q = f"model.layers.{l}."
        W[q + "input_layernorm.weight"] = Wc["rms_att_weight"][l]
        W[q + "post_attention_layernorm.weight"] = Wc["rms_ffn_weight"][l]
        W[q + "self_attn.q_proj.weight"] = meta_to_hf_permute(Wc["wq"][l], p["n_heads"])
        W[q + "self_attn.k_proj.weight"] = meta_to_hf_permute(Wc["wk"][l], p["n_kv_heads"])
        W[q + "self_attn.v_proj.weight"] = Wc["wv"][l]
        W[q + "self_attn.o_proj.weight"] = Wc["wo"][l]
        W[q + "mlp.gate_proj.weight"] = Wc["w1"][l]
        W[q + "mlp.down_proj.weight"] = Wc["w2"][l]
        W[q + "mlp.up_proj.weight"] = Wc["w3"][l]
    cfg = {"hidden_size": p["dim"], "num_attention_heads": p["n_heads"], "num_key_value_heads": p["n_kv_heads"],
           "num_hidden_layers": L, "rms_norm_eps": p["norm_eps"], "rope_theta": p["theta"]}
    return W, cfg


L2C_ORDER = ["token_embedding_table", "rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight",
             "w1", "w2", "w3", "rms_final_weight", "freq_cis_real", "freq_cis_imag"]


def llama2c_serialize(p, arrays):
    """Legacy llama2.c checkpoint (export.py legacy_export / run.c
    read_checkpoint): 7 x int32 header, then float32 arrays in L2C_ORDER,
    then wcls when untied (header vocab_size negative)."""
    shared = "wcls" not in arrays
    vocab = p["vocab_size"] if shared else -p["vocab_size"]
    out = [struct.pack("<7i", p["dim"], p["hidden_dim"], p["n_layers"], p["n_heads"], p["n_kv_heads"],
                       vocab, p["seq_len"])]
    for name in L2C_ORDER + ([] if shared else ["wcls"]):
        a = arrays[name]
        assert a.dtype == np.float32
        out.append(np.ascontiguousarray(a, dtype="<f4").tobytes())
    return b"".join(out)


def llama2c_parse(buf):
    """Reader following run.c memory_map_weights pointer arithmetic."""
    dim, hidden, L, H, KV, vocab, seq = struct.unpack("<7i", buf[:28])
    shared = vocab > 0
    V = abs(vocab)
    hs_ = dim // H
    f = np.frombuffer(buf, dtype="<f4", offset=28)
    ptr = 0
    res = {}

    def take(name, shape):
        nonlocal ptr
        n = int(np.prod(shape))
        res[name] = f[ptr:ptr + n].reshape(shape).copy()
        ptr += n
    take("token_embedding_table", (V, dim))
    take("rms_att_weight", (L, dim))
    take("wq", (L, H * hs_, dim))   # run.c: n_layers * dim * (n_heads * head_size), rows = outputs
    take("wk", (L, KV * hs_, dim))
    take("wv", (L, KV * hs_, dim))
    take("wo", (L, dim, H * hs_))
    take("rms_ffn_weight", (L, dim))
    take("w1", (L, hidden, dim))
    take("w2", (L, dim, hidden))
    take("w3", (L, hidden, dim))
    take("rms_final_weight", (dim,))
    take("freq_cis_real", (seq, hs_ // 2))
    take("freq_cis_imag", (seq, hs_ // 2))
    if not shared:
        take("wcls", (V, dim))
    assert ptr == f.size, (ptr, f.size)
    hdr = dict(dim=dim, hidden_dim=hidden, n_layers=L, n_heads=H, n_kv_heads=KV, vocab_size=vocab, seq_len=seq)
    return hdr, res
