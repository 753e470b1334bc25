#!/usr/bin/env python3
"""Generate PyTorch autograd golden files for the multi-head attention backward.

Run from the repository root with the Debian interpreter (it has torch):

    /usr/bin/python3 scripts/golden/gen_grad.py

Writes testdata/golden/grad/<case>.safetensors, re-reads every file as a
self-check and prints the total size.  Output is deterministic: running the
script twice gives byte-identical files.

Each file is an `attn mha` case (see internal/mhacase) plus the backward:

  query, key, value, parameters, attn_mask, key_padding_mask   the inputs (F32, BOOL)
  grad.attn_output            [B,T,D]   upstream gradient (random, F32)
  grad.attn_output_weights    [B,T,S] or [B,H,T,S]  upstream gradient on the
                              returned weights (cases with need_weights only)
  attn_output, attn_output_weights      torch float32 forward
  ref.attn_output, ref.attn_output_weights  torch float64 forward
  grad.<name>                 torch float32 gradient of every input and
                              parameter (F32); self-attention has only
                              grad.query, the sum over its three uses
  ref.grad.<name>             torch float64 gradient (F64): the reference

The loss is L = sum(attn_output * grad.attn_output)
              (+ sum(attn_output_weights * grad.attn_output_weights)).
Metadata: num_heads, causal, need_weights, average_attn_weights,
description, torch_version and torch_rel_err.grad.<name> (relative L2 error
of torch float32 against torch float64).

No case has a fully masked query row: torch 1.13 gives NaN there (attn
gives zeros and a zero gradient; the Go tests check that contract on their
own).  The float64 module is the float32 one converted with .double(), fed
the same (float32-representable) inputs and upstream gradients.
"""

import copy
import os
import sys
import warnings
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep scripts/golden free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from golden_common import save_verified  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO, "testdata", "golden", "grad")
BIAS_BOUND = 0.5      # biases re-drawn from U(-0.5, 0.5) (PyTorch initialises them to 0)
MAX_TOTAL = 3_000_000


@dataclass
class Case:
    name: str
    desc: str
    B: int
    T: int
    D: int
    H: int
    S: Optional[int] = None       # None: self-attention (key = value = query)
    kdim: Optional[int] = None
    vdim: Optional[int] = None
    bias: bool = True
    causal: bool = False
    mask: Optional[str] = None    # None | bool2d | bool3d | float2d | float3d
    mask_p: float = 0.35          # probability of a disallowed entry
    kpm_lengths: Optional[List[int]] = None
    need_weights: bool = False
    average: bool = True
    seed: int = 0

    @property
    def self_attn(self):
        return self.S is None

    @property
    def src_len(self):
        return self.T if self.S is None else self.S


