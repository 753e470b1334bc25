#!/usr/bin/env python3
"""Generate PyTorch autograd golden files for the single ops of package nn.

Run from the repository root with Debian's python (torch 1.13, numpy 1.24):

    /usr/bin/python3 scripts/golden/gen_ops.py       # -v also lists every tensor

Writes testdata/golden/ops/<case>.safetensors, one file per case (see CASES and
the "Op golden files" section of scripts/golden/README.md for the contract).
Each file holds the op's inputs, a random upstream gradient `dy`, the float32
outputs and autograd gradients PyTorch gave (`y`, `grad.x`, ...) and the same
from the op run in float64 on the same float32 inputs (`ref.y`,
`ref.grad.x`, ...).  Every file is read back and compared bit for bit; the
output is deterministic (fixed seeds, one thread, sorted JSON), so reruns give
byte-identical files.

Ops (the Go function pairs in nn/*.go):
  linear      F.linear                                 LinearForward / LinearBackward
  layernorm   F.layer_norm (+ mean, rstd)              LayerNormForward / LayerNormBackward
  rmsnorm     x * rsqrt(mean(x^2) + eps) * w (+ rstd)  RMSNormForward / RMSNormBackward
  gelu_erf    F.gelu(approximate="none")               GELU(GELUErf) / GELUBackward
  gelu_tanh   F.gelu(approximate="tanh")               GELU(GELUTanh) / GELUBackward
  silu        F.silu                                   SiLU / SiLUBackward
  relu        F.relu                                   ReLU / ReLUBackward
  swiglu      F.silu(gate) * up                        SwiGLU / SwiGLUBackward
  embedding   F.embedding (repeated ids)               EmbeddingForward / EmbeddingBackward
  ce_*        F.cross_entropy(reduction="mean")        CrossEntropy
"""

import math
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List

import numpy as np
import torch
import torch.nn.functional as Fn

sys.dont_write_bytecode = True  # keep scripts/golden free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
from golden_common import rel_l2, save_verified  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(REPO, "testdata", "golden", "ops")

F32_TOL = 1e-5       # torch float32 vs float64, relative L2 per tensor
OWN_TOL = 1e-12      # own plain-ops float64 formula vs the torch op in float64
MAX_TOTAL = 300_000  # bytes, whole folder


def f32(s):
    """The float32 value Go holds for the decimal string s, as a Python float."""
    return float(np.float32(float(s)))


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    op: str
    desc: str
    seed: int
    sizes: Dict[str, int]
    params: Dict[str, str] = field(default_factory=dict)   # metadata strings (eps, smoothing, ...)


CASES = [
    Case("linear", "linear", "F.linear, x[7,13] w[11,13] b[11]", 101, dict(m=7, **{"in": 13}, out=11)),
    Case("layernorm", "layernorm", "F.layer_norm over d=13, rows 6, eps 1e-5, x with a non-zero mean",
         202, dict(rows=6, d=13), dict(eps="1e-5")),
    Case("rmsnorm", "rmsnorm", "x * rsqrt(mean(x^2) + eps) * w over d=11, rows 5, eps 1e-6",
         303, dict(rows=5, d=11), dict(eps="1e-6")),
    Case("gelu_erf", "gelu", "F.gelu(approximate='none') on [6,13], x ~ 2 N(0,1)",
         404, dict(rows=6, d=13), dict(kind="erf")),
    Case("gelu_tanh", "gelu", "F.gelu(approximate='tanh') on [7,11], x ~ 2 N(0,1)",
         505, dict(rows=7, d=11), dict(kind="tanh")),
    Case("silu", "silu", "F.silu on [5,13], x ~ 3 N(0,1)", 606, dict(rows=5, d=13)),
    Case("relu", "relu", "F.relu on [6,11], no exact zeros in x", 707, dict(rows=6, d=11)),
    Case("swiglu", "swiglu", "F.silu(gate) * up on [7,12], gate ~ 2 N(0,1)", 808, dict(rows=7, d=12)),
    Case("embedding", "embedding", "F.embedding, table[17,13], 7 ids with id 3 three times and 11 twice",
         909, dict(num=17, dim=13, n=7)),
    Case("ce_smooth0", "cross_entropy",
         "F.cross_entropy mean, label_smoothing 0, ignore_index -100 on rows 2 and 5, "
         "logit offsets +1e3 (rows 0, 3) and -1e3 (rows 1, 6)",
         1010, dict(rows=7, V=17), dict(smoothing="0", ignore_index="-100")),
    Case("ce_smooth01", "cross_entropy",
         "F.cross_entropy mean, label_smoothing 0.1, ignore_index -1 on rows 0 and 4, "
         "logit offsets +1e3 (rows 1, 5) and -1e3 (row 2)",
         1111, dict(rows=6, V=17), dict(smoothing="0.1", ignore_index="-1")),
]

