#!/usr/bin/env python3
"""Generate PyTorch golden files for multi-head attention.

Run from the repository root:

    python3 scripts/golden/gen_mha.py

Writes testdata/golden/mha/<case>.safetensors (one file per case, see CASES
below and scripts/golden/README.md for the file contract), re-reads every file
as a self-check and prints the total size.  Output is deterministic: running
the script twice gives byte-identical files.
"""

import copy
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep scripts/golden free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from golden_common import save_verified  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO, "testdata", "golden", "mha")

SYNTH_MIN_D = 768   # embed_dim at or above which parameters are synthetic (not stored)
SYNTH_E = -5        # synthetic_scale_log2: weights uniform on [-2^e, 2^e)
BIAS_BOUND = 0.5    # biases re-drawn from U(-0.5, 0.5) (PyTorch initialises them to 0)
MAX_FILE = 1_500_000
MAX_TOTAL = 8_000_000
REF_TOL = 1e-12     # own float64 reference vs torch float64 (relative L2)

# --------------------------------------------------------------------------
# synthetic weights (splitmix64); must match the Go twin bit for bit
# --------------------------------------------------------------------------
_M = (1 << 64) - 1


def _mix_py(x):
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M
    return x ^ (x >> 31)


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & _M
    return h


def synth_py(seed, name, i, e):
    """Scalar reference implementation (used to check the vectorised one)."""
    h = _mix_py((seed * 0x9E3779B97F4A7C15 + fnv1a64(name) + i * 0xD1B54A32D192ED03) & _M)
    u = h >> 40
    return (u - 2 ** 23) * 2.0 ** (-23 + e)


def synth(seed, name, shape, e):
    """Vectorised synthetic parameter: float32 array of `shape`."""
    n = int(np.prod(shape))
    u64 = np.uint64
    with np.errstate(over="ignore"):
        base = (u64(seed & _M) * u64(0x9E3779B97F4A7C15)) + u64(fnv1a64(name))
        i = np.arange(n, dtype=np.uint64)
        x = base + i * u64(0xD1B54A32D192ED03)
        x = (x ^ (x >> u64(30))) * u64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> u64(27))) * u64(0x94D049BB133111EB)
        x = x ^ (x >> u64(31))
    u = (x >> u64(40)).astype(np.int64)
    w = (u - (1 << 23)).astype(np.float64) * 2.0 ** (-23 + e)
    w32 = w.astype(np.float32)
    assert np.array_equal(w32.astype(np.float64), w)  # exactly representable
    return w32.reshape(shape)


def synth_selfcheck():
    vals = synth(1, "out_proj.weight", (3,), SYNTH_E)
    for i in range(3):
        assert float(vals[i]) == synth_py(1, "out_proj.weight", i, SYNTH_E)
    # a broader cross-check of the vectorised code against the scalar one
    for name in ("in_proj_weight", "q_proj_weight", "in_proj_bias", "out_proj.bias"):
        v = synth(12345, name, (257,), -3)
        for i in (0, 1, 2, 100, 256):
            assert float(v[i]) == synth_py(12345, name, i, -3), (name, i)
    return [float(v) for v in vals]


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    desc: str
    B: int
    T: int
    D: int
    H: int
    S: Optional[int] = None          # None: self-attention (S = T, key/value omitted)
    kdim: Optional[int] = None
    vdim: Optional[int] = None
    bias: bool = True
    causal: bool = False
    # attn_mask kind: None | bool2d | bool3d | float2d | float3d | u8_2d
    mask: Optional[str] = None
    mask_p: float = 0.35              # probability of a disallowed entry
    full_rows: List[Tuple[int, ...]] = field(default_factory=list)  # mask rows set all-disallowed
    # (b*H+h, t) rows of a 3-D mask that disallow exactly the non-padded keys of
    # batch b, so the row is fully masked only by attn_mask and key_padding_mask together
    combo_rows: List[Tuple[int, int]] = field(default_factory=list)
    expect_full: int = 0              # expected fully_masked_rows (checked)
    kpm_lengths: Optional[List[int]] = None  # key_padding_mask: keys >= length are padding
    kpm_dtype: str = "bool"           # bool | u8
    need_weights: bool = True
    average: bool = True
    q_scale: float = 1.0
    seed: int = 0

    @property
    def self_attn(self):
        return self.S is None

    @property
    def src_len(self):
        return self.T if self.S is None else self.S


