#!/usr/bin/env python3
"""Generate PyTorch golden files for the decoder-only GPT (nn/gpt.go).

Run from the repository root with Debian's python (torch 1.13, numpy 1.24):

    /usr/bin/python3 scripts/golden/gen_gpt.py

Writes testdata/golden/gpt/<case>.safetensors (see CASES below and the "GPT
golden files" section of scripts/golden/README.md for the file contract),
re-reads every file as a self-check and prints the checks' numbers and the
total size.  Output is deterministic: running the script twice gives
byte-identical files.

The model is the Go nn.GPT, a nanoGPT-style decoder: x = wte[ids] + wpe[0..T),
pre-LN blocks h += c_proj(causal_attn(ln_1(h))); h += mlp.c_proj(gelu_tanh(
mlp.c_fc(ln_2(h)))), a final ln_f, the head tied to wte (logits = ln_f(h) @
wte^T, no bias), and F.cross_entropy(ignore_index=-1, label_smoothing,
reduction="mean").
"""

import copy
import json
import math
import os
import sys
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
OUT_DIR = os.path.join(REPO, "testdata", "golden", "gpt")

IGNORE = -1
W_STD = 0.3          # matrices and the embeddings: N(0, 0.3^2)
B_STD = 0.2          # biases and LayerNorm biases: N(0, 0.2^2); gains 1 + N(0, 0.2^2)
GRAD_TOL = 1e-4      # torch float32 vs float64 gradients, relative L2 per parameter
REF_TOL = 1e-10      # own plain-ops float64 model vs the module-based float64 one
MUT_MIN = 1e-5       # a deliberately wrong reference must miss by at least this (logits rel L2)
MAX_TOTAL = 600_000


@dataclass
class Case:
    name: str
    desc: str
    V: int
    C: int                # block_size (context)
    L: int
    H: int
    D: int
    B: int
    T: int
    eps: float            # layer_norm_eps as written in the config (parsed to float32 by Go)
    smoothing: str        # label smoothing, decimal string (parsed to float32 by Go)
    ignore: List[tuple]   # (b, t) label positions set to IGNORE
    seed: int


CASES = [
    Case("gpt_2l", "2 layers, V13 C12 H4 (Dh 4) D16, B3 T9, label_smoothing 0.1, layer_norm_eps 1e-5",
         V=13, C=12, L=2, H=4, D=16, B=3, T=9, eps=1e-5, smoothing="0.1",
         ignore=[(0, 3), (1, 6), (1, 7), (1, 8), (2, 0)], seed=411),
    Case("gpt_1l_1h", "1 layer, single head, V11 C8 H1 D8, B1 T8, label_smoothing 0, layer_norm_eps 1e-5",
         V=11, C=8, L=1, H=1, D=8, B=1, T=8, eps=1e-5, smoothing="0",
         ignore=[(0, 7)], seed=522),
    Case("gpt_3l", "3 layers, V17 C16 H2 (Dh 12) D24, B2 T16 (= block_size), label_smoothing 0.1, "
         "layer_norm_eps 1e-6",
         V=17, C=16, L=3, H=2, D=24, B=2, T=16, eps=1e-6, smoothing="0.1",
         ignore=[(0, 15), (1, 4)], seed=633),
]


# --------------------------------------------------------------------------
# parameters, in the order of the Go constructor NewGPT
# --------------------------------------------------------------------------
def param_specs(c):
    """[(name, shape, kind)] in nn.NewGPT's order; kind: w | b | g (LayerNorm gain)."""
    D = c.D
    out = [("transformer.wte.weight", (c.V, D), "w"), ("transformer.wpe.weight", (c.C, D), "w")]

    def ln(p):
        return [(p + ".weight", (D,), "g"), (p + ".bias", (D,), "b")]

    for l in range(c.L):
        p = f"transformer.h.{l}."
        out += ln(p + "ln_1")
        out += [(p + "attn.c_attn.weight", (3 * D, D), "w"), (p + "attn.c_attn.bias", (3 * D,), "b"),
                (p + "attn.c_proj.weight", (D, D), "w"), (p + "attn.c_proj.bias", (D,), "b")]
        out += ln(p + "ln_2")
        out += [(p + "mlp.c_fc.weight", (4 * D, D), "w"), (p + "mlp.c_fc.bias", (4 * D,), "b"),
                (p + "mlp.c_proj.weight", (D, 4 * D), "w"), (p + "mlp.c_proj.bias", (D,), "b")]
    out += ln("transformer.ln_f")
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
# inputs: next-token labels from one drawn sequence of T+1 tokens per row
# --------------------------------------------------------------------------
def build_batch(c, g):
    assert c.T <= c.C
    seq = torch.randint(0, c.V, (c.B, c.T + 1), generator=g, dtype=torch.int64)
    ids = seq[:, :-1].contiguous()
    labels = seq[:, 1:].contiguous()
    for b, t in c.ignore:
        labels[b, t] = IGNORE
    assert int((labels == IGNORE).sum()) == len(set(c.ignore)) >= 1, c.name
    return ids, labels