CASES = [
    Case("self_d32h4_b2_t12", "self-attention, bias, no mask", B=2, T=12, D=32, H=4),
    Case("self_d32h4_b2_t12_nobias", "self-attention, bias=false", B=2, T=12, D=32, H=4, bias=False),
    Case("causal_d32h4_b2_t13", "causal self-attention (metadata flag; torch got a bool triu mask)",
         B=2, T=13, D=32, H=4, causal=True),
    Case("kpm_d32h4_b3_t13", "self-attention with key_padding_mask lengths 13,5,9",
         B=3, T=13, D=32, H=4, kpm_lengths=[13, 5, 9]),
    Case("kpm_causal_d32h2_b2_t13", "causal self-attention with key_padding_mask lengths 13,6",
         B=2, T=13, D=32, H=2, causal=True, kpm_lengths=[13, 6]),
    Case("mask2d_bool_d32h4_b2_t12_s15", "cross-attention with 2-D BOOL attn_mask (True = disallowed)",
         B=2, T=12, S=15, D=32, H=4, mask="bool2d"),
    Case("mask3d_bool_d32h4_b2_t12", "self-attention with 3-D BOOL attn_mask [B*H,T,S]",
         B=2, T=12, D=32, H=4, mask="bool3d"),
    Case("mask2d_float_d32h4_b2_t12", "self-attention with 2-D F32 additive attn_mask (finite and -inf)",
         B=2, T=12, D=32, H=4, mask="float2d", mask_p=0.3),
    Case("mask3d_float_kpm_d32h2_b2_t12_s14", "cross-attention, 3-D F32 additive attn_mask and key_padding_mask lengths 14,9",
         B=2, T=12, S=14, D=32, H=2, mask="float3d", mask_p=0.25, kpm_lengths=[14, 9]),
    Case("cross_d32h4_b2_t12_s15", "cross-attention, kdim = vdim = D (in_proj_weight)",
         B=2, T=12, S=15, D=32, H=4),
    Case("kvdim_d32h4_b2_t12_s15", "cross-attention kdim=6 vdim=10 (q/k/v_proj_weight)",
         B=2, T=12, S=15, D=32, H=4, kdim=6, vdim=10),
    Case("kvdim_d32h4_b2_t12_s15_nobias_kpm", "kdim=6 vdim=10, bias=false, key_padding_mask lengths 15,11",
         B=2, T=12, S=15, D=32, H=4, kdim=6, vdim=10, bias=False, kpm_lengths=[15, 11]),
    Case("weights_avg_d32h4_b2_t12", "self-attention, need_weights with a gradient on the averaged weights, causal",
         B=2, T=12, D=32, H=4, causal=True, need_weights=True),
    Case("weights_perhead_d32h4_b2_t12_s15", "cross-attention, need_weights per head with a gradient on them, BOOL attn_mask",
         B=2, T=12, S=15, D=32, H=4, mask="bool2d", need_weights=True, average=False),
    Case("self_d64h8_b1_t70_causal_kpm", "causal self-attention across a 64-row tile, key_padding_mask length 66",
         B=1, T=70, D=64, H=8, causal=True, kpm_lengths=[66]),
]
for _i, _c in enumerate(CASES):
    _c.seed = 2000 + _i


def build(c):
    """Module (float32, train mode, dropout 0) and inputs from the seeded RNG."""
    torch.manual_seed(c.seed)
    kw = {}
    if c.kdim is not None:
        kw["kdim"] = c.kdim
    if c.vdim is not None:
        kw["vdim"] = c.vdim
    mha = torch.nn.MultiheadAttention(c.D, c.H, dropout=0.0, bias=c.bias, batch_first=True, **kw)
    with torch.no_grad():
        if c.bias:
            mha.in_proj_bias.uniform_(-BIAS_BOUND, BIAS_BOUND)
            mha.out_proj.bias.uniform_(-BIAS_BOUND, BIAS_BOUND)
    S = c.src_len
    query = torch.randn(c.B, c.T, c.D)
    key = value = None
    if not c.self_attn:
        key = torch.randn(c.B, S, c.kdim or c.D)
        value = torch.randn(c.B, S, c.vdim or c.D)

    attn_mask = None
    if c.mask is not None:
        three = c.mask.endswith("3d")
        shape = (c.B * c.H, c.T, S) if three else (c.T, S)
        dis = torch.rand(shape) < c.mask_p
        # keep one allowed, non-padded key on every row: no fully masked row
        L = S if c.kpm_lengths is None else min(c.kpm_lengths)
        tt = torch.arange(c.T)
        dis[..., tt, tt % L] = False
        if c.mask.startswith("bool"):
            attn_mask = dis
        else:
            attn_mask = (torch.randn(shape) * 2.0).masked_fill(dis, float("-inf"))
    kpm = None
    if c.kpm_lengths is not None:
        kpm = torch.arange(S)[None, :] >= torch.tensor(c.kpm_lengths)[:, None]
    g_out = torch.randn(c.B, c.T, c.D)
    g_w = None
    if c.need_weights:
        g_w = torch.randn((c.B, c.T, S) if c.average else (c.B, c.H, c.T, S))
    return mha, query, key, value, attn_mask, kpm, g_out, g_w


def run(mha, c, query, key, value, attn_mask, kpm, g_out, g_w):
    """Forward and backward; returns (out, weights, {name: grad}) as numpy."""
    mha.zero_grad(set_to_none=True)
    q = query.clone().requires_grad_(True)
    ins = {"query": q}
    if c.self_attn:
        k = v = q
    else:
        k = key.clone().requires_grad_(True)
        v = value.clone().requires_grad_(True)
        ins["key"], ins["value"] = k, v
    am = attn_mask
    if c.causal:
        assert am is None
        am = torch.ones(c.T, c.src_len).triu(1).bool()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, w = mha(q, k, v, key_padding_mask=kpm, need_weights=c.need_weights,
                     attn_mask=am, average_attn_weights=c.average)
    loss = (out * g_out.to(out.dtype)).sum()
    if g_w is not None:
        loss = loss + (w * g_w.to(w.dtype)).sum()
    loss.backward()
    grads = {n: t.grad.detach().numpy().copy() for n, t in ins.items()}
    for n, p in mha.named_parameters():
        grads[n] = p.grad.detach().numpy().copy()
    return out.detach().numpy(), (None if w is None else w.detach().numpy()), grads


