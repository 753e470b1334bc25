#!/usr/bin/env python3
"""Generate PyTorch golden files for the encoder-decoder Transformer (nn/transformer.go).

Run from the repository root with Debian's python (torch 1.13, numpy 1.24):

    /usr/bin/python3 scripts/golden/gen_transformer.py

Writes testdata/golden/transformer/<case>.safetensors (see CASES below and the
"Transformer golden files" section of scripts/golden/README.md for the file
contract), re-reads every file as a self-check and prints the checks' numbers
and the total size.  Output is deterministic: running the script twice gives
byte-identical files.

The model is the Go nn.Transformer: a shared embedding E [V,D] (scaled by
sqrt(D)) plus float32-rounded sinusoidal positions, torch.nn.TransformerEncoder /
TransformerDecoder layers (batch_first, ReLU, dropout 0), final LayerNorms only
for pre-LN (norm_first), tied output projection logits = dec_out @ E^T, and
F.cross_entropy(ignore_index=-1, label_smoothing, reduction="mean").
"""

import copy
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass
from typing import List

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as Fn

sys.dont_write_bytecode = True  # keep scripts/golden free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from golden_common import finish, rel_l2, save_verified, smoothed_ce  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO, "testdata", "golden", "transformer")

IGNORE = -1
PAD = 0
W_STD = 0.3          # matrices and the embedding: N(0, 0.3^2)
B_STD = 0.2          # biases and LayerNorm biases: N(0, 0.2^2); gains 1 + N(0, 0.2^2)
GRAD_TOL = 1e-4      # torch float32 vs float64 gradients, relative L2 per parameter
REF_TOL = 1e-10      # own plain-ops float64 model vs the nn.Transformer float64 one
MUT_MIN = 1e-4       # a deliberately wrong reference must miss by at least this (rel)
MAX_TOTAL = 1_000_000


@dataclass
class Case:
    name: str
    desc: str
    V: int
    D: int
    H: int
    F: int
    Le: int
    Ld: int
    norm_first: bool
    eps: float            # layer_norm_eps as written in the config (parsed to float32 by Go)
    smoothing: str        # label smoothing, decimal string (parsed to float32 by Go)
    src_len: List[int]
    S: int
    tgt_len: List[int]    # labels at positions >= tgt_len[b] are IGNORE (tgt_in there is PAD)
    T: int
    extra_ignore: List[tuple]  # (b, t) label positions also ignored inside the target
    seed: int
    max_len: int = 16


CASES = [
    Case("post_ln", "post-LN (paper) 2+2 layers, V13 D24 H4 (Dh 6) F48, B3 S7 src_len 7,4,2, T6, "
         "label_smoothing 0.1, no final norms",
         V=13, D=24, H=4, F=48, Le=2, Ld=2, norm_first=False, eps=1e-5, smoothing="0.1",
         src_len=[7, 4, 2], S=7, tgt_len=[6, 5, 3], T=6, extra_ignore=[(0, 2)], seed=101),
    Case("pre_ln", "pre-LN (norm_first) 2+2 layers with final encoder.norm/decoder.norm, V11 D16 H2 (Dh 8) F32, "
         "B3 S6 src_len 3,6,5, T5, label_smoothing 0, layer_norm_eps 1e-6",
         V=11, D=16, H=2, F=32, Le=2, Ld=2, norm_first=True, eps=1e-6, smoothing="0",
         src_len=[3, 6, 5], S=6, tgt_len=[5, 2, 4], T=5, extra_ignore=[], seed=202),
    Case("post_ln_one_layer", "post-LN 1+1 layers, single head, V12 D16 H1 F40, B1 S5 src_len 4, T4, "
         "label_smoothing 0.1",
         V=12, D=16, H=1, F=40, Le=1, Ld=1, norm_first=False, eps=1e-5, smoothing="0.1",
         src_len=[4], S=5, tgt_len=[3], T=4, extra_ignore=[], seed=303),
]