CASES = [
    # --- plain self-attention, shape sweep -------------------------------------
    Case("self_d8h1_b1_t1", "self-attention, T=1 edge, single head, bias, averaged weights",
         B=1, T=1, D=8, H=1),
    Case("self_d8h1_b3_t7", "self-attention, single head (python path: odd num_heads), bias, averaged weights",
         B=3, T=7, D=8, H=1),
    Case("self_d8h1_b3_t257_noweights", "self-attention, long sequence T=257, single head, need_weights=false",
         B=3, T=257, D=8, H=1, need_weights=False),
    Case("self_d64h8_b3_t7_perhead", "self-attention with bias, per-head weights (average_attn_weights=false)",
         B=3, T=7, D=64, H=8, average=False),
    Case("self_d64h8_b1_t64_nobias", "self-attention, bias=false (no in_proj_bias/out_proj.bias), averaged weights",
         B=1, T=64, D=64, H=8, bias=False),
    Case("self_d64h8_b3_t1_nobias_perhead", "self-attention T=1 edge, bias=false, per-head weights",
         B=3, T=1, D=64, H=8, bias=False, average=False),
    Case("self_d96h12_b3_t7_perhead", "self-attention D=96 H=12 (head_dim 8), per-head weights",
         B=3, T=7, D=96, H=12, average=False),
    Case("self_d96h12_b1_t64_noweights", "self-attention D=96 H=12, need_weights=false",
         B=1, T=64, D=96, H=12, need_weights=False),
    Case("self_d96h12_b3_t1", "self-attention T=1 edge, D=96 H=12, averaged weights",
         B=3, T=1, D=96, H=12),
    Case("self_d64h8_b1_t257_causal", "causal self-attention, long sequence T=257, averaged weights",
         B=1, T=257, D=64, H=8, causal=True),
    Case("self_d64h8_b3_t7_largemag", "self-attention with inputs scaled by 30 (softmax stability), averaged weights",
         B=3, T=7, D=64, H=8, q_scale=30.0),
    # --- D=768 with synthetic (splitmix64) weights ------------------------------
    Case("self_d768h12_b1_t1_synth", "self-attention D=768 H=12, T=1, synthetic weights, averaged weights",
         B=1, T=1, D=768, H=12),
    Case("self_d768h12_b1_t7_synth_perhead", "self-attention D=768 H=12, synthetic weights, per-head weights",
         B=1, T=7, D=768, H=12, average=False),
    Case("self_d768h12_b1_t64_synth_causal", "causal self-attention D=768 H=12 T=64, synthetic weights, need_weights=false",
         B=1, T=64, D=768, H=12, causal=True, need_weights=False),
    # --- cross-attention / kdim, vdim -------------------------------------------
    Case("cross_d64h8_b3_t7_s13_perhead", "cross-attention T=7 S=13 (kdim=vdim=D, in_proj_weight), per-head weights",
         B=3, T=7, S=13, D=64, H=8, average=False),
    Case("cross_d64h8_b1_t1_s64", "cross-attention T=1 S=64, averaged weights",
         B=1, T=1, S=64, D=64, H=8),
    Case("kvdim_d64h8_b3_t7_s13", "cross-attention kdim=24 vdim=40 (separate q/k/v_proj_weight), averaged weights",
         B=3, T=7, S=13, D=64, H=8, kdim=24, vdim=40),
    Case("kvdim_d64h8_b3_t7_s13_nobias_perhead", "kdim=24 vdim=40 with bias=false, per-head weights",
         B=3, T=7, S=13, D=64, H=8, kdim=24, vdim=40, bias=False, average=False),
    # --- causal -----------------------------------------------------------------
    Case("causal_d64h8_b3_t64", "causal self-attention (metadata flag, no attn_mask stored), averaged weights",
         B=3, T=64, D=64, H=8, causal=True),
    Case("causal_d8h1_b3_t7_perhead", "causal self-attention, single head, per-head weights",
         B=3, T=7, D=8, H=1, causal=True, average=False),
    # --- attn_mask variants -----------------------------------------------------
    Case("mask2d_bool_d64h8_b3_t7_s13_perhead", "cross-attention with 2-D BOOL attn_mask [T,S] (True = disallowed), per-head weights",
         B=3, T=7, S=13, D=64, H=8, mask="bool2d", average=False),
    Case("mask3d_bool_d64h8_b3_t7_perhead", "self-attention with 3-D BOOL attn_mask [B*H,T,S], per-head weights",
         B=3, T=7, D=64, H=8, mask="bool3d", average=False),
    Case("mask2d_float_d64h8_b3_t7", "self-attention with 2-D F32 additive attn_mask (finite values and -inf), averaged weights",
         B=3, T=7, D=64, H=8, mask="float2d", mask_p=0.3),
    Case("mask3d_float_d96h12_b3_t7_s13_perhead", "cross-attention with 3-D F32 additive attn_mask [B*H,T,S], per-head weights",
         B=3, T=7, S=13, D=96, H=12, mask="float3d", mask_p=0.3, average=False),
    Case("mask2d_u8_d64h8_b3_t7", "self-attention with 2-D U8 attn_mask (1 = disallowed), averaged weights",
         B=3, T=7, D=64, H=8, mask="u8_2d"),
    # --- key_padding_mask -------------------------------------------------------
    Case("kpm_bool_d64h8_b3_t7", "self-attention with BOOL key_padding_mask, ragged lengths 7,3,5, averaged weights",
         B=3, T=7, D=64, H=8, kpm_lengths=[7, 3, 5]),
    Case("kpm_u8_d64h8_b3_t7_s13_perhead", "cross-attention with U8 key_padding_mask (1 = padding), lengths 13,4,9; torch 1.13 rejects U8 so torch got .bool(); per-head weights",
         B=3, T=7, S=13, D=64, H=8, kpm_lengths=[13, 4, 9], kpm_dtype="u8", average=False),
    Case("kpm_causal_d64h8_b3_t7", "causal self-attention combined with BOOL key_padding_mask lengths 7,3,5, averaged weights",
         B=3, T=7, D=64, H=8, causal=True, kpm_lengths=[7, 3, 5]),
    Case("kpm_float2d_d64h8_b3_t7_perhead", "2-D F32 additive attn_mask combined with BOOL key_padding_mask lengths 6,2,7, per-head weights",
         B=3, T=7, D=64, H=8, mask="float2d", mask_p=0.25, kpm_lengths=[6, 2, 7], average=False),
    # --- fully masked rows (project contract: zero context, zero weights) -------
    Case("fullmask_kpm_d64h8_b3_t7", "fully masked batch: key_padding_mask lengths 7,0,4 (batch 1 masks every key), averaged weights",
         B=3, T=7, D=64, H=8, kpm_lengths=[7, 0, 4], expect_full=56),
    Case("fullmask_kpm_d64h8_b3_t7_noweights", "fully masked batch: key_padding_mask lengths 5,0,7, need_weights=false",
         B=3, T=7, D=64, H=8, kpm_lengths=[5, 0, 7], need_weights=False, expect_full=56),
    Case("fullmask_bool2d_row_d64h8_b3_t7_s13_perhead", "2-D BOOL attn_mask with query rows 2 and 6 all True (fully masked in every batch/head), cross-attention, per-head weights",
         B=3, T=7, S=13, D=64, H=8, mask="bool2d", full_rows=[(2,), (6,)], average=False,
         expect_full=48),
    Case("fullmask_bool3d_someheads_d64h8_b3_t7", "3-D BOOL attn_mask with some (b,h,t) rows all True in only some heads, averaged weights (masked heads contribute zeros to the average)",
         B=3, T=7, D=64, H=8, mask="bool3d",
         full_rows=[(0 * 8 + 1, 3), (0 * 8 + 5, 3), (1 * 8 + 0, 0), (2 * 8 + 7, 6), (2 * 8 + 2, 6), (2 * 8 + 3, 6)],
         expect_full=6),
    Case("fullmask_float3d_combo_d64h8_b3_t7_perhead", "3-D F32 attn_mask with rows all -inf in some heads, plus one row fully masked only by attn_mask (-inf on keys 0,1) combined with key_padding_mask lengths 7,7,2; per-head weights",
         B=3, T=7, D=64, H=8, mask="float3d", mask_p=0.3, kpm_lengths=[7, 7, 2],
         full_rows=[(1 * 8 + 4, 2), (1 * 8 + 6, 5)], combo_rows=[(2 * 8 + 3, 4)],
         average=False, expect_full=3),
]
for _i, _c in enumerate(CASES):
    _c.seed = 1000 + _i


