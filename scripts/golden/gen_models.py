#!/usr/bin/env python3
"""Generate golden files for whole models (GPT-2, BERT, Llama, Qwen2, Mistral,
llama2.c) with tiny random weights.

Run from the repository root with Debian's Python (it has torch):

    /usr/bin/python3 scripts/golden/gen_models.py

Writes testdata/golden/models/<case>/ (config.json, model.safetensors or a
sharded set or a llama2.c model.bin, expected.safetensors); see CASES below
and the "Model golden files" section of scripts/golden/README.md.  The
references are in models_ref.py.  Output is deterministic (fixed seeds, one
thread): running the script twice gives byte-identical files.
"""

import json
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep scripts/golden free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models_ref as R  # noqa: E402
import st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO, "testdata", "golden", "models")

F32_VS_F64_TOL = 1e-5   # relative L2, torch float32 vs torch float64
REF_TOL = 1e-12         # relative L2 between two float64 implementations
MAX_TOTAL = 1_500_000

CHECKS = []     # (case, check, value, tolerance or None)
SUMMARY = []    # (case, output, max_abs, rel_l2)


def check(case, what, value, tol):
    CHECKS.append((case, what, value, tol))
    if tol is not None and not value <= tol:
        raise AssertionError(f"{case}: {what} = {value:.3e} > {tol:.1e}")