CE_LAYOUT = {  # case -> (ignored rows, +1e3 rows, -1e3 rows)
    "ce_smooth0": ([2, 5], [0, 3], [1, 6]),
    "ce_smooth01": ([0, 4], [1, 5], [2]),
}
EMB_IDS = [3, 11, 3, 0, 16, 11, 3]


# --------------------------------------------------------------------------
# inputs (float32 torch tensors, integers as int64)
# --------------------------------------------------------------------------
def draw_inputs(c, g):
    s = c.sizes

    def randn(*shape, scale=1.0, shift=0.0):
        return (torch.randn(shape, generator=g, dtype=torch.float32) * scale + shift).contiguous()

    if c.op == "linear":
        return dict(x=randn(s["m"], s["in"]), w=randn(s["out"], s["in"], scale=0.3),
                    b=randn(s["out"], scale=0.2), dy=randn(s["m"], s["out"]))
    if c.op == "layernorm":
        return dict(x=randn(s["rows"], s["d"], scale=1.5, shift=0.5), w=randn(s["d"], scale=0.2, shift=1.0),
                    b=randn(s["d"], scale=0.2), dy=randn(s["rows"], s["d"]))
    if c.op == "rmsnorm":
        return dict(x=randn(s["rows"], s["d"], scale=1.5, shift=0.3), w=randn(s["d"], scale=0.2, shift=1.0),
                    dy=randn(s["rows"], s["d"]))
    if c.op == "gelu":
        return dict(x=randn(s["rows"], s["d"], scale=2.0), dy=randn(s["rows"], s["d"]))
    if c.op == "silu":
        return dict(x=randn(s["rows"], s["d"], scale=3.0), dy=randn(s["rows"], s["d"]))
    if c.op == "relu":
        x = randn(s["rows"], s["d"])
        assert bool((x != 0).all()), "exact zero in relu input"
        return dict(x=x, dy=randn(s["rows"], s["d"]))
    if c.op == "swiglu":
        return dict(gate=randn(s["rows"], s["d"], scale=2.0), up=randn(s["rows"], s["d"]),
                    dy=randn(s["rows"], s["d"]))
    if c.op == "embedding":
        ids = torch.tensor(EMB_IDS, dtype=torch.int64)
        assert ids.numel() == s["n"] and int(ids.max()) < s["num"]
        return dict(table=randn(s["num"], s["dim"]), ids=ids, dy=randn(s["n"], s["dim"]))
    if c.op == "cross_entropy":
        ign, plus, minus = CE_LAYOUT[c.name]
        rows, V = s["rows"], s["V"]
        logits = randn(rows, V, scale=2.0)
        for r in plus:
            logits[r] += 1000.0
        for r in minus:
            logits[r] -= 1000.0
        targets = torch.randint(0, V, (rows,), generator=g, dtype=torch.int64)
        for r in ign:
            targets[r] = int(c.params["ignore_index"])
        return dict(logits=logits.contiguous(), targets=targets)
    raise ValueError(c.op)