# --------------------------------------------------------------------------
# building a case
# --------------------------------------------------------------------------
def build_inputs(c):
    """Module (float32, eval) and torch inputs, all from the seeded torch RNG."""
    torch.manual_seed(c.seed)
    kw = {}
    if c.kdim is not None:
        kw["kdim"] = c.kdim
    if c.vdim is not None:
        kw["vdim"] = c.vdim
    mha = torch.nn.MultiheadAttention(c.D, c.H, dropout=0.0, bias=c.bias, batch_first=True, **kw)
    mha.eval()
    with torch.no_grad():
        # PyTorch initialises biases to zero, which would hide bias bugs: redraw them.
        if c.bias:
            mha.in_proj_bias.uniform_(-BIAS_BOUND, BIAS_BOUND)
            mha.out_proj.bias.uniform_(-BIAS_BOUND, BIAS_BOUND)
        if c.D >= SYNTH_MIN_D:
            for name, p in mha.named_parameters():
                p.copy_(torch.from_numpy(synth(c.seed, name, tuple(p.shape), SYNTH_E)))

    kdim = c.kdim or c.D
    vdim = c.vdim or c.D
    S = c.src_len
    query = torch.randn(c.B, c.T, c.D) * c.q_scale
    if c.self_attn:
        key = value = None
    else:
        key = torch.randn(c.B, S, kdim)
        value = torch.randn(c.B, S, vdim)

    attn_mask = None
    if c.mask is not None:
        three = c.mask.endswith("3d")
        shape = (c.B * c.H, c.T, S) if three else (c.T, S)
        dis = torch.rand(shape) < c.mask_p
        # keep at least one allowed, non-padded key per row (unless full_rows /
        # combo_rows say otherwise)
        L = S
        if c.kpm_lengths is not None and min(c.kpm_lengths) > 0:
            L = min(c.kpm_lengths)
        tt = torch.arange(c.T)
        dis[..., tt, tt % L] = False
        for r in c.full_rows:
            dis[r] = True
        for bh, t in c.combo_rows:
            assert three and c.kpm_lengths is not None
            n = c.kpm_lengths[bh // c.H]
            dis[bh, t, :n] = True
            dis[bh, t, n:] = False
        if c.mask.startswith("bool"):
            attn_mask = dis
        elif c.mask.startswith("u8"):
            attn_mask = dis.to(torch.uint8)
        elif c.mask.startswith("float"):
            vals = torch.randn(shape) * 2.0
            attn_mask = vals.masked_fill(dis, float("-inf"))
        else:
            raise ValueError(c.mask)
    else:
        assert not c.full_rows and not c.combo_rows

    kpm = None
    if c.kpm_lengths is not None:
        assert len(c.kpm_lengths) == c.B
        lens = torch.tensor(c.kpm_lengths)
        kpm = torch.arange(S)[None, :] >= lens[:, None]
        if c.kpm_dtype == "u8":
            kpm = kpm.to(torch.uint8)
    return mha, query, key, value, attn_mask, kpm


def run_torch(mha, c, query, key, value, attn_mask, kpm):
    """Call the module as a user would (inference, no_grad). Returns numpy arrays."""
    if c.causal:
        assert attn_mask is None
        attn_mask = torch.ones(c.T, c.src_len).triu(1).bool()
    if kpm is not None and kpm.dtype == torch.uint8:
        # torch 1.13 MultiheadAttention.forward rejects uint8 key_padding_mask
        kpm = kpm.bool()
    if c.self_attn:
        k = v = query  # same tensor object: enables torch's fast path where applicable
    else:
        k, v = key, value
    # torch 1.13's fast path (_native_multi_head_attention) crashes when the
    # module has no bias ("argument 'qkv_bias' must be Tensor, not NoneType"):
    # for bias=False keep autograd enabled, which selects the Python path.
    grad_mode = torch.enable_grad() if not c.bias else torch.no_grad()
    with grad_mode, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uint8 attn_mask deprecation
        out, w = mha(query, k, v, key_padding_mask=kpm, need_weights=c.need_weights,
                     attn_mask=attn_mask, average_attn_weights=c.average)
    return out.detach().numpy(), (None if w is None else w.detach().numpy())


def uses_fast_path(c, attn_mask):
    # mirrors the conditions in torch 1.13 MultiheadAttention.forward under no_grad
    return (c.self_attn and c.kdim in (None, c.D) and c.vdim in (None, c.D)
            and attn_mask is None and not c.causal and c.H % 2 == 0 and c.bias)


# --------------------------------------------------------------------------
# own float64 reference (project contract for fully masked rows)
# --------------------------------------------------------------------------
def reference(params, c, query, key, value, attn_mask, kpm):
    """float64 MHA. Fully masked rows get zero weights and zero context.

    Returns (out [B,T,D], weights [B,H,T,S], full [B,H,T] bool).
    """
    q_in = query
    k_in = query if key is None else key
    v_in = query if value is None else value
    B, T, D = q_in.shape
    S = k_in.shape[1]
    H = c.H
    hd = D // H
    if "in_proj_weight" in params:
        Wq, Wk, Wv = np.split(params["in_proj_weight"], 3, axis=0)
    else:
        Wq, Wk, Wv = params["q_proj_weight"], params["k_proj_weight"], params["v_proj_weight"]
    if "in_proj_bias" in params:
        bq, bk, bv = np.split(params["in_proj_bias"], 3)
    else:
        bq = bk = bv = np.zeros(D)
    Q = q_in @ Wq.T + bq
    K = k_in @ Wk.T + bk
    V = v_in @ Wv.T + bv
    Q = Q.reshape(B, T, H, hd).transpose(0, 2, 1, 3)
    K = K.reshape(B, S, H, hd).transpose(0, 2, 1, 3)
    V = V.reshape(B, S, H, hd).transpose(0, 2, 1, 3)
    scores = (Q @ K.transpose(0, 1, 3, 2)) / math.sqrt(hd)      # [B,H,T,S]

    dis = np.zeros((B, H, T, S), dtype=bool)
    add = np.zeros((B, H, T, S))
    if c.causal:
        dis |= np.triu(np.ones((T, S), dtype=bool), 1)[None, None]
    if attn_mask is not None:
        m = attn_mask.reshape((B, H, T, S) if attn_mask.ndim == 3 else (1, 1, T, S))
        if m.dtype == np.bool_ or m.dtype == np.uint8:
            dis |= m.astype(bool)
        else:
            assert not np.isnan(m).any() and not np.isposinf(m).any()
            neg = np.isneginf(m)
            dis |= neg
            add = add + np.where(neg, 0.0, m)
    if kpm is not None:
        dis |= kpm.astype(bool)[:, None, None, :]

    full = dis.all(axis=-1)                                      # [B,H,T]
    s = np.where(dis, -np.inf, scores + add)
    mx = np.where(full, 0.0, s.max(axis=-1))
    e = np.where(dis, 0.0, np.exp(s - mx[..., None]))
    den = e.sum(axis=-1)
    w = e / np.where(full, 1.0, den)[..., None]                  # zero rows where full
    ctx = (w @ V).transpose(0, 2, 1, 3).reshape(B, T, D)
    out = ctx @ params["out_proj.weight"].T
    if "out_proj.bias" in params:
        out = out + params["out_proj.bias"]
    return out, w, full


def rel_err(a, ref):
    d = np.linalg.norm((a.astype(np.float64) - ref).ravel())
    n = np.linalg.norm(ref.ravel())
    return d / n if n > 0 else d


# --------------------------------------------------------------------------
# generate one case
# --------------------------------------------------------------------------
def generate(c):
    assert c.D % c.H == 0
    mha, query, key, value, attn_mask, kpm = build_inputs(c)
    fast = uses_fast_path(c, attn_mask)

    # torch float32
    out32, w32 = run_torch(mha, c, query, key, value, attn_mask, kpm)
    # torch float64, same module converted with .double(), inputs .double()
    mha64 = copy.deepcopy(mha).double()
    q64 = query.double()
    k64 = None if key is None else key.double()
    v64 = None if value is None else value.double()
    am64 = None if attn_mask is None else (attn_mask.double() if attn_mask.is_floating_point() else attn_mask)
    out64t, w64t = run_torch(mha64, c, q64, k64, v64, am64, kpm)

    # own float64 reference
    sd = {k: v.detach().numpy().copy() for k, v in mha.state_dict().items() if v is not None}
    params64 = {k: v.astype(np.float64) for k, v in sd.items()}
    ref_out, ref_w, full = reference(
        params64, c, q64.numpy(), None if k64 is None else k64.numpy(),
        None if v64 is None else v64.numpy(),
        None if attn_mask is None else (am64.numpy()),
        None if kpm is None else kpm.numpy())
    B, H, T, S = c.B, c.H, c.T, c.src_len
    n_full = int(full.sum())
    assert n_full == c.expect_full, (c.name, "fully masked rows", n_full, c.expect_full)
    row_hit = full.any(axis=1)          # [B,T]: some head fully masked at (b,t)
    if c.need_weights:
        ref_wout = ref_w.mean(axis=1) if c.average else ref_w
        w_hit = row_hit if c.average else full

    # check own reference against torch float64 on rows without full masking
    ok_rows = ~row_hit
    e_out = rel_err(out64t[ok_rows], ref_out[ok_rows])
    assert e_out <= REF_TOL, (c.name, "ref vs torch f64 attn_output", e_out)
    e_w = 0.0
    if c.need_weights:
        ok_w = ~w_hit
        e_w = rel_err(w64t[ok_w], ref_wout[ok_w])
        assert e_w <= REF_TOL, (c.name, "ref vs torch f64 weights", e_w)
    # torch (f32 and f64) gives NaN exactly on the rows touched by full masking
    for arr, hit, what in [(out32, row_hit, "out32"), (out64t, row_hit, "out64")] + (
            [(w32, w_hit, "w32"), (w64t, w_hit, "w64")] if c.need_weights else []):
        nan_rows = np.isnan(arr).any(axis=-1)
        assert np.array_equal(nan_rows, hit), (c.name, what, "NaN rows differ from fully-masked rows")
        assert np.isnan(arr[hit]).all() if hit.any() else True, (c.name, what)

    # torch float32 with NaN rows replaced by the contract value
    out32 = out32.copy()
    out32[row_hit] = ref_out[row_hit].astype(np.float32)
    if c.need_weights:
        w32 = w32.copy()
        w32[w_hit] = ref_wout[w_hit].astype(np.float32)
        assert w32.shape == ((B, T, S) if c.average else (B, H, T, S)), w32.shape
    assert out32.shape == (B, T, c.D)
    assert np.isfinite(out32).all()

    tensors = {"query": query.numpy().astype(np.float32),
               "attn_output": out32.astype(np.float32),
               "ref.attn_output": ref_out.astype(np.float64)}
    if not c.self_attn:
        tensors["key"] = key.numpy()
        tensors["value"] = value.numpy()
    synthetic = c.D >= SYNTH_MIN_D
    if not synthetic:
        for k, v in sd.items():
            tensors[k] = v.astype(np.float32)
    if attn_mask is not None:
        tensors["attn_mask"] = attn_mask.numpy()
    if kpm is not None:
        tensors["key_padding_mask"] = kpm.numpy()
    if c.need_weights:
        tensors["attn_output_weights"] = w32.astype(np.float32)
        tensors["ref.attn_output_weights"] = ref_wout.astype(np.float64)

    meta = {
        "num_heads": str(c.H),
        "embed_dim": str(c.D),
        "kdim": str(c.kdim or c.D),
        "vdim": str(c.vdim or c.D),
        "bias": "true" if c.bias else "false",
        "batch_first": "true",
        "need_weights": "true" if c.need_weights else "false",
        "average_attn_weights": "true" if c.average else "false",
        "causal": "true" if c.causal else "false",
        "description": c.desc,
        "torch_version": torch.__version__,
        "fully_masked_rows": str(n_full),
        "torch_fast_path": "true" if fast else "false",
        "torch_rel_err.attn_output": "%.6e" % rel_err(out32, ref_out),
        "torch_max_abs_err.attn_output": "%.6e" % np.abs(out32.astype(np.float64) - ref_out).max(),
    }
    if c.need_weights:
        meta["torch_rel_err.attn_output_weights"] = "%.6e" % rel_err(w32, ref_wout)
        meta["torch_max_abs_err.attn_output_weights"] = "%.6e" % np.abs(w32.astype(np.float64) - ref_wout).max()
    if synthetic:
        meta["synthetic_weights"] = "splitmix64"
        meta["synthetic_seed"] = str(c.seed)
        meta["synthetic_scale_log2"] = str(SYNTH_E)
        meta["synthetic_params"] = ",".join(
            "%s[%s]" % (k, ",".join(str(d) for d in v.shape)) for k, v in sd.items())
        # sanity: the parameters torch used are exactly the synthetic ones
        for k, v in sd.items():
            assert np.array_equal(v, synth(c.seed, k, v.shape, SYNTH_E)), k

    path = os.path.join(OUT_DIR, c.name + ".safetensors")
    size = save_verified(path, tensors, meta, c.name)  # re-read and compared bit for bit
    assert size <= MAX_FILE, (c.name, size)
    return size, meta, e_out, e_w, tensors


def shape_summary(tensors):
    return ", ".join(f"{k}{list(v.shape)}{'' if v.dtype == np.float32 else ':' + str(v.dtype)}"
                     for k, v in sorted(tensors.items()) if not k.startswith("ref.") and "proj" not in k)


def main():
    torch.set_num_threads(1)          # deterministic reductions
    torch.use_deterministic_algorithms(True)
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    check = synth_selfcheck()
    print("synthetic-weights check: splitmix64 seed=1 e=%d out_proj.weight[0:3] = %s"
          % (SYNTH_E, ", ".join(repr(v) for v in check)))
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for c in CASES:
        size, meta, e_out, e_w, tensors = generate(c)
        total += size
        werr = meta.get("torch_rel_err.attn_output_weights", "-")
        print(f"{c.name:48s} {size:9d} B  full={meta['fully_masked_rows']:>3s} "
              f"fast={meta['torch_fast_path']:5s} rel_err out={meta['torch_rel_err.attn_output']} "
              f"w={werr}  ref-vs-torch64 out={e_out:.1e} w={e_w:.1e}")
        print(f"    {shape_summary(tensors)}")
    # stale files from renamed cases would silently linger: flag them
    stale = sorted(f for f in os.listdir(OUT_DIR)
                   if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names)
    if stale:
        print("WARNING: files not produced by this script:", ", ".join(stale))
    print(f"{len(CASES)} files, total {total} bytes ({total / 1e6:.2f} MB)")
    assert total <= MAX_TOTAL, total


if __name__ == "__main__":
    main()