# --------------------------------------------------------------------------
# parameters, in the order of the Go constructor NewTransformer
# --------------------------------------------------------------------------
def param_specs(c):
    """[(name, shape, kind)] in nn.NewTransformer's order; kind: w | b | g (LayerNorm gain)."""
    D, F = c.D, c.F
    out = [("embedding.weight", (c.V, D), "w")]

    def attn(p):
        return [(p + ".in_proj_weight", (3 * D, D), "w"), (p + ".in_proj_bias", (3 * D,), "b"),
                (p + ".out_proj.weight", (D, D), "w"), (p + ".out_proj.bias", (D,), "b")]

    def ff(p):
        return [(p + ".linear1.weight", (F, D), "w"), (p + ".linear1.bias", (F,), "b"),
                (p + ".linear2.weight", (D, F), "w"), (p + ".linear2.bias", (D,), "b")]

    def ln(p):
        return [(p + ".weight", (D,), "g"), (p + ".bias", (D,), "b")]

    for i in range(c.Le):
        p = f"encoder.layers.{i}"
        out += attn(p + ".self_attn") + ff(p) + ln(p + ".norm1") + ln(p + ".norm2")
    for i in range(c.Ld):
        p = f"decoder.layers.{i}"
        out += (attn(p + ".self_attn") + attn(p + ".multihead_attn") + ff(p)
                + ln(p + ".norm1") + ln(p + ".norm2") + ln(p + ".norm3"))
    if c.norm_first:
        out += ln("encoder.norm") + ln("decoder.norm")
    return out


def draw_params(c, g):
    params = {}
    for name, shape, kind in param_specs(c):
        z = torch.randn(shape, generator=g, dtype=torch.float32)
        if kind == "w":
            v = z * W_STD
        elif kind == "b":
            v = z * B_STD
        else:
            v = 1.0 + z * B_STD
        params[name] = v.contiguous()
    return params


# --------------------------------------------------------------------------
# sinusoidal positions, exactly as nn.SinusoidalEncoding (float64, one rounding)
# --------------------------------------------------------------------------
def sinusoidal_go(T, D):
    """Transcription of nn/positional.go: angle = pos / pow(10000, (c - c%2)/D)."""
    pe = np.zeros((T, D), dtype=np.float32)
    for t in range(T):
        pos = float(t)
        for col in range(D):
            angle = pos / math.pow(10000.0, float(col - col % 2) / float(D))
            pe[t, col] = np.float32(math.sin(angle) if col % 2 == 0 else math.cos(angle))
    return pe