# --------------------------------------------------------------------------
# model 1: nanoGPT-style torch modules (nn.Embedding, nn.LayerNorm, nn.Linear,
# F.softmax, nn.GELU(approximate="tanh"), F.cross_entropy)
# --------------------------------------------------------------------------
class CausalSelfAttention(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = tnn.Linear(c.D, 3 * c.D)
        self.c_proj = tnn.Linear(c.D, c.D)
        self.H = c.H
        self.register_buffer("bias", torch.tril(torch.ones(c.C, c.C, dtype=torch.bool)), persistent=False)

    def forward(self, x):
        B, T, D = x.shape
        q, k, v = self.c_attn(x).split(D, dim=2)
        q = q.view(B, T, self.H, D // self.H).transpose(1, 2)
        k = k.view(B, T, self.H, D // self.H).transpose(1, 2)
        v = v.view(B, T, self.H, D // self.H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(~self.bias[:T, :T], float("-inf"))
        att = Fn.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, D)
        return self.c_proj(y)


class MLP(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = tnn.Linear(c.D, 4 * c.D)
        self.gelu = tnn.GELU(approximate="tanh")
        self.c_proj = tnn.Linear(4 * c.D, c.D)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class Block(tnn.Module):
    def __init__(self, c, eps32):
        super().__init__()
        self.ln_1 = tnn.LayerNorm(c.D, eps=eps32)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = tnn.LayerNorm(c.D, eps=eps32)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(tnn.Module):
    def __init__(self, c, eps32):
        super().__init__()
        self.transformer = tnn.ModuleDict(dict(
            wte=tnn.Embedding(c.V, c.D),
            wpe=tnn.Embedding(c.C, c.D),
            drop=tnn.Dropout(0.0),
            h=tnn.ModuleList([Block(c, eps32) for _ in range(c.L)]),
            ln_f=tnn.LayerNorm(c.D, eps=eps32),
        ))

    def forward(self, ids):
        T = ids.shape[1]
        pos = torch.arange(T, dtype=torch.int64)
        x = self.transformer.drop(self.transformer.wte(ids) + self.transformer.wpe(pos))
        for blk in self.transformer.h:
            x = blk(x)
        x = self.transformer.ln_f(x)
        return x @ self.transformer.wte.weight.t()      # tied lm_head, no bias


def loss_fn(logits, labels, ls):
    return smoothed_ce(logits, labels, ls, IGNORE)


# --------------------------------------------------------------------------
# model 2: independent float64 re-implementation with plain tensor ops
# --------------------------------------------------------------------------
def own_forward(P, c, ids, labels, eps, ls, mutate=None):
    """Returns (loss, logits).  `mutate` injects a known wiring error (sensitivity check)."""
    D, H = c.D, c.H
    Dh = D // H
    B, T = ids.shape

    def layer_norm(x, p):
        mu = x.sum(-1, keepdim=True) / D
        xc = x - mu
        var = (xc * xc).sum(-1, keepdim=True) / D
        return xc / torch.sqrt(var + eps) * P[p + ".weight"] + P[p + ".bias"]

    def linear(x, w, b):
        return torch.matmul(x, w.transpose(0, 1)) + b

    def gelu(x):
        if mutate == "gelu_erf":
            return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
        k = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + torch.tanh(k * (x + 0.044715 * x * x * x)))

    disallow = torch.arange(T)[None, :] > torch.arange(T)[:, None]       # [T,T] key j > query i
    if mutate == "no_causal":
        disallow = torch.zeros_like(disallow)
    disallow = disallow[None, None]

    def attention(x, p):
        W, bias = P[p + "attn.c_attn.weight"], P[p + "attn.c_attn.bias"]
        q = linear(x, W[:D], bias[:D])
        k = linear(x, W[D:2 * D], bias[D:2 * D])
        v = linear(x, W[2 * D:], bias[2 * D:])
        if mutate == "qk_swap":
            q, k = k, q
        q = q.reshape(B, T, H, Dh).permute(0, 2, 1, 3)
        k = k.reshape(B, T, H, Dh).permute(0, 2, 1, 3)
        v = v.reshape(B, T, H, Dh).permute(0, 2, 1, 3)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(Dh)
        s = torch.where(disallow, torch.full_like(s, float("-inf")), s)
        m = s.max(dim=-1, keepdim=True).values
        e = torch.exp(s - m)
        w = e / e.sum(-1, keepdim=True)
        ctx = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(B, T, D)
        return linear(ctx, P[p + "attn.c_proj.weight"], P[p + "attn.c_proj.bias"])

    def mlp(x, p):
        h = gelu(linear(x, P[p + "mlp.c_fc.weight"], P[p + "mlp.c_fc.bias"]))
        return linear(h, P[p + "mlp.c_proj.weight"], P[p + "mlp.c_proj.bias"])

    E = P["transformer.wte.weight"]
    x = E[ids] + P["transformer.wpe.weight"][:T][None]
    for l in range(c.L):
        p = f"transformer.h.{l}."
        if mutate == "post_ln":
            x = layer_norm(x + attention(x, p), p + "ln_1")
            x = layer_norm(x + mlp(x, p), p + "ln_2")
        else:
            x = x + attention(layer_norm(x, p + "ln_1"), p)
            x = x + mlp(layer_norm(x, p + "ln_2"), p)
    if mutate != "no_ln_f":
        x = layer_norm(x, "transformer.ln_f")
    logits = torch.matmul(x, E.transpose(0, 1))                           # [B,T,V]

    # cross-entropy with label smoothing (PyTorch's definition), mean over counted rows
    V = c.V
    lg = logits.reshape(-1, V)
    t = labels.reshape(-1)
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


def run_torch(model, ids, labels, ls):
    model.zero_grad(set_to_none=True)
    logits = model(ids)
    loss = loss_fn(logits, labels, ls)
    loss.backward()
    grads = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
    return loss.detach().numpy().copy(), logits.detach().numpy().copy(), grads


# --------------------------------------------------------------------------
# one case
# --------------------------------------------------------------------------
def generate(c):
    assert c.D % c.H == 0 and c.T <= c.C
    g = torch.Generator().manual_seed(c.seed)
    params = draw_params(c, g)
    ids, labels = build_batch(c, g)
    eps32 = float(np.float32(c.eps))              # what Go's float32 GPTConfig.Eps holds
    ls32 = float(np.float32(float(c.smoothing)))  # what Go's float32 TrainOptions.Smoothing holds

    # torch float32 model with exactly the drawn parameters
    model = GPT(c, eps32)
    names_torch = [n for n, _ in model.named_parameters()]
    specs = param_specs(c)
    assert names_torch == [n for n, _, _ in specs], (c.name, names_torch)   # same order as NewGPT
    sd = model.state_dict()
    assert sorted(sd) == sorted(names_torch), "unexpected buffers"
    for n, shape, _ in specs:
        assert tuple(sd[n].shape) == shape, (n, sd[n].shape, shape)
    model.load_state_dict(params, strict=True)
    model.train()   # dropout is 0
    loss32, logits32, grad32 = run_torch(model, ids, labels, ls32)

    model64 = copy.deepcopy(model).double()
    loss64, logits64, grad64 = run_torch(model64, ids, labels, ls32)

    # own plain-ops float64 model, with autograd for its gradients too
    P = {n: v.detach().double().clone().requires_grad_(True) for n, v in params.items()}
    own_loss, own_logits = own_forward(P, c, ids, labels, eps32, ls32)
    own_loss.backward()
    e_ref_loss = abs(own_loss.item() - float(loss64)) / abs(float(loss64))
    e_ref_logits = rel_l2(own_logits.detach().numpy(), logits64)
    e_ref_grads = {n: rel_l2(P[n].grad.numpy(), grad64[n]) for n in P}
    e_ref_grad = max(e_ref_grads.values())
    assert e_ref_loss <= REF_TOL, (c.name, "own vs torch f64 loss", e_ref_loss)
    assert e_ref_logits <= REF_TOL, (c.name, "own vs torch f64 logits", e_ref_logits)
    assert e_ref_grad <= REF_TOL, (c.name, "own vs torch f64 grads", e_ref_grad)

    # the comparison above is sensitive: known wiring mistakes change the logits
    # (and the loss) far beyond REF_TOL
    mutations = {}
    with torch.no_grad():
        for mut in ("no_causal", "gelu_erf", "post_ln", "no_ln_f", "qk_swap"):
            ml, mlog = own_forward(P, c, ids, labels, eps32, ls32, mutate=mut)
            mutations[mut] = (rel_l2(mlog.numpy(), logits64),
                              abs(ml.item() - float(loss64)) / abs(float(loss64)))
            assert mutations[mut][0] >= MUT_MIN, (c.name, mut, mutations[mut])

    # float32 vs float64 (torch)
    e_loss = abs(float(loss32) - float(loss64)) / abs(float(loss64))
    e_logits = rel_l2(logits32, logits64)
    e_grads = {n: rel_l2(grad32[n], grad64[n]) for n in grad64}
    worst = max(e_grads, key=e_grads.get)
    assert e_grads[worst] <= GRAD_TOL, (c.name, worst, e_grads[worst])
    e_grads_all = rel_l2(np.concatenate([grad32[n].ravel() for n, _, _ in specs]),
                         np.concatenate([grad64[n].ravel() for n, _, _ in specs]))

    assert np.isfinite(loss32) and np.isfinite(logits32).all()

    config = {"vocab_size": c.V, "block_size": c.C, "n_layer": c.L, "n_head": c.H, "n_embd": c.D,
              "dropout": 0, "layer_norm_eps": c.eps}
    tensors = {}
    for n, _, _ in specs:
        tensors[n] = params[n].numpy().astype(np.float32)
        tensors["grad." + n] = grad32[n].astype(np.float32)
        tensors["grad64." + n] = grad64[n].astype(np.float64)
        assert tensors["grad." + n].shape == tensors[n].shape == tensors["grad64." + n].shape
    tensors["ids"] = ids.numpy().astype(np.int64)
    tensors["labels"] = labels.numpy().astype(np.int64)
    tensors["loss"] = np.asarray(loss32, dtype=np.float32).reshape(())
    tensors["loss_f64"] = np.asarray(loss64, dtype=np.float64).reshape(())
    tensors["logits_f64"] = logits64.astype(np.float64)
    assert tensors["logits_f64"].shape == (c.B, c.T, c.V)

    meta = {
        "config": json.dumps(config, sort_keys=True, separators=(",", ":")),
        "label_smoothing": c.smoothing,
        "note": (c.desc + ". Ignore label -1; labels are next tokens. Loss = F.cross_entropy mean over "
                 "labels != -1; grad.* are d(loss)/d(param) in torch float32, grad64.*/loss_f64/logits_f64 "
                 "the same model in float64 (same float32 parameters, float32-rounded eps and "
                 "label_smoothing). Head tied to transformer.wte.weight, dropout 0."),
        "torch_version": torch.__version__,
        "param_order": ",".join(n for n, _, _ in specs),
    }

    path = os.path.join(OUT_DIR, c.name + ".safetensors")
    size = save_verified(path, tensors, meta, c.name)

    stats = dict(size=size, loss32=float(loss32), loss64=float(loss64), e_loss=e_loss, e_logits=e_logits,
                 e_grad_worst=e_grads[worst], worst=worst, e_grads_all=e_grads_all,
                 e_ref_loss=e_ref_loss, e_ref_logits=e_ref_logits, e_ref_grad=e_ref_grad,
                 mutations=mutations, n_params=len(specs),
                 n_ignored=int((labels == IGNORE).sum()),
                 grad_min_norm=min(np.linalg.norm(grad64[n]) for n in grad64),
                 grad_min_name=min(grad64, key=lambda n: np.linalg.norm(grad64[n])))
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
        print(f"{c.name:10s} {s['size']:7d} B  params={s['n_params']} ignored_labels={s['n_ignored']}  "
              f"loss f32={s['loss32']:.9g} f64={s['loss64']:.17g}")
        print(f"    f32 vs f64: loss rel {s['e_loss']:.2e}  logits rel L2 {s['e_logits']:.2e}  "
              f"grads rel L2 all {s['e_grads_all']:.2e}, worst param {s['e_grad_worst']:.2e} ({s['worst']})")
        print(f"    own plain-ops f64 vs module f64: loss {s['e_ref_loss']:.1e}  "
              f"logits {s['e_ref_logits']:.1e}  grads (worst param) {s['e_ref_grad']:.1e}")
        print("    mutations (logits rel L2 / rel loss change): " +
              "  ".join(f"{k}={a:.1e}/{b:.1e}" for k, (a, b) in s["mutations"].items()) +
              f"  | smallest grad64 norm {s['grad_min_norm']:.2e} ({s['grad_min_name']})")
        if verbose:
            for k, v in sorted(tensors.items()):
                print(f"      {k} {v.dtype} {list(v.shape)}")
    finish(OUT_DIR, names, len(CASES), total, MAX_TOTAL)


if __name__ == "__main__":
    main()