def check_true(case, what, cond):
    CHECKS.append((case, what, "ok" if cond else "FAILED", None))
    if not cond:
        raise AssertionError(f"{case}: {what} failed")


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------
CASES = [
    dict(name="gpt2", arch="gpt2", seed=101, V=101, D=32, L=2, H=4, P=32, T=9, n_inner=None,
         storage="F32", legacy="F32"),
    dict(name="gpt2_f16", arch="gpt2", seed=102, V=97, D=32, L=2, H=2, P=32, T=10, n_inner=128,
         storage="F16", legacy="BOOL"),
    dict(name="bert", arch="bert", seed=103, V=113, D=32, L=2, H=2, I=64, P=40, B=2, T=12, lengths=[12, 8]),
    dict(name="llama", arch="llama", seed=104, V=109, D=48, L=2, H=4, KV=2, I=64, T=10, theta=10000.0,
         eps=1e-5, tied=False, storage="F32"),
    dict(name="llama_bf16_tied", arch="llama", seed=105, V=127, D=32, L=2, H=4, KV=2, I=64, T=13,
         theta=500000.0, eps=1e-5, tied=True, storage="BF16"),
    dict(name="qwen2", arch="qwen2", seed=106, V=131, D=48, L=2, H=3, KV=1, I=64, T=12, theta=1000000.0,
         eps=1e-6, tied=False, storage="F32"),
    dict(name="mistral", arch="mistral", seed=107, V=103, D=32, L=2, H=4, KV=2, I=64, T=11, theta=10000.0,
         eps=1e-5, tied=False, storage="F32", window=4),
    dict(name="llama_sharded", arch="llama", seed=104, V=109, D=48, L=2, H=4, KV=2, I=64, T=10,
         theta=10000.0, eps=1e-5, tied=False, storage="F32", sharded=True),
    dict(name="llama2c", arch="llama2c", seed=109, V=97, D=32, L=2, H=4, KV=2, I=64, T=10, seq_len=16,
         tied=False),
    dict(name="llama2c_tied", arch="llama2c", seed=110, V=100, D=24, L=2, H=2, KV=2, I=56, T=9, seq_len=16,
         tied=True),
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
class Init:
    """Seeded float32 parameter draws (order of calls fixes the values)."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def randn(self, shape, scale=1.0, shift=0.0):
        x = torch.randn(tuple(shape), generator=self.g, dtype=torch.float32) * scale + shift
        return x.numpy().copy()

    def lin(self, out_f, in_f):            # nn.Linear layout [out, in]
        return self.randn((out_f, in_f), in_f ** -0.5)

    def bias(self, n, scale=0.1):
        return self.randn((n,), scale)

    def norm_w(self, n):
        return self.randn((n,), 0.1, 1.0)

    def norm_b(self, n):
        return self.randn((n,), 0.1)

    def ints(self, lo, hi, shape):
        return torch.randint(lo, hi, tuple(shape), generator=self.g, dtype=torch.int64).numpy().copy()


def store(weights, storage):
    """float32 master weights -> (stored tensors, float64 values of the stored tensors)."""
    stored, w64 = {}, {}
    for k, w in weights.items():
        if storage == "F32":
            s = w.astype(np.float32)
        elif storage == "F16":
            s = w.astype(np.float16)
            assert s.tobytes() == torch.from_numpy(w).half().numpy().tobytes(), k  # numpy RNE == torch
        elif storage == "BF16":
            s = R.BF16(R.f32_to_bf16_bits(w))
            tb = torch.from_numpy(w).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
            assert s.bits.tobytes() == tb.tobytes(), k                             # our RNE == torch
        else:
            raise ValueError(storage)
        stored[k] = s
        w64[k] = R.as_f64(s)
    return stored, w64


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, sort_keys=True, indent=2) + "\n")


def save_st(path, tensors, meta):
    """Write, read back, compare bit for bit; non-BF16 files also via st.load."""
    data = R.save(path, tensors, meta)
    with open(path, "rb") as f:
        buf = f.read()
    assert buf == data
    rt, rmeta = R.parse(buf)
    assert rmeta == meta and sorted(rt) == sorted(tensors), path
    for k, v in tensors.items():
        assert R.same_tensor(rt[k], v if isinstance(v, R.BF16) else np.asarray(v)), (path, k)
    if not any(isinstance(v, R.BF16) for v in tensors.values()):
        rt2, rmeta2 = st.load(path)
        assert rmeta2 == meta
        for k, v in tensors.items():
            assert R.same_tensor(rt2[k], np.asarray(v)), (path, k)
    return len(data)


def f32_vs_f64(case, out, a32, a64):
    ma, rl = R.max_abs(a32, a64), R.rel_l2(a32, a64)
    check(case, f"{out}: float32 vs float64 rel L2", rl, F32_VS_F64_TOL)
    SUMMARY.append((case, out, ma, rl))
    return ma, rl


def decoder_expected(c, ids, l32, h32, l64, h64, note, extra=None):
    name = c["name"]
    f32_vs_f64(name, "logits", l32, l64)
    f32_vs_f64(name, "hidden_states", h32, h64)
    T, V, L = c["T"], c["V"], c["L"]
    assert l32.shape == (T, V) and h32.shape == (L + 1, T, c["D"]), (l32.shape, h32.shape)
    meta = {
        "note": note,
        "hidden_states": "index 0 = embedding output; index l (1..L-1) = output of block l; "
                         "index L = final norm applied to the output of block L",
        "logits_f32_vs_f64_max_abs": "%.3e" % R.max_abs(l32, l64),
        "logits_f32_vs_f64_rel_l2": "%.3e" % R.rel_l2(l32, l64),
        "torch_version": torch.__version__,
    }
    meta.update(extra or {})
    tensors = {"input_ids": np.asarray(ids, dtype=np.int64),
               "logits": l32.astype(np.float32), "logits_f64": l64.astype(np.float64),
               "hidden_states": h32.astype(np.float32), "hidden_states_f64": h64.astype(np.float64)}
    return save_st(os.path.join(OUT_DIR, name, "expected.safetensors"), tensors, meta)


def model_meta(note):
    return {"format": "pt", "note": note}


# --------------------------------------------------------------------------
# GPT-2
# --------------------------------------------------------------------------
def gen_gpt2(c):
    name, V, D, L, H, P = c["name"], c["V"], c["D"], c["L"], c["H"], c["P"]
    I = c["n_inner"] or 4 * D
    assert I == 4 * D   # c_fc is [D, 4D] in every case
    ini = Init(c["seed"])
    w = {"transformer.wte.weight": ini.randn((V, D)), "transformer.wpe.weight": ini.randn((P, D), 0.3)}
    for i in range(L):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = ini.norm_w(D)
        w[p + "ln_1.bias"] = ini.norm_b(D)
        w[p + "attn.c_attn.weight"] = ini.lin(3 * D, D).T.copy()     # Conv1D: [in, out]
        w[p + "attn.c_attn.bias"] = ini.bias(3 * D)
        w[p + "attn.c_proj.weight"] = ini.lin(D, D).T.copy()
        w[p + "attn.c_proj.bias"] = ini.bias(D)
        w[p + "ln_2.weight"] = ini.norm_w(D)
        w[p + "ln_2.bias"] = ini.norm_b(D)
        w[p + "mlp.c_fc.weight"] = ini.lin(I, D).T.copy()
        w[p + "mlp.c_fc.bias"] = ini.bias(I)
        w[p + "mlp.c_proj.weight"] = ini.lin(D, I).T.copy()
        w[p + "mlp.c_proj.bias"] = ini.bias(D)
    w["transformer.ln_f.weight"] = ini.norm_w(D)
    w["transformer.ln_f.bias"] = ini.norm_b(D)
    ids = ini.ints(0, V, (c["T"],))

    stored, W = store(w, c["storage"])
    dtype_name = {"F32": "float32", "F16": "float16"}[c["storage"]]
    cfg = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.0,
           "bos_token_id": V - 1, "embd_pdrop": 0.0, "eos_token_id": V - 1, "initializer_range": 0.02,
           "layer_norm_epsilon": 1e-5, "model_type": "gpt2", "n_ctx": P, "n_embd": D, "n_head": H,
           "n_inner": c["n_inner"], "n_layer": L, "n_positions": P, "resid_pdrop": 0.0,
           "scale_attn_weights": True, "tie_word_embeddings": True, "torch_dtype": dtype_name,
           "vocab_size": V}
    os.makedirs(os.path.join(OUT_DIR, name), exist_ok=True)
    write_json(os.path.join(OUT_DIR, name, "config.json"), cfg)

    # legacy buffers of old HF checkpoints (masks, not parameters)
    tril = np.tril(np.ones((P, P)))[None, None]
    for i in range(L):
        p = f"transformer.h.{i}.attn."
        if c["legacy"] == "F32":
            stored[p + "bias"] = tril.astype(np.float32)
            stored[p + "masked_bias"] = np.array(-1e4, dtype=np.float32)
        else:
            stored[p + "bias"] = tril.astype(bool)
            stored[p + "masked_bias"] = np.array(-1e4, dtype=np.float16)
    note = (f"GPT-2 (GPT2LMHeadModel, tied head, gelu_new, pre-LN) with random weights stored as "
            f"{c['storage']}; includes legacy buffers transformer.h.*.attn.bias ({c['legacy']} "
            f"lower-triangular [1,1,{P},{P}]) and attn.masked_bias (scalar -1e4): causal-mask buffers, "
            f"not parameters")
    size = save_st(os.path.join(OUT_DIR, name, "model.safetensors"), stored, model_meta(note))

    l32, h32 = R.torch_gpt2(W, cfg, ids, torch.float32)
    l64, h64 = R.torch_gpt2(W, cfg, ids, torch.float64)
    nl, nh = R.np_gpt2_stepwise(W, cfg, ids)
    check(name, "torch Conv1D ref f64 vs numpy token-by-token per-head ref: logits", R.rel_l2(l64, nl), REF_TOL)
    check(name, "torch Conv1D ref f64 vs numpy token-by-token per-head ref: hidden_states",
          R.rel_l2(h64, nh), REF_TOL)
    ml = R.torch_modules_gpt2(W, cfg, ids)
    check(name, "torch ref f64 vs nn.MultiheadAttention/F.layer_norm/F.gelu(tanh) model: logits",
          R.rel_l2(l64, ml), REF_TOL)
    note_e = (f"GPT-2 reference outputs: input_ids [{c['T']}], logits [T,V] (ln_f(h) @ wte^T), "
              f"hidden_states [L+1,T,D]; weights = stored {c['storage']} values upcast exactly")
    size += decoder_expected(c, ids, l32, h32, l64, h64, note_e)
    return size


# --------------------------------------------------------------------------
# BERT
# --------------------------------------------------------------------------
def gen_bert(c):
    name, V, D, L, H, I, P, B, T = (c[k] for k in ("name", "V", "D", "L", "H", "I", "P", "B", "T"))
    ini = Init(c["seed"])
    w = {"embeddings.word_embeddings.weight": ini.randn((V, D)),
         "embeddings.position_embeddings.weight": ini.randn((P, D), 0.3),
         "embeddings.token_type_embeddings.weight": ini.randn((2, D), 0.5),
         "embeddings.LayerNorm.weight": ini.norm_w(D), "embeddings.LayerNorm.bias": ini.norm_b(D)}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n in ("query", "key", "value"):
            w[p + f"attention.self.{n}.weight"] = ini.lin(D, D)
            w[p + f"attention.self.{n}.bias"] = ini.bias(D)
        w[p + "attention.output.dense.weight"] = ini.lin(D, D)
        w[p + "attention.output.dense.bias"] = ini.bias(D)
        w[p + "attention.output.LayerNorm.weight"] = ini.norm_w(D)
        w[p + "attention.output.LayerNorm.bias"] = ini.norm_b(D)
        w[p + "intermediate.dense.weight"] = ini.lin(I, D)
        w[p + "intermediate.dense.bias"] = ini.bias(I)
        w[p + "output.dense.weight"] = ini.lin(D, I)
        w[p + "output.dense.bias"] = ini.bias(D)
        w[p + "output.LayerNorm.weight"] = ini.norm_w(D)
        w[p + "output.LayerNorm.bias"] = ini.norm_b(D)
    w["pooler.dense.weight"] = ini.lin(D, D)
    w["pooler.dense.bias"] = ini.bias(D)
    pad = 0
    ids = ini.ints(1, V, (B, T))                 # real tokens avoid pad_token_id
    mask = np.zeros((B, T), dtype=np.int64)
    tt = np.zeros((B, T), dtype=np.int64)
    for b, n in enumerate(c["lengths"]):
        mask[b, :n] = 1
        ids[b, n:] = pad
        tt[b, (n + 1) // 2:n] = 1              # segment A then segment B, padding has type 0
    assert mask[1].sum() < T and (tt == 1).any() and (tt[mask == 1] == 0).any()

    stored, W = store(w, "F32")
    cfg = {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.0, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.0, "hidden_size": D, "initializer_range": 0.02, "intermediate_size": I,
           "layer_norm_eps": 1e-12, "max_position_embeddings": P, "model_type": "bert",
           "num_attention_heads": H, "num_hidden_layers": L, "pad_token_id": pad,
           "position_embedding_type": "absolute", "torch_dtype": "float32", "type_vocab_size": 2,
           "vocab_size": V}
    os.makedirs(os.path.join(OUT_DIR, name), exist_ok=True)
    write_json(os.path.join(OUT_DIR, name, "config.json"), cfg)
    note = "BERT (BertModel, no 'bert.' prefix, post-LN, erf GELU, tanh pooler) with random F32 weights"
    size = save_st(os.path.join(OUT_DIR, name, "model.safetensors"), stored, model_meta(note))

    o32 = R.torch_bert(W, cfg, ids, tt, mask, torch.float32)
    o64 = R.torch_bert(W, cfg, ids, tt, mask, torch.float64)
    for k in ("last_hidden_state", "pooler_output", "sentence_embedding", "hidden_states"):
        f32_vs_f64(name, k, o32[k], o64[k])
    # the same restricted to non-padded rows
    valid = mask == 1
    check(name, "last_hidden_state non-padded rows: float32 vs float64 rel L2",
          R.rel_l2(o32["last_hidden_state"][valid], o64["last_hidden_state"][valid]), F32_VS_F64_TOL)
    check_true(name, "last_hidden_state == hidden_states[L] (f32, bitwise)",
               np.array_equal(o32["last_hidden_state"], o32["hidden_states"][L]))
    nh, npool = R.np_bert(W, cfg, ids, tt, mask)
    check(name, "torch ref f64 (additive finfo.min mask) vs numpy loops (padded keys skipped): all rows",
          R.rel_l2(o64["last_hidden_state"], nh), REF_TOL)
    check(name, "torch ref f64 vs numpy loops: pooler_output", R.rel_l2(o64["pooler_output"], npool), REF_TOL)
    mh = R.torch_modules_bert(W, cfg, ids, tt, mask)
    check(name, "torch ref f64 vs nn.TransformerEncoderLayer (post-LN, gelu, bool key padding): all rows",
          R.rel_l2(o64["last_hidden_state"], mh), REF_TOL)
    sent_np = np.stack([nh[b][mask[b] == 1].mean(axis=0) for b in range(B)])
    check(name, "sentence_embedding vs masked mean of numpy ref", R.rel_l2(o64["sentence_embedding"], sent_np),
          REF_TOL)

    meta = {
        "note": (f"BERT reference outputs, B={B} T={T}, row 1 padded after position {c['lengths'][1]} "
                 f"(input_ids = pad_token_id 0, attention_mask 0, token_type_ids 0); padded keys get "
                 f"(1-mask)*finfo(dtype).min added to the scores as HF does; padded query rows are "
                 f"computed normally (HF values, not zeroed)"),
        "hidden_states": "index 0 = embeddings after LayerNorm; index l = output of encoder layer l "
                         "(index L == last_hidden_state)",
        "sentence_embedding": "mean of last_hidden_state over positions with attention_mask == 1",
        "last_hidden_state_f32_vs_f64_max_abs": "%.3e" % R.max_abs(o32["last_hidden_state"],
                                                                   o64["last_hidden_state"]),
        "last_hidden_state_f32_vs_f64_rel_l2": "%.3e" % R.rel_l2(o32["last_hidden_state"],
                                                                 o64["last_hidden_state"]),
        "torch_version": torch.__version__,
    }
    tensors = {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask}
    for k in ("last_hidden_state", "pooler_output", "sentence_embedding", "hidden_states"):
        tensors[k] = o32[k].astype(np.float32)
        tensors[k + "_f64"] = o64[k].astype(np.float64)
    size += save_st(os.path.join(OUT_DIR, name, "expected.safetensors"), tensors, meta)
    return size


# --------------------------------------------------------------------------
# Llama / Qwen2 / Mistral
# --------------------------------------------------------------------------
def llama_weights(c, ini):
    V, D, L, H, KV, I = (c[k] for k in ("V", "D", "L", "H", "KV", "I"))
    Dh = D // H
    qkv_bias = c["arch"] == "qwen2"
    w = {"model.embed_tokens.weight": ini.randn((V, D))}
    for i in range(L):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = ini.norm_w(D)
        for n, rows in (("q", H * Dh), ("k", KV * Dh), ("v", KV * Dh)):
            w[p + f"self_attn.{n}_proj.weight"] = ini.lin(rows, D)
            if qkv_bias:
                w[p + f"self_attn.{n}_proj.bias"] = ini.bias(rows, 0.3)
        w[p + "self_attn.o_proj.weight"] = ini.lin(D, H * Dh)
        w[p + "post_attention_layernorm.weight"] = ini.norm_w(D)
        w[p + "mlp.gate_proj.weight"] = ini.lin(I, D)
        w[p + "mlp.up_proj.weight"] = ini.lin(I, D)
        w[p + "mlp.down_proj.weight"] = ini.lin(D, I)
    w["model.norm.weight"] = ini.norm_w(D)
    if not c["tied"]:
        w["lm_head.weight"] = ini.randn((V, D), 0.5)
    return w


def llama_config(c):
    V, D, L, H, KV, I = (c[k] for k in ("V", "D", "L", "H", "KV", "I"))
    arch = c["arch"]
    cfg = {"architectures": [{"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM",
                              "mistral": "MistralForCausalLM"}[arch]],
           "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
           "hidden_size": D, "initializer_range": 0.02, "intermediate_size": I, "max_position_embeddings": 64,
           "model_type": arch, "num_attention_heads": H, "num_hidden_layers": L, "num_key_value_heads": KV,
           "rms_norm_eps": c["eps"], "rope_theta": c["theta"], "tie_word_embeddings": c["tied"],
           "torch_dtype": {"F32": "float32", "BF16": "bfloat16"}[c["storage"]], "use_cache": True,
           "vocab_size": V}
    if arch == "llama":
        cfg.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1, "rope_scaling": None})
    elif arch == "qwen2":
        # as in released Qwen2 configs: a sliding_window value that is switched off
        cfg.update({"max_window_layers": L, "sliding_window": 32768, "use_sliding_window": False})
    elif arch == "mistral":
        cfg.update({"sliding_window": c["window"]})
    return cfg


def gen_llama(c):
    name, V, D, L, H, KV, T = (c[k] for k in ("name", "V", "D", "L", "H", "KV", "T"))
    ini = Init(c["seed"])
    w = llama_weights(c, ini)
    ids = ini.ints(0, V, (T,))
    stored, W = store(w, c["storage"])
    cfg = llama_config(c)
    window = c.get("window")
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)
    write_json(os.path.join(folder, "config.json"), cfg)

    desc = {"llama": "Llama (LlamaForCausalLM: RMSNorm, rotate_half RoPE, GQA, SwiGLU)",
            "qwen2": "Qwen2 (Qwen2ForCausalLM: Llama + q/k/v biases)",
            "mistral": f"Mistral (MistralForCausalLM: Llama + sliding_window={window})"}[c["arch"]]
    note = (f"{desc}, {H} heads / {KV} kv heads, rope_theta={c['theta']:g}, "
            f"{'tied' if c['tied'] else 'untied'} head, random weights stored as {c['storage']}")
    size = 0
    if c.get("sharded"):
        first = [k for k in stored if k == "model.embed_tokens.weight" or k.startswith("model.layers.0.")]
        files = {"model-00001-of-00002.safetensors": {k: stored[k] for k in first},
                 "model-00002-of-00002.safetensors": {k: v for k, v in stored.items() if k not in first}}
        weight_map = {}
        for fn, part in files.items():
            size += save_st(os.path.join(folder, fn), part, model_meta(note + f"; shard {fn}"))
            weight_map.update({k: fn for k in part})
        total = sum(R.nbytes(v) for v in stored.values())
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        write_json(os.path.join(folder, "model.safetensors.index.json"), index)
        size += os.path.getsize(os.path.join(folder, "model.safetensors.index.json"))
        # the union of the shards is the unsharded case's model.safetensors
        ref = os.path.join(OUT_DIR, "llama", "model.safetensors")
        if os.path.exists(ref):
            rt, _ = st.load(ref)
            merged = {}
            for fn in files:
                merged.update(st.load(os.path.join(folder, fn))[0])
            check_true(name, "union of shards == llama/model.safetensors (bitwise)",
                       sorted(rt) == sorted(merged) and all(R.same_tensor(rt[k], merged[k]) for k in rt))
    else:
        size += save_st(os.path.join(folder, "model.safetensors"), stored, model_meta(note))

    l32, h32 = R.torch_llama(W, cfg, ids, torch.float32, window)
    l64, h64 = R.torch_llama(W, cfg, ids, torch.float64, window)
    cs32 = R.hf_rope_cos_sin(T, D // H, c["theta"], torch.float32)
    cs64 = R.hf_rope_cos_sin(T, D // H, c["theta"], torch.float64)
    CHECKS.append((name, "HF float32 RoPE cos/sin (as used for logits) vs float64 cos/sin: max abs",
                   max(R.max_abs(cs32[0].numpy(), cs64[0].numpy()), R.max_abs(cs32[1].numpy(), cs64[1].numpy())),
                   None))
    nl, nh = R.np_llama_stepwise(W, cfg, ids, window)
    check(name, "torch grouped-GQA ref f64 vs numpy token-by-token, K/V repeated, complex RoPE: logits",
          R.rel_l2(l64, nl), REF_TOL)
    check(name, "torch ref f64 vs numpy token-by-token ref: hidden_states", R.rel_l2(h64, nh), REF_TOL)
    if KV < H:
        W2, cfg2 = R.repeat_kv_weights(W, cfg)
        r64, _ = R.torch_llama(W2, cfg2, ids, torch.float64, window)
        r32, _ = R.torch_llama(W2, cfg2, ids, torch.float32, window)
        check(name, "GQA vs same model with K/V heads repeated (num_kv_heads=H): f64 logits rel L2",
              R.rel_l2(l64, r64), REF_TOL)
        check(name, "GQA vs K/V heads repeated: f32 logits rel L2", R.rel_l2(l32, r32), 1e-6)
    if window is not None:
        for wbig in (T, T + 5):
            a64, ah64 = R.torch_llama(W, cfg, ids, torch.float64, wbig)
            c64, ch64 = R.torch_llama(W, cfg, ids, torch.float64, None)
            a32, _ = R.torch_llama(W, cfg, ids, torch.float32, wbig)
            c32, _ = R.torch_llama(W, cfg, ids, torch.float32, None)
            check_true(name, f"sliding_window={wbig} >= T equals plain causal (f32 and f64, bitwise)",
                       np.array_equal(a64, c64) and np.array_equal(ah64, ch64) and np.array_equal(a32, c32))
        d = R.max_abs(l64, c64)
        first_diff = int(np.argmax(np.abs(l64 - c64).max(axis=1) > 0))
        CHECKS.append((name, f"window={window} vs plain causal: max abs logits diff "
                             f"(first differing position {first_diff}, expected {window})", d, None))
        check_true(name, "window matters: logits differ from plain causal from position `window` on",
                   d > 1e-3 and np.array_equal(l64[:window], c64[:window]) and first_diff == window)
        b64, _ = R.torch_llama(W, cfg, ids, torch.float64, window + 1)
        CHECKS.append((name, f"window={window} vs window={window + 1} (off-by-one convention): "
                             f"max abs logits diff", R.max_abs(l64, b64), None))
        check_true(name, "off-by-one window convention is distinguishable", R.max_abs(l64, b64) > 1e-3)

    note_e = (f"{desc} reference outputs: input_ids [{T}], logits [T,V], hidden_states [L+1,T,D]; "
              f"weights = stored {c['storage']} values upcast exactly")
    extra = {}
    if window is not None:
        extra["sliding_window"] = (f"query i attends to keys j with i - {window} < j <= i "
                                   f"(at most {window} keys, the query itself included)")
    size += decoder_expected(c, ids, l32, h32, l64, h64, note_e, extra)
    if c.get("sharded"):
        ref = os.path.join(OUT_DIR, "llama", "expected.safetensors")
        if os.path.exists(ref):
            a, _ = st.load(ref)
            b, _ = st.load(os.path.join(folder, "expected.safetensors"))
            check_true(name, "expected tensors == llama/expected.safetensors tensors (bitwise)",
                       sorted(a) == sorted(b) and all(R.same_tensor(a[k], b[k]) for k in a))
    return size


# --------------------------------------------------------------------------
# llama2.c
# --------------------------------------------------------------------------
def gen_llama2c(c):
    name, V, D, L, H, KV, I, T, S = (c[k] for k in ("name", "V", "D", "L", "H", "KV", "I", "T", "seq_len"))
    Dh = D // H
    kvD = KV * Dh
    ini = Init(c["seed"])
    a = {"token_embedding_table": ini.randn((V, D)),
         "rms_att_weight": ini.randn((L, D), 0.1, 1.0),
         "wq": ini.randn((L, D, D), D ** -0.5),
         "wk": ini.randn((L, kvD, D), D ** -0.5),
         "wv": ini.randn((L, kvD, D), D ** -0.5),
         "wo": ini.randn((L, D, D), D ** -0.5),
         "rms_ffn_weight": ini.randn((L, D), 0.1, 1.0),
         "w1": ini.randn((L, I, D), D ** -0.5),
         "w2": ini.randn((L, D, I), I ** -0.5),
         "w3": ini.randn((L, I, D), D ** -0.5),
         "rms_final_weight": ini.randn((D,), 0.1, 1.0)}
    if not c["tied"]:
        a["wcls"] = ini.randn((V, D), 0.5)
    ids = ini.ints(0, V, (T,))
    p = dict(dim=D, hidden_dim=I, n_layers=L, n_heads=H, n_kv_heads=KV, vocab_size=V, seq_len=S,
             norm_eps=1e-5, theta=10000.0)
    cos, sin = R.l2c_rope_cos_sin(S, Dh, p["theta"], torch.float32)
    a["freq_cis_real"] = cos.numpy().astype(np.float32)
    a["freq_cis_imag"] = sin.numpy().astype(np.float32)
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)
    blob = R.llama2c_serialize(p, a)
    path = os.path.join(folder, "model.bin")
    with open(path, "wb") as f:
        f.write(blob)
    with open(path, "rb") as f:
        hdr, back = R.llama2c_parse(f.read())
    check_true(name, "model.bin header (vocab_size %s) and arrays read back bitwise (run.c offsets)"
               % ("positive: shared classifier" if c["tied"] else "negative: wcls present"),
               hdr["vocab_size"] == (V if c["tied"] else -V) and sorted(back) == sorted(a)
               and all(R.same_tensor(back[k], a[k]) for k in a))
    size = len(blob)

    Wc = {k: v.astype(np.float64) for k, v in a.items() if not k.startswith("freq_cis")}
    l32, h32 = R.torch_llama2c(Wc, p, ids, torch.float32)
    l64, h64 = R.torch_llama2c(Wc, p, ids, torch.float64)
    rl = R.np_llama2c_runc(Wc, p, ids)
    check(name, "torch interleaved-RoPE ref f64 vs numpy transcription of run.c forward(): logits",
          R.rel_l2(l64, rl), REF_TOL)
    Whf, cfg_hf = R.llama2c_to_hf(Wc, p)
    hl, hh = R.torch_llama(Whf, cfg_hf, ids, torch.float64)
    check(name, "interleaved RoPE (Meta layout) == HF rotate_half RoPE after permuting q/k rows: logits f64",
          R.rel_l2(l64, hl), REF_TOL)
    check(name, "... and hidden_states f64", R.rel_l2(h64, hh), REF_TOL)
    ang = np.outer(np.arange(S), 1.0 / 10000.0 ** (np.arange(0, Dh, 2) / Dh))
    CHECKS.append((name, "stored freq_cis (float32) vs float64 cos/sin: max abs",
                   max(R.max_abs(a["freq_cis_real"], np.cos(ang)), R.max_abs(a["freq_cis_imag"], np.sin(ang))),
                   None))
    note_e = (f"llama2.c legacy checkpoint reference outputs ({'shared' if c['tied'] else 'separate wcls'} "
              f"classifier): dim={D} hidden_dim={I} n_layers={L} n_heads={H} n_kv_heads={KV} vocab={V} "
              f"seq_len={S}; interleaved RoPE (pairs 2i,2i+1, angle pos*10000^(-2i/head_size)), "
              f"RMSNorm eps 1e-5; input_ids [{T}], logits [T,V], hidden_states [L+1,T,D]")
    size += decoder_expected(c, ids, l32, h32, l64, h64, note_e,
                             {"llama2c_header": "dim=%d hidden_dim=%d n_layers=%d n_heads=%d n_kv_heads=%d "
                                                "vocab_size=%d seq_len=%d" % tuple(
                                                    hdr[k] for k in ("dim", "hidden_dim", "n_layers", "n_heads",
                                                                     "n_kv_heads", "vocab_size", "seq_len"))})
    return size


# --------------------------------------------------------------------------
def describe(folder):
    """One line per file: tensors with shapes/dtypes (for the log)."""
    lines = []
    for fn in sorted(os.listdir(folder)):
        path = os.path.join(folder, fn)
        if fn.endswith(".safetensors"):
            with open(path, "rb") as f:
                t, _ = R.parse(f.read())
            items = []
            for k in sorted(t):
                v = t[k]
                dt = "BF16" if isinstance(v, R.BF16) else st._st_dtype(v)
                items.append(f"{k}{list(v.shape)}:{dt}")
            lines.append(f"    {fn} ({os.path.getsize(path)} B): " + ", ".join(items))
        else:
            lines.append(f"    {fn} ({os.path.getsize(path)} B)")
    return "\n".join(lines)


def main():
    torch.set_num_threads(1)          # deterministic reductions
    torch.use_deterministic_algorithms(True)
    verbose = "-v" in sys.argv
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names)
    os.makedirs(OUT_DIR, exist_ok=True)
    gens = {"gpt2": gen_gpt2, "bert": gen_bert, "llama": gen_llama, "qwen2": gen_llama,
            "mistral": gen_llama, "llama2c": gen_llama2c}
    total = 0
    for c in CASES:
        size = gens[c["arch"]](c)
        total += size
        print(f"{c['name']:18s} {size:8d} B")
        if verbose:
            print(describe(os.path.join(OUT_DIR, c["name"])))
    stale = sorted(f for f in os.listdir(OUT_DIR) if f not in names)
    if stale:
        print("WARNING: entries not produced by this script:", ", ".join(stale))

    print("\nconsistency checks:")
    for case, what, value, tol in CHECKS:
        if "float32 vs float64" in what:
            continue
        v = value if isinstance(value, str) else f"{value:.3e}"
        t = "" if tol is None else f"  (tol {tol:.0e})"
        print(f"  {case:16s} {what}: {v}{t}")

    print("\nfloat32 vs float64 (torch, same weights):")
    print(f"  {'case':16s} {'output':20s} {'max abs':>10s} {'rel L2':>10s}")
    for case, out, ma, rl in SUMMARY:
        print(f"  {case:16s} {out:20s} {ma:10.3e} {rl:10.3e}")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n, f)) for n in names
                for f in os.listdir(os.path.join(OUT_DIR, n)))
    print(f"\n{len(CASES)} cases, total {total} bytes in all files ({total / 1e6:.2f} MB)")
    assert total <= MAX_TOTAL, total


if __name__ == "__main__":
    main()