def sinusoidal_vec(T, D):
    """Independent vectorised version (the paper's formula), float64 rounded once."""
    pos = np.arange(T, dtype=np.float64)[:, None]
    two_i = (np.arange(D) // 2 * 2).astype(np.float64)[None, :]
    ang = pos / np.power(10000.0, two_i / D)
    pe = np.where(np.arange(D)[None, :] % 2 == 0, np.sin(ang), np.cos(ang))
    return pe.astype(np.float32)


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def build_batch(c, g):
    B, S, T = len(c.src_len), c.S, c.T
    assert len(c.tgt_len) == B and max(c.src_len) <= S and max(c.tgt_len) <= T
    assert S <= c.max_len and T <= c.max_len
    src = torch.randint(1, c.V, (B, S), generator=g, dtype=torch.int64)
    tgt_in = torch.randint(1, c.V, (B, T), generator=g, dtype=torch.int64)
    tgt_out = torch.randint(1, c.V, (B, T), generator=g, dtype=torch.int64)
    for b in range(B):
        src[b, c.src_len[b]:] = PAD
        tgt_in[b, c.tgt_len[b]:] = PAD
        tgt_out[b, c.tgt_len[b]:] = IGNORE
    for b, t in c.extra_ignore:
        tgt_out[b, t] = IGNORE
    # teacher forcing shape: tgt_in[t+1] = tgt_out[t] where both are real tokens
    for b in range(B):
        for t in range(c.tgt_len[b] - 1):
            if tgt_out[b, t] != IGNORE:
                tgt_in[b, t + 1] = tgt_out[b, t]
    n_ign = int((tgt_out == IGNORE).sum())
    assert n_ign >= 1, c.name
    src_len = torch.tensor(c.src_len, dtype=torch.int64)
    return src, src_len, tgt_in, tgt_out


# --------------------------------------------------------------------------
# model 1: torch.nn.TransformerEncoder/Decoder layers
# --------------------------------------------------------------------------
class Seq2Seq(tnn.Module):
    def __init__(self, c, eps32):
        super().__init__()
        self.embedding = tnn.Embedding(c.V, c.D)
        kw = dict(d_model=c.D, nhead=c.H, dim_feedforward=c.F, dropout=0.0, activation="relu",
                  layer_norm_eps=eps32, batch_first=True, norm_first=c.norm_first)
        enc_norm = tnn.LayerNorm(c.D, eps=eps32) if c.norm_first else None
        dec_norm = tnn.LayerNorm(c.D, eps=eps32) if c.norm_first else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.encoder = tnn.TransformerEncoder(tnn.TransformerEncoderLayer(**kw), c.Le, norm=enc_norm,
                                                  enable_nested_tensor=False)
        self.decoder = tnn.TransformerDecoder(tnn.TransformerDecoderLayer(**kw), c.Ld, norm=dec_norm)
        self.D = c.D

    def forward(self, pe, src, src_len, tgt_in):
        B, S = src.shape
        T = tgt_in.shape[1]
        dt = pe.dtype
        scale = math.sqrt(self.D)
        x = self.embedding(src) * scale + pe[:S]
        y = self.embedding(tgt_in) * scale + pe[:T]
        kpm = torch.arange(S)[None, :] >= src_len[:, None]              # True = padding
        causal = torch.triu(torch.full((T, T), float("-inf"), dtype=dt), diagonal=1)
        mem = self.encoder(x, src_key_padding_mask=kpm)
        out = self.decoder(y, mem, tgt_mask=causal, memory_key_padding_mask=kpm)
        return out @ self.embedding.weight.t()


def loss_fn(logits, labels, ls):
    return smoothed_ce(logits, labels, ls, IGNORE)


# --------------------------------------------------------------------------
# model 2: independent float64 re-implementation with plain tensor ops
# --------------------------------------------------------------------------
def own_forward(P, c, pe, src, src_len, tgt_in, tgt_out, eps, ls, mutate=None):
    """Returns (loss, logits).  `mutate` injects a known wiring error (sensitivity check)."""
    D, H = c.D, c.H
    Dh = D // H
    pre = c.norm_first if mutate != "norm_place" else not c.norm_first
    B, S = src.shape
    T = tgt_in.shape[1]

    def layer_norm(x, p):
        mu = x.sum(-1, keepdim=True) / D
        xc = x - mu
        var = (xc * xc).sum(-1, keepdim=True) / D
        return xc / torch.sqrt(var + eps) * P[p + ".weight"] + P[p + ".bias"]

    def linear(x, w, b):
        return torch.matmul(x, w.transpose(0, 1)) + b

    def attention(xq, xkv, p, disallow):
        # disallow: bool [B or 1, 1, Tq, Tk], True = key not visible
        W, bias = P[p + ".in_proj_weight"], P[p + ".in_proj_bias"]
        q = linear(xq, W[:D], bias[:D])
        k = linear(xkv, W[D:2 * D], bias[D:2 * D])
        v = linear(xkv, W[2 * D:], bias[2 * D:])
        Bq, Tq, Tk = xq.shape[0], xq.shape[1], xkv.shape[1]
        q = q.reshape(Bq, Tq, H, Dh).permute(0, 2, 1, 3)
        k = k.reshape(Bq, Tk, H, Dh).permute(0, 2, 1, 3)
        v = v.reshape(Bq, Tk, H, Dh).permute(0, 2, 1, 3)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(Dh)
        s = torch.where(disallow, torch.full_like(s, float("-inf")), s)
        m = s.max(dim=-1, keepdim=True).values
        e = torch.exp(s - m)
        w = e / e.sum(-1, keepdim=True)
        ctx = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(Bq, Tq, D)
        return linear(ctx, P[p + ".out_proj.weight"], P[p + ".out_proj.bias"])

    def ffn(x, p):
        h = linear(x, P[p + ".linear1.weight"], P[p + ".linear1.bias"])
        h = torch.where(h > 0, h, torch.zeros_like(h))
        return linear(h, P[p + ".linear2.weight"], P[p + ".linear2.bias"])

    def sub(x, norm, f):
        if pre:
            return x + f(layer_norm(x, norm))
        return layer_norm(x + f(x), norm)

    E = P["embedding.weight"]
    pe_used = pe if mutate != "pe_swap" else pe.reshape(pe.shape[0], -1, 2).flip(-1).reshape(pe.shape)
    scale = math.sqrt(D)
    x = E[src] * scale + pe_used[:S]
    y = E[tgt_in] * scale + pe_used[:T]
    pad = torch.arange(S)[None, :] >= src_len[:, None]                  # [B,S]
    if mutate == "no_padding":
        pad = torch.zeros_like(pad)
    key_mask = pad[:, None, None, :]                                     # [B,1,1,S]
    causal = torch.arange(T)[None, :] > torch.arange(T)[:, None]         # [T,T] j > i
    if mutate == "no_causal":
        causal = torch.zeros_like(causal)
    causal = causal[None, None]

    for i in range(c.Le):
        p = f"encoder.layers.{i}"
        x = sub(x, p + ".norm1", lambda h: attention(h, h, p + ".self_attn", key_mask))
        x = sub(x, p + ".norm2", lambda h: ffn(h, p))
    if c.norm_first:
        x = layer_norm(x, "encoder.norm")
    mem = x
    for i in range(c.Ld):
        p = f"decoder.layers.{i}"
        y = sub(y, p + ".norm1", lambda h: attention(h, h, p + ".self_attn", causal))
        y = sub(y, p + ".norm2", lambda h: attention(h, mem, p + ".multihead_attn", key_mask))
        y = sub(y, p + ".norm3", lambda h: ffn(h, p))
    if c.norm_first:
        y = layer_norm(y, "decoder.norm")
    logits = torch.matmul(y, E.transpose(0, 1))                          # [B,T,V]

    # cross-entropy with label smoothing (PyTorch's definition), mean over counted rows
    V = c.V
    lg = logits.reshape(-1, V)
    t = tgt_out.reshape(-1)
    keep = t != IGNORE
    lg, t = lg[keep], t[keep]
    m = lg.max(dim=-1, keepdim=True).values
    lse = (m + torch.log(torch.exp(lg - m).sum(-1, keepdim=True))).squeeze(-1)
    lt = lg.gather(1, t[:, None]).squeeze(1)
    row = lse - (1 - ls) * lt - ls * lg.sum(-1) / V
    return row.sum() / row.shape[0], logits


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def run_torch(model, pe, batch, ls):
    src, src_len, tgt_in, tgt_out = batch
    model.zero_grad(set_to_none=True)
    logits = model(pe, src, src_len, tgt_in)
    loss = loss_fn(logits, tgt_out, ls)
    loss.backward()
    grads = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
    return loss.detach().numpy().copy(), logits.detach().numpy().copy(), grads


# --------------------------------------------------------------------------
# one case
# --------------------------------------------------------------------------
def generate(c):
    assert c.D % c.H == 0
    g = torch.Generator().manual_seed(c.seed)
    params = draw_params(c, g)
    batch = build_batch(c, g)
    src, src_len, tgt_in, tgt_out = batch
    eps32 = float(np.float32(c.eps))          # what Go's float32 Config.Eps holds
    ls32 = float(np.float32(float(c.smoothing)))  # what Go's float32 TrainOptions.Smoothing holds

    pe32 = sinusoidal_go(c.max_len, c.D)
    pe_vec = sinusoidal_vec(c.max_len, c.D)
    pe_bits_diff = int((pe32.view(np.uint32) != pe_vec.view(np.uint32)).sum())
    assert np.abs(pe32.astype(np.float64) - pe_vec).max() <= 1.2e-7, c.name

    # torch float32 model with exactly the drawn parameters
    model = Seq2Seq(c, eps32)
    names_torch = [n for n, _ in model.named_parameters()]
    specs = param_specs(c)
    assert sorted(names_torch) == sorted(n for n, _, _ in specs), (c.name, names_torch)
    sd = model.state_dict()
    assert sorted(sd) == sorted(names_torch), "unexpected buffers"
    for n, shape, _ in specs:
        assert tuple(sd[n].shape) == shape, (n, sd[n].shape, shape)
    model.load_state_dict(params, strict=True)
    model.train()   # dropout is 0; train mode keeps torch off its inference fast paths
    loss32, logits32, grad32 = run_torch(model, torch.from_numpy(pe32), batch, ls32)

    model64 = copy.deepcopy(model).double()
    loss64, logits64, grad64 = run_torch(model64, torch.from_numpy(pe32).double(), batch, ls32)

    # own plain-ops float64 model, with autograd for its gradients too
    P = {n: v.detach().double().clone().requires_grad_(True) for n, v in params.items()}
    own_loss, own_logits = own_forward(P, c, torch.from_numpy(pe_vec).double(), src, src_len, tgt_in,
                                       tgt_out, eps32, ls32)
    own_loss.backward()
    e_ref_loss = abs(own_loss.item() - float(loss64)) / abs(float(loss64))
    e_ref_logits = rel_l2(own_logits.detach().numpy(), logits64)
    e_ref_grad = max(rel_l2(P[n].grad.numpy(), grad64[n]) for n in P)
    assert e_ref_loss <= REF_TOL, (c.name, "own vs torch f64 loss", e_ref_loss)
    assert e_ref_logits <= REF_TOL, (c.name, "own vs torch f64 logits", e_ref_logits)
    assert e_ref_grad <= REF_TOL, (c.name, "own vs torch f64 grads", e_ref_grad)

    # the comparison above is sensitive: known wiring mistakes change the loss a lot
    mutations = {}
    with torch.no_grad():
        for mut in ("norm_place", "no_padding", "no_causal", "pe_swap"):
            if mut == "no_padding" and min(c.src_len) == c.S:
                continue
            ml, _ = own_forward(P, c, torch.from_numpy(pe_vec).double(), src, src_len, tgt_in,
                                tgt_out, eps32, ls32, mutate=mut)
            mutations[mut] = abs(ml.item() - float(loss64)) / abs(float(loss64))
            assert mutations[mut] >= MUT_MIN, (c.name, mut, mutations[mut])

    # float32 vs float64 (torch)
    e_loss = abs(float(loss32) - float(loss64)) / abs(float(loss64))
    e_logits = rel_l2(logits32, logits64)
    e_grads = {n: rel_l2(grad32[n], grad64[n]) for n in grad64}
    worst = max(e_grads, key=e_grads.get)
    assert e_grads[worst] <= GRAD_TOL, (c.name, worst, e_grads[worst])
    e_grads_all = rel_l2(np.concatenate([grad32[n].ravel() for n, _, _ in specs]),
                         np.concatenate([grad64[n].ravel() for n, _, _ in specs]))

    assert np.isfinite(loss32) and np.isfinite(logits32).all()

    config = {"vocab": c.V, "d_model": c.D, "nhead": c.H, "dim_feedforward": c.F,
              "num_encoder_layers": c.Le, "num_decoder_layers": c.Ld, "dropout": 0,
              "max_len": c.max_len, "norm_first": c.norm_first, "layer_norm_eps": c.eps}
    tensors = {}
    for n, _, _ in specs:
        tensors[n] = params[n].numpy().astype(np.float32)
        tensors["grad." + n] = grad32[n].astype(np.float32)
        tensors["grad64." + n] = grad64[n].astype(np.float64)
        assert tensors["grad." + n].shape == tensors[n].shape == tensors["grad64." + n].shape
    tensors["src"] = src.numpy().astype(np.int64)
    tensors["src_len"] = src_len.numpy().astype(np.int64)
    tensors["tgt_in"] = tgt_in.numpy().astype(np.int64)
    tensors["tgt_out"] = tgt_out.numpy().astype(np.int64)
    tensors["loss"] = np.asarray(loss32, dtype=np.float32).reshape(())
    tensors["loss_f64"] = np.asarray(loss64, dtype=np.float64).reshape(())
    tensors["logits_f64"] = logits64.astype(np.float64)
    tensors["pe"] = pe32
    assert tensors["logits_f64"].shape == (len(c.src_len), c.T, c.V)

    meta = {
        "config": json.dumps(config, sort_keys=True, separators=(",", ":")),
        "label_smoothing": c.smoothing,
        "note": (c.desc + ". Ignore label -1, pad id 0. Loss = F.cross_entropy mean over labels != -1; "
                 "grad.* are d(loss)/d(param) in torch float32, grad64.*/loss_f64/logits_f64 the same "
                 "model in float64 (same float32 parameters, float32 pe, float32-rounded eps and "
                 "label_smoothing). pe is nn.SinusoidalEncoding(max_len, d_model, 0)."),
        "torch_version": torch.__version__,
        "param_order": ",".join(n for n, _, _ in specs),
    }

    path = os.path.join(OUT_DIR, c.name + ".safetensors")
    size = save_verified(path, tensors, meta, c.name)

    stats = dict(size=size, loss32=float(loss32), loss64=float(loss64), e_loss=e_loss, e_logits=e_logits,
                 e_grad_worst=e_grads[worst], worst=worst, e_grads_all=e_grads_all,
                 e_ref_loss=e_ref_loss, e_ref_logits=e_ref_logits, e_ref_grad=e_ref_grad,
                 mutations=mutations, n_params=len(specs),
                 n_ignored=int((tgt_out == IGNORE).sum()), pe_bits_diff=pe_bits_diff,
                 grad_min_norm=min(np.linalg.norm(grad64[n]) for n in grad64))
    return stats, tensors


def main():
    torch.set_num_threads(1)          # deterministic reductions
    torch.use_deterministic_algorithms(True)
    verbose = "-v" in sys.argv[1:]
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for c in CASES:
        s, tensors = generate(c)
        total += s["size"]
        print(f"{c.name:18s} {s['size']:7d} B  params={s['n_params']} ignored_labels={s['n_ignored']}  "
              f"loss f32={s['loss32']:.9g} f64={s['loss64']:.17g}")
        print(f"    f32 vs f64: loss rel {s['e_loss']:.2e}  logits rel L2 {s['e_logits']:.2e}  "
              f"grads rel L2 all {s['e_grads_all']:.2e}, worst param {s['e_grad_worst']:.2e} ({s['worst']})")
        print(f"    own plain-ops f64 vs nn.Transformer f64: loss {s['e_ref_loss']:.1e}  "
              f"logits {s['e_ref_logits']:.1e}  grads (worst param) {s['e_ref_grad']:.1e}")
        print("    mutations (rel loss change): " +
              "  ".join(f"{k}={v:.2e}" for k, v in s["mutations"].items()) +
              f"  | pe loop vs vectorised: {s['pe_bits_diff']} float32 values differ"
              f"  | smallest grad64 norm {s['grad_min_norm']:.2e}")
        if verbose:
            for k, v in sorted(tensors.items()):
                print(f"      {k} {v.dtype} {list(v.shape)}")
    finish(OUT_DIR, names, len(CASES), total, MAX_TOTAL)


if __name__ == "__main__":
    main()