# --------------------------------------------------------------------------
# the ops: torch (module/functional) form and an own plain-ops float64 form
# Each returns a dict of outputs; the first output listed in UPSTREAM gets the
# upstream gradient.
# --------------------------------------------------------------------------
def op_torch(c, T):
    p = c.params
    if c.op == "linear":
        return dict(y=Fn.linear(T["x"], T["w"], T["b"]))
    if c.op == "layernorm":
        d = c.sizes["d"]
        y = Fn.layer_norm(T["x"], (d,), T["w"], T["b"], eps=f32(p["eps"]))
        with torch.no_grad():
            _, mean, rstd = torch.native_layer_norm(T["x"], [d], T["w"], T["b"], f32(p["eps"]))
        return dict(y=y, mean=mean.reshape(-1), rstd=rstd.reshape(-1))
    if c.op == "rmsnorm":   # no RMSNorm op in torch 1.13: the usual Llama-style expression
        rstd = torch.rsqrt(T["x"].pow(2).mean(-1, keepdim=True) + f32(p["eps"]))
        return dict(y=T["x"] * rstd * T["w"], rstd=rstd.detach().reshape(-1))
    if c.op == "gelu":
        return dict(y=Fn.gelu(T["x"], approximate="none" if p["kind"] == "erf" else "tanh"))
    if c.op == "silu":
        return dict(y=Fn.silu(T["x"]))
    if c.op == "relu":
        return dict(y=Fn.relu(T["x"]))
    if c.op == "swiglu":
        return dict(y=Fn.silu(T["gate"]) * T["up"])
    if c.op == "embedding":
        return dict(y=Fn.embedding(T["ids"], T["table"]))
    if c.op == "cross_entropy":
        return dict(loss=Fn.cross_entropy(T["logits"], T["targets"], reduction="mean",
                                          ignore_index=int(p["ignore_index"]),
                                          label_smoothing=f32(p["smoothing"])))
    raise ValueError(c.op)


def op_own(c, T):
    """Plain float64 tensor ops, none of the functional ops above."""
    p = c.params
    if c.op == "linear":
        return dict(y=torch.matmul(T["x"], T["w"].transpose(0, 1)) + T["b"])
    if c.op == "layernorm":
        d = c.sizes["d"]
        mu = T["x"].sum(-1, keepdim=True) / d
        xc = T["x"] - mu
        var = (xc * xc).sum(-1, keepdim=True) / d
        rstd = 1.0 / torch.sqrt(var + f32(p["eps"]))
        return dict(y=xc * rstd * T["w"] + T["b"], mean=mu.detach().reshape(-1), rstd=rstd.detach().reshape(-1))
    if c.op == "rmsnorm":
        d = c.sizes["d"]
        ms = (T["x"] * T["x"]).sum(-1, keepdim=True) / d
        rstd = 1.0 / torch.sqrt(ms + f32(p["eps"]))
        return dict(y=T["x"] / torch.sqrt(ms + f32(p["eps"])) * T["w"], rstd=rstd.detach().reshape(-1))
    if c.op == "gelu":
        x = T["x"]
        if p["kind"] == "erf":
            return dict(y=0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))))
        k = math.sqrt(2.0 / math.pi)
        return dict(y=0.5 * x * (1.0 + torch.tanh(k * (x + 0.044715 * x * x * x))))
    if c.op == "silu":
        return dict(y=T["x"] / (1.0 + torch.exp(-T["x"])))
    if c.op == "relu":
        return dict(y=torch.where(T["x"] > 0, T["x"], torch.zeros_like(T["x"])))
    if c.op == "swiglu":
        return dict(y=T["gate"] / (1.0 + torch.exp(-T["gate"])) * T["up"])
    if c.op == "embedding":
        onehot = (T["ids"][:, None] == torch.arange(c.sizes["num"])[None, :]).to(T["table"].dtype)
        return dict(y=torch.matmul(onehot, T["table"]))
    if c.op == "cross_entropy":
        ls, ig, V = f32(p["smoothing"]), int(p["ignore_index"]), c.sizes["V"]
        keep = T["targets"] != ig
        lg, t = T["logits"][keep], T["targets"][keep]
        m = lg.max(dim=-1, keepdim=True).values
        lse = (m + torch.log(torch.exp(lg - m).sum(-1, keepdim=True))).squeeze(-1)
        lt = lg.gather(1, t[:, None]).squeeze(1)
        row = lse - (1 - ls) * lt - ls * lg.sum(-1) / V
        return dict(loss=row.sum() / row.shape[0])
    raise ValueError(c.op)


GRAD_INPUTS = {   # float inputs that get a gradient, per op
    "linear": ["x", "w", "b"], "layernorm": ["x", "w", "b"], "rmsnorm": ["x", "w"], "gelu": ["x"],
    "silu": ["x"], "relu": ["x"], "swiglu": ["gate", "up"], "embedding": ["table"],
    "cross_entropy": ["logits"],
}