def rel_err(a, ref):
    d = np.linalg.norm((a.astype(np.float64) - ref).ravel())
    n = np.linalg.norm(ref.ravel())
    return d / n if n > 0 else d


def generate(c):
    mha, query, key, value, attn_mask, kpm, g_out, g_w = build(c)
    out32, w32, g32 = run(mha, c, query, key, value, attn_mask, kpm, g_out, g_w)
    mha64 = copy.deepcopy(mha).double()
    am64 = None if attn_mask is None else (attn_mask.double() if attn_mask.is_floating_point() else attn_mask)
    out64, w64, g64 = run(mha64, c, query.double(), None if key is None else key.double(),
                          None if value is None else value.double(), am64, kpm,
                          g_out.double(), None if g_w is None else g_w.double())
    for arr in [out32, out64] + list(g32.values()) + list(g64.values()) + ([w32, w64] if c.need_weights else []):
        assert np.isfinite(arr).all(), (c.name, "non-finite torch result: a fully masked row?")

    sd = {k: v.detach().numpy().copy() for k, v in mha.state_dict().items() if v is not None}
    tensors = {"query": query.numpy(), "grad.attn_output": g_out.numpy(),
               "attn_output": out32, "ref.attn_output": out64}
    if not c.self_attn:
        tensors["key"], tensors["value"] = key.numpy(), value.numpy()
    for k, v in sd.items():
        tensors[k] = v.astype(np.float32)
    if attn_mask is not None:
        tensors["attn_mask"] = attn_mask.numpy()
    if kpm is not None:
        tensors["key_padding_mask"] = kpm.numpy()
    if c.need_weights:
        tensors["attn_output_weights"] = w32
        tensors["ref.attn_output_weights"] = w64
        tensors["grad.attn_output_weights"] = g_w.numpy()
    meta = {
        "num_heads": str(c.H),
        "embed_dim": str(c.D),
        "kdim": str(c.kdim or c.D),
        "vdim": str(c.vdim or c.D),
        "bias": "true" if c.bias else "false",
        "batch_first": "true",
        "causal": "true" if c.causal else "false",
        "need_weights": "true" if c.need_weights else "false",
        "average_attn_weights": "true" if c.average else "false",
        "description": c.desc,
        "torch_version": torch.__version__,
    }
    assert sorted(g32) == sorted(g64)
    for n in g32:
        assert g32[n].dtype == np.float32 and g64[n].dtype == np.float64
        tensors["grad." + n] = g32[n]
        tensors["ref.grad." + n] = g64[n]
        meta["torch_rel_err.grad." + n] = "%.6e" % rel_err(g32[n], g64[n])
    for k, v in tensors.items():
        assert v.dtype in (np.float32, np.float64, np.bool_), (k, v.dtype)
        assert v.dtype != np.float64 or k.startswith("ref."), k

    path = os.path.join(OUT_DIR, c.name + ".safetensors")
    size = save_verified(path, tensors, meta, c.name)
    return size, meta


def main():
    torch.set_num_threads(1)          # deterministic reductions
    torch.use_deterministic_algorithms(True)
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for c in CASES:
        size, meta = generate(c)
        total += size
        errs = " ".join("%s=%s" % (k[len("torch_rel_err.grad."):], v)
                        for k, v in sorted(meta.items()) if k.startswith("torch_rel_err."))
        print(f"{c.name:36s} {size:8d} B  torch f32 vs f64: {errs}")
    stale = sorted(f for f in os.listdir(OUT_DIR)
                   if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names)
    if stale:
        print("WARNING: files not produced by this script:", ", ".join(stale))
    print(f"{len(CASES)} files, total {total} bytes ({total / 1e6:.2f} MB)")
    assert total <= MAX_TOTAL, total


if __name__ == "__main__":
    main()