def run(c, fn, inputs, dtype):
    """Forward with `fn` in `dtype`, then backward with upstream `dy` (or 1 for the loss).
    Returns name -> float64 numpy for the outputs and `grad.<input>`, in `dtype`'s precision."""
    T = {}
    for k, v in inputs.items():
        if k == "dy" or not v.is_floating_point():
            T[k] = v
        else:
            T[k] = v.to(dtype).clone().requires_grad_(k in GRAD_INPUTS[c.op])
    outs = fn(c, T)
    if c.op == "cross_entropy":
        outs["loss"].backward()
    else:
        outs["y"].backward(inputs["dy"].to(dtype))
    res = {k: v.detach().numpy().copy() for k, v in outs.items()}
    for k in GRAD_INPUTS[c.op]:
        res["grad." + k] = T[k].grad.detach().numpy().copy()
    for k, v in res.items():
        assert v.dtype == (np.float32 if dtype == torch.float32 else np.float64), (c.name, k, v.dtype)
    return res




# --------------------------------------------------------------------------
# one case
# --------------------------------------------------------------------------
def generate(c):
    g = torch.Generator().manual_seed(c.seed)
    inputs = draw_inputs(c, g)
    out32 = run(c, op_torch, inputs, torch.float32)
    out64 = run(c, op_torch, inputs, torch.float64)
    own = run(c, op_own, inputs, torch.float64)
    assert sorted(out32) == sorted(out64) == sorted(own), c.name

    e_own, e32 = {}, {}
    for k in sorted(out64):
        assert np.isfinite(out32[k]).all() and np.isfinite(out64[k]).all(), (c.name, k)
        assert np.linalg.norm(out64[k]) > 0, (c.name, k, "all-zero reference")
        e_own[k] = rel_l2(own[k], out64[k])
        e32[k] = rel_l2(out32[k], out64[k])
        assert e_own[k] <= OWN_TOL, (c.name, k, "own vs torch f64", e_own[k])
        assert e32[k] <= F32_TOL, (c.name, k, "torch f32 vs f64", e32[k])

    tensors = {}
    for k, v in inputs.items():
        tensors[k] = v.numpy().astype(np.int64 if not v.is_floating_point() else np.float32)
    for k in out32:
        tensors[k] = np.asarray(out32[k], dtype=np.float32)
        tensors["ref." + k] = np.asarray(out64[k], dtype=np.float64)
        assert tensors[k].shape == tensors["ref." + k].shape
    for k in GRAD_INPUTS[c.op]:
        assert tensors["grad." + k].shape == tensors[k].shape, (c.name, k)

    meta = {
        "op": c.op,
        "description": c.desc,
        "torch_version": torch.__version__,
        "sizes": ",".join(f"{k}={v}" for k, v in c.sizes.items()),
        "note": ("Inputs are float32. `<name>` is torch float32 (outputs, and grad.<input> from autograd with "
                 "upstream gradient dy, or 1 for the loss); `ref.<name>` is the same op run in float64 on the "
                 "same inputs. eps / label_smoothing were passed to torch as float32-rounded values."),
    }
    meta.update(c.params)
    for k in sorted(e32):
        meta["torch_rel_err." + k] = f"{e32[k]:.6e}"

    path = os.path.join(OUT_DIR, c.name + ".safetensors")
    size = save_verified(path, tensors, meta, c.name)
    return size, e32, e_own, tensors


def main():
    torch.set_num_threads(1)          # deterministic reductions
    torch.use_deterministic_algorithms(True)
    verbose = "-v" in sys.argv[1:]
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    for c in CASES:
        size, e32, e_own, tensors = generate(c)
        total += size
        print(f"{c.name:12s} {size:6d} B  torch f32 vs f64 rel L2: " +
              "  ".join(f"{k}={v:.2e}" for k, v in sorted(e32.items())) +
              f"  | own f64 vs torch f64 worst {max(e_own.values()):.1e}")
        if verbose:
            for k, v in sorted(tensors.items()):
                print(f"      {k} {v.dtype} {list(v.shape)}")
    stale = sorted(f for f in os.listdir(OUT_DIR)
                   if f.endswith(".safetensors") and f[:-len(".safetensors")] not in names)
    if stale:
        print("WARNING: files not produced by this script:", ", ".join(stale))
    print(f"{len(CASES)} files, total {total} bytes ({total / 1e3:.1f} KB)")
    assert total <= MAX_TOTAL, total


if __name__ == "__main__":
    main()
