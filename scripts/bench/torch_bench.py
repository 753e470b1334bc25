#!/usr/bin/python3
"""PyTorch side of attn's benchmarks: the ops of `attn bench`, timed the same way.

    torch_bench.py gemm      --m M --n N --k K [--trans-b]                 [common flags]
    torch_bench.py attention --batch B --heads H [--kv-heads G] --head-dim Dh --seq T
                             [--kv-seq S] [--causal [--align top-left|bottom-right]]
    torch_bench.py mha       --batch B --seq T --dim D --heads H [--causal]
    torch_bench.py decode    --model gpt2-small|smollm-135m|PATH.bin --context N
    torch_bench.py train     --model demo|gpt2-layer [--batch B] [--seq T]
    common: [--threads N] [--json] [--seed S] [--warmup 0.5s] [--warmup-reps 2]
            [--min-time 1s] [--min-reps 5] [--max-time 60s] [--max-reps 10000] [--max-mem-gb 16]

Prints one JSON object (--json) or a summary line, with the same fields as
`attn bench` (op, shape, threads, reps, median_ms, min_ms, gflops, peak_rss_bytes ...)
plus what PyTorch ran on (torch version, BLAS and its kernel, allocator).

The ops are written as a PyTorch 1.13 user writes them:
  gemm       torch.mm(a, b, out=c), b an [n,k] tensor's .t() view with --trans-b
  attention  scores = q @ k.transpose(-2, -1) * scale; masked_fill(mask, -inf) for
             causal (the bool mask built once, like nanoGPT's registered buffer);
             softmax(-1); @ v. GQA (--kv-heads G < H) repeats k and v per call with
             repeat_interleave, as Llama-style code does (1.13 has no
             F.scaled_dot_product_attention and no GQA).
             --backward: q, k, v require grad and each run is the forward then
             out.backward(dout) (autograd through matmul, softmax, matmul; the
             grads set to None first), outside inference_mode. FLOPs counted as
             attn counts them: the forward's × 3.5. --memory-only: one run, no
             warm-up, reporting rss_before_bytes, work_rss_bytes, scores_bytes.
  mha        nn.MultiheadAttention(D, H, batch_first=True).eval() under
             torch.inference_mode(), need_weights=False; --causal passes a bool
             [T,T] attn_mask (True = masked). The JSON says which path PyTorch took
             (the native fast path runs only without a mask).
  decode     a decoder model (scripts/bench/torch_models.py: GPT-2-small- or
             SmolLM-135M-shaped with random weights, or a llama2.c .bin checkpoint)
             with a preallocated KV cache, timed as `attn bench decode` times it:
             prompt = one forward of N tokens from position 0; decode = one
             forward of the single token at position N-1 (the cache filled with
             the first N-1 tokens once, each run rewriting position N-1). --matvec runs one-token projections as
             torch.mv/addmv rather than the GEMM that user code (HF's Conv1D,
             nn.Linear) calls. Reports prompt_* and decode_* timings,
             prompt_tokens_per_s and decode_tokens_per_s; the usual fields (reps,
             median_ms, ...) repeat the decode step's.
  train      one training step, as `attn bench train` (torch_models.py):
             demo = attn's demo Transformer (torch.nn.TransformerEncoderLayer/
             DecoderLayer, batch_first, 2+2 post-LN layers, d_model 64, 4 heads,
             d_ff 256, tied embedding, sinusoidal positions) on a padded batch of
             the reverse task; step = zero_grad, label-smoothed (0.1)
             cross-entropy, backward, clip_grad_norm_(1), AdamW (0.9, 0.98,
             eps 1e-9, weight decay 0.01 on the matrices). gpt2-layer = nanoGPT
             with 1 block (D 768, 12 heads, vocabulary 256, context 1024) at
             B=1, T=1024: zero_grad(set_to_none=True), loss, backward.

Timing method (the same as attn bench): inputs allocated once (seeded); warm-up until
both --warmup-reps runs and --warmup time have passed (one run suffices if it alone
takes longer than --warmup); timed runs until both --min-reps and --min-time, stopping
at --max-reps or before a run that would end after --max-time; the median is reported.

Memory: the naive attention materialises B·H·T·S float32 scores, and out-of-place
ops hold two such tensors at once. When that (plus the mask) would exceed --max-mem-gb
the script refuses and reports `"error": "would need N GB ..."`; an allocation failure
is reported as `"error": "out of memory"`. Both exit with status 3.

Run it with Debian's /usr/bin/python3 (python3-torch 1.13). For PyTorch's best
numbers, see scripts/bench/run.sh: OpenBLAS (not the reference BLAS), tcmalloc
preloaded, OMP_WAIT_POLICY=PASSIVE and OPENBLAS_NUM_THREADS=threads.
"""

import argparse
import json
import math
import os
import platform
import re
import resource
import sys
import time


class OneLineParser(argparse.ArgumentParser):
    """Bad flags: one clear line on stderr, exit status 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(2)


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(s):
    """Parse a Go-style duration ("1s", "500ms", "1m30s") or plain seconds."""
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.findall(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)", s)
    if not parts or "".join(a + b for a, b in parts) != s:
        raise argparse.ArgumentTypeError(f"invalid duration {s!r} (want e.g. 1s, 500ms)")
    return sum(float(a) * _UNITS[b] for a, b in parts)


def positive(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v}, want >= 1")
    return v


def parse_args(argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=positive, default=os.cpu_count(), help="torch.set_num_threads(N) (and OpenBLAS threads)")
    common.add_argument("--json", action="store_true", help="print only the JSON object")
    common.add_argument("--seed", type=int, default=1, help="seed for the inputs and weights")
    common.add_argument("--warmup", type=duration, default=0.5, help="minimum warm-up time (default 0.5s)")
    common.add_argument("--warmup-reps", type=int, default=2, help="minimum warm-up runs")
    common.add_argument("--min-time", type=duration, default=1.0, help="minimum total time of the timed runs (default 1s)")
    common.add_argument("--max-time", type=duration, default=60.0, help="do not start a run that would end after this (default 60s)")
    common.add_argument("--min-reps", type=positive, default=5, help="minimum timed runs")
    common.add_argument("--max-reps", type=positive, default=10000, help="maximum timed runs")
    common.add_argument("--max-mem-gb", type=float, default=16.0, help="refuse shapes whose score tensors would exceed this (GB)")
    common.add_argument("--dry-run", action="store_true", help="only check the flags and the memory guard; time nothing")

    p = OneLineParser(prog="torch_bench.py", description="PyTorch side of attn bench (see the module docstring).")
    sub = p.add_subparsers(dest="op", required=True, parser_class=OneLineParser)

    g = sub.add_parser("gemm", parents=[common], help="torch.mm(a, b): C[m,n] = A[m,k]·B")
    g.add_argument("--m", type=positive, required=True)
    g.add_argument("--n", type=positive, required=True)
    g.add_argument("--k", type=positive, required=True)
    g.add_argument("--trans-b", action="store_true", help="B is an [n,k] tensor used as its .t() view")

    a = sub.add_parser("attention", parents=[common], help="matmul -> softmax -> matmul")
    a.add_argument("--batch", type=positive, default=1)
    a.add_argument("--heads", type=positive, required=True)
    a.add_argument("--kv-heads", type=positive, default=None)
    a.add_argument("--head-dim", type=positive, required=True)
    a.add_argument("--seq", type=positive, required=True)
    a.add_argument("--kv-seq", type=positive, default=None)
    a.add_argument("--causal", action="store_true")
    a.add_argument("--align", choices=["top-left", "bottom-right"], default="top-left")
    a.add_argument("--backward", action="store_true", help="time forward + autograd backward")
    a.add_argument("--memory-only", action="store_true", help="one run, no warm-up: report the memory it took")

    m = sub.add_parser("mha", parents=[common], help="nn.MultiheadAttention forward")
    m.add_argument("--batch", type=positive, default=1)
    m.add_argument("--seq", type=positive, required=True)
    m.add_argument("--dim", type=positive, required=True)
    m.add_argument("--heads", type=positive, required=True)
    m.add_argument("--causal", action="store_true")

    d = sub.add_parser("decode", parents=[common], help="decoder prompt and one-token decode step")
    d.add_argument("--model", default="gpt2-small", help="gpt2-small or smollm-135m (random weights), or a llama2.c .bin file")
    d.add_argument("--context", type=positive, required=True, help="prompt length N; the decode step is at position N-1")
    d.add_argument("--matvec", action="store_true", help="one-token steps use torch.mv/addmv, not GEMM (see torch_models.py)")

    e = sub.add_parser("encode", parents=[common], help="a BERT encoder's forward pass (torch_models.HFBert)")
    e.add_argument("--model", choices=["bert-base"], default="bert-base")
    e.add_argument("--batch", type=positive, default=1)
    e.add_argument("--seq", type=positive, required=True)

    t = sub.add_parser("train", parents=[common], help="one training step (forward, backward, optimizer)")
    t.add_argument("--model", choices=["demo", "gpt2-layer"], default="demo")
    t.add_argument("--batch", type=positive, default=None, help="sequences per step (default 64 demo, 1 gpt2-layer)")
    t.add_argument("--seq", type=positive, default=1024, help="gpt2-layer: tokens per sequence (at most 1024)")

    args = p.parse_args(argv)
    if args.max_reps < args.min_reps:
        p.error(f"--max-reps {args.max_reps} is below --min-reps {args.min_reps}")
    if args.max_time <= 0:
        p.error("--max-time must be > 0")
    if args.op == "attention":
        args.kv_heads = args.kv_heads or args.heads
        args.kv_seq = args.kv_seq or args.seq
        if args.heads % args.kv_heads:
            p.error(f"--kv-heads {args.kv_heads} does not divide --heads {args.heads}")
    if args.op == "mha" and args.dim % args.heads:
        p.error(f"--heads {args.heads} does not divide --dim {args.dim}")
    if args.op == "train":
        args.batch = args.batch or (64 if args.model == "demo" else 1)
        if args.model == "gpt2-layer" and args.seq > 1024:
            p.error(f"--seq {args.seq} exceeds the model's context length 1024")
    if getattr(args, "memory_only", False):
        # One run: the memory is the point, not the time.
        args.warmup, args.warmup_reps, args.min_time, args.min_reps, args.max_reps = 0, 0, 0, 1, 1
    return args


args = parse_args(sys.argv[1:])

# OpenBLAS reads its thread count when it is loaded (import torch), and
# torch.set_num_threads does not reach it: set it first if the caller did not.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)


def causal_pairs(T, S, off):
    """(query, key) pairs a causal mask allows: query i sees keys 0..i+off, within [0, S)."""
    return sum(min(max(i + off + 1, 0), S) for i in range(T))


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def blas_info():
    """Which BLAS serves torch.mm, and which of its kernels runs."""
    try:
        import threadpoolctl

        for lib in threadpoolctl.threadpool_info():
            if lib.get("user_api") == "blas":
                return {
                    "library": lib.get("internal_api"),
                    "version": lib.get("version"),
                    "kernel": lib.get("architecture"),
                    "threading": lib.get("threading_layer"),
                    "threads": lib.get("num_threads"),
                    "path": lib.get("filepath"),
                }
    except Exception:  # threadpoolctl missing or failing: fall back to the maps
        pass
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({ln.split()[-1] for ln in f if "blas" in ln.lower() and "/" in ln})
        return {"library": "unknown (no threadpoolctl)", "path": paths}
    except OSError:
        return {"library": "unknown"}


def allocator():
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name in ("tcmalloc", "jemalloc", "mimalloc"):
        if name in maps:
            return name
    return "glibc malloc"


def measure(f):
    """Warm up and time f as the module docstring says; returns (warmup_reps, times_s)."""
    warm, start = 0, time.perf_counter()
    while warm < args.warmup_reps or time.perf_counter() - start < args.warmup:
        r0 = time.perf_counter()
        f()
        warm += 1
        if args.warmup > 0 and time.perf_counter() - r0 >= args.warmup:
            break
    times, start = [], time.perf_counter()
    while True:
        r0 = time.perf_counter()
        f()
        d = time.perf_counter() - r0
        times.append(d)
        elapsed = time.perf_counter() - start
        if len(times) >= args.max_reps or elapsed + d > args.max_time:
            break
        if len(times) >= args.min_reps and elapsed >= args.min_time:
            break
    return warm, times


def median(times):
    t = sorted(times)
    return t[len(t) // 2] if len(t) % 2 else (t[len(t) // 2 - 1] + t[len(t) // 2]) / 2


def timing_fields(prefix, warm, times):
    """attn bench's timing fields (runs, median, min, max in ms), names prefixed."""
    return {prefix + "reps": len(times), prefix + "warmup_reps": warm,
            prefix + "median_ms": round(median(times) * 1e3, 3),
            prefix + "min_ms": round(min(times) * 1e3, 3), prefix + "max_ms": round(max(times) * 1e3, 3)}


class Refused(Exception):
    pass


class DryRun(Exception):
    pass


def guard(what, nbytes):
    """Refuse shapes over the memory guard; with --dry-run, stop here either way."""
    if nbytes > args.max_mem_gb * 1e9:
        raise Refused(
            f"would need {nbytes / 1e9:.1f} GB for {what} (over the {args.max_mem_gb:g} GB guard, --max-mem-gb)"
        )
    if args.dry_run:
        raise DryRun(f"would need {nbytes / 1e9:.2f} GB for {what}: within the guard")


def setup_gemm(gen):
    m, n, k = args.m, args.n, args.k
    shape = {"m": m, "n": n, "k": k, "trans_b": args.trans_b}
    guard("the operands", 4 * (m * k + k * n + m * n))
    a = torch.rand(m, k, generator=gen) * 2 - 1
    b = (torch.rand(n, k, generator=gen) * 2 - 1).t() if args.trans_b else torch.rand(k, n, generator=gen) * 2 - 1
    c = torch.empty(m, n)

    def run():
        torch.mm(a, b, out=c)

    layout = "NT" if args.trans_b else "NN"
    return shape, f"m={m} n={n} k={k} {layout}", 2.0 * m * n * k, run, {}


def setup_attention(gen):
    B, H, G, Dh, T, S = args.batch, args.heads, args.kv_heads, args.head_dim, args.seq, args.kv_seq
    shape = {"batch": B, "heads": H, "kv_heads": G, "head_dim": Dh, "seq": T, "kv_seq": S,
             "causal": args.causal, "align": args.align}
    off = S - T if args.align == "bottom-right" else 0
    scores = 4 * B * H * T * S
    operands = 4 * (2 * B * H * T * Dh + 2 * B * G * S * Dh)
    # Score tensors alive at once: forward, the product and the scaled (and
    # masked) copy; forward+backward, the saved softmax output plus, in the
    # backward, the incoming gradient, softmax's gradient and (causal)
    # masked_fill's, measured with --memory-only at T=1024..4096.
    live = (4 if args.causal else 3) if args.backward else 2
    if args.backward:
        operands *= 2  # the gradients
    guard(f"the [B={B},H={H},T={T},S={S}] score tensors ({live} x {scores / 1e9:.1f} GB"
          + (f" + {T * S / 1e9:.2f} GB mask)" if args.causal else ")"),
          live * scores + (T * S if args.causal else 0) + operands)
    q = torch.rand(B, H, T, Dh, generator=gen) * 2 - 1
    k = torch.rand(B, G, S, Dh, generator=gen) * 2 - 1
    v = torch.rand(B, G, S, Dh, generator=gen) * 2 - 1
    scale = 1.0 / math.sqrt(Dh)
    mask = None
    pairs = T * S
    if args.causal:
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=off).logical_not()  # True = masked out
        pairs = causal_pairs(T, S, off)
    rep = H // G

    def run():
        kk, vv = k, v
        if rep > 1:
            kk = k.repeat_interleave(rep, dim=1)
            vv = v.repeat_interleave(rep, dim=1)
        att = (q @ kk.transpose(-2, -1)) * scale
        if mask is not None:
            att = att.masked_fill(mask, float("-inf"))
        att = att.softmax(dim=-1)
        return att @ vv

    fwd = 4.0 * B * H * pairs * Dh
    flops, pass_ = fwd, "forward"
    forward = run
    if args.backward:
        flops, pass_ = 3.5 * fwd, "forward+backward"
        for x in (q, k, v):
            x.requires_grad_(True)
        dout = torch.rand(B, H, T, Dh, generator=gen) * 2 - 1

        def run():
            q.grad = k.grad = v.grad = None
            forward().backward(dout)

    shape.update({"backward": args.backward, "pass": pass_, "forward_flops": fwd})
    extra = {}
    if args.memory_only:
        extra = {"memory_only": True, "operand_bytes": operands, "scores_bytes": scores, "rss_before_bytes": peak_rss()}
    mname = f"causal({args.align})" if args.causal else "none"
    label = f"B={B} H={H} G={G} T={T} S={S} Dh={Dh} mask={mname} {pass_}"
    return shape, label, flops, run, extra


def setup_mha(gen):
    B, T, D, H = args.batch, args.seq, args.dim, args.heads
    shape = {"batch": B, "seq": T, "dim": D, "heads": H, "causal": args.causal}
    guard(f"the [B·H={B * H},T={T},T] score tensors", 2 * 4 * B * H * T * T + (4 * T * T if args.causal else 0))
    torch.manual_seed(args.seed)
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True).eval()
    x = torch.rand(B, T, D, generator=gen) * 2 - 1
    mask = torch.ones(T, T, dtype=torch.bool).triu(1) if args.causal else None  # True = masked out
    pairs = causal_pairs(T, T, 0) if args.causal else T * T

    def run():
        return mha(x, x, x, need_weights=False, attn_mask=mask)

    # Which path did PyTorch take? One profiled call, outside the timing.
    with torch.inference_mode(), torch.profiler.profile() as prof:
        run()
    names = {e.name for e in prof.events()}
    path = ("native fast path (aten::_native_multi_head_attention)" if "aten::_native_multi_head_attention" in names
            else "composite path (" + ", ".join(sorted(n for n in names if n in ("aten::baddbmm", "aten::bmm", "aten::softmax"))) + ")")
    flops = 8.0 * B * T * D * D + 4.0 * B * pairs * D
    return shape, f"B={B} T={T} D={D} H={H} causal={args.causal}", flops, run, {"torch_path": path}


def setup_train(gen):
    sys.dont_write_bytecode = True  # no __pycache__ in the repository
    import torch_models

    torch.manual_seed(args.seed)
    B = args.batch
    if args.model == "demo":
        src, src_pad, tgt_in, tgt_out = torch_models.reverse_batch(B, gen)
        S, T = src.shape[1], tgt_in.shape[1]
        vocab = 13  # PAD, BOS, EOS and 10 symbols, as attn's reverse task
        guard("the activations", 4 * 200 * B * (S + T) * 256)
        model = torch_models.DemoTransformer(vocab).train()
        decay = [p for n, p in model.named_parameters() if p.dim() > 1 and not n.startswith("emb")]
        rest = [p for n, p in model.named_parameters() if not (p.dim() > 1 and not n.startswith("emb"))]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                                lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
        params = list(model.parameters())
        last = {}

        def run():
            opt.zero_grad()
            logits = model(src, src_pad, tgt_in)
            loss = F.cross_entropy(logits.reshape(-1, vocab), tgt_out.reshape(-1), ignore_index=-1, label_smoothing=0.1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            last["loss"] = loss.item()

        nparams = sum(p.numel() for p in params)
        shape = {"model": "demo", "task": "reverse", "vocab": vocab, "d_model": 64, "heads": 4, "d_ff": 256,
                 "enc_layers": 2, "dec_layers": 2, "norm_first": False, "params": nparams, "batch": B,
                 "src_len": S, "tgt_len": T, "label_tokens": int((tgt_out != -1).sum()),
                 "optimizer": "AdamW(0.9, 0.98, eps 1e-9, wd 0.01), clip 1, label smoothing 0.1"}
        tokens = B * (S + T)
        label = f"B={B} S={S} T={T}, {nparams} params"
        flops = None
    else:
        T, V, D, H, L = args.seq, 256, 768, 12, 1
        N = B * T
        guard("the activations", 4 * (30 * N * D + 2 * N * V + 4 * B * H * T * T))
        model = torch_models.GPT(V, 1024, L, H, D).train()
        idx = torch.randint(0, V, (B, T), generator=gen)
        targets = torch.randint(0, V, (B, T), generator=gen)
        last = {}

        def run():
            model.zero_grad(set_to_none=True)
            loss = model(idx, targets)
            loss.backward()
            last["loss"] = loss.item()

        nparams = sum(p.numel() for p in model.parameters())
        shape = {"model": "gpt2-layer", "vocab": V, "context": 1024, "layers": L, "heads": H, "d_model": D,
                 "params": nparams, "batch": B, "seq": T, "optimizer": None}
        tokens = N
        label = f"B={B} T={T} D={D} H={H} L={L} V={V}, {nparams} params"
        pairs = causal_pairs(T, T, 0)
        flops = 3 * (L * 24.0 * N * D * D + 2.0 * N * D * V) + 3.5 * L * 4.0 * B * pairs * D
    return shape, label, flops, run, {"tokens_per_step": tokens, "_last": last}


def main():
    base = {"impl": "pytorch", "op": args.op}
    info = {
        "threads": args.threads,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "blas": None,
        "allocator": allocator(),
        "openblas_num_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
        "omp_wait_policy_env": os.environ.get("OMP_WAIT_POLICY"),
        "seed": args.seed,
    }
    gen = torch.Generator().manual_seed(args.seed)
    if args.op == "decode":
        return main_decode(base, info, gen)
    setup = {"gemm": setup_gemm, "attention": setup_attention, "mha": setup_mha, "train": setup_train,
             "encode": setup_encode}[args.op]
    grad = args.op == "train" or getattr(args, "backward", False)
    shape = {}
    try:
        shape, label, flops, run, extra = setup(gen)
        with (torch.enable_grad() if grad else torch.inference_mode()):
            warm, times = measure(run)
    except Refused as e:
        return fail(base, shape or shape_of(), info, str(e))
    except DryRun as e:
        out = dict(base, **shape_of(), dry_run=str(e))
        print(json.dumps(out) if args.json else f"{args.op}: dry run: {e}")
        return 0
    except (MemoryError, RuntimeError) as e:
        msg = str(e)
        if isinstance(e, MemoryError) or "memory" in msg.lower() or "allocate" in msg.lower():
            return fail(base, shape or shape_of(), info, "out of memory", detail=msg.splitlines()[0] if msg else "")
        raise
    info["blas"] = blas_info()
    med = median(times)
    out = dict(base)
    out.update(shape)
    out.update({"threads": args.threads, "torch_threads": torch.get_num_threads()})
    last = extra.pop("_last", None)
    if "tokens_per_step" in extra:
        out["tokens_per_step"] = extra.pop("tokens_per_step")
    out.update(timing_fields("", warm, times))
    if "tokens_per_step" in out:
        out["tokens_per_s"] = round(out["tokens_per_step"] / med, 3)
    out.update({"flops": flops, "gflops": round(flops / med / 1e9, 3) if flops else None})
    if last is not None:
        out["loss"] = round(last.get("loss", float("nan")), 3)
    out.update(tail_fields(info))
    if "rss_before_bytes" in extra:
        extra["work_rss_bytes"] = out["peak_rss_bytes"] - extra["rss_before_bytes"]
    out.update(extra)
    if args.json:
        print(json.dumps(out))
    else:
        b = out["blas"] or {}
        rate = f", {out['tokens_per_s']:.0f} tokens/s" if "tokens_per_s" in out else ""
        gfl = f", {out['gflops']:.2f} GFLOP/s" if out["gflops"] is not None else ""
        mem = (f", memory only: the run added {extra['work_rss_bytes'] / 2**20:.1f} MiB to the peak RSS"
               if "work_rss_bytes" in extra else "")
        print(f"{args.op} {label}: median {out['median_ms']:.3f} ms (min {out['min_ms']:.3f}, max {out['max_ms']:.3f}, "
              f"{len(times)} reps after {warm} warm-up){rate}{gfl}{mem}, {args.threads} threads, "
              f"torch {torch.__version__}, {b.get('library')} {b.get('kernel', '')}, {info['allocator']}, "
              f"peak RSS {out['peak_rss_bytes'] / 2**20:.1f} MiB" + (f", {extra['torch_path']}" if "torch_path" in extra else ""))
    return 0


def tail_fields(info):
    """The fields every result ends with, in attn bench's schema."""
    out = {"peak_rss_bytes": peak_rss(),
           # the GEMM kernel in use, and no Go here.
           "kernel": " ".join(str(x) for x in (info["blas"].get("library"), info["blas"].get("kernel")) if x),
           "go_version": None}
    out.update({k: v for k, v in info.items() if k not in out})
    return out


def setup_encode(gen):
    """The encode op: HFBert's forward on B sequences of T real tokens, as attn bench encode."""
    sys.dont_write_bytecode = True  # no __pycache__ in the repository
    import torch_models

    c = torch_models.bert_base()
    B, T = args.batch, args.seq
    if T > c["max_pos"]:
        raise Refused(f"--seq {T} exceeds the model's {c['max_pos']} positions")
    if args.dry_run:
        raise DryRun("no memory guard for encode: the model's weights and B·T activations only")
    model = torch_models.HFBert(c, gen)
    ids = torch.randint(0, c["vocab"], (B, T), generator=gen)
    mask = torch.ones(B, T, dtype=torch.int64)
    n, D, F_ = float(B * T), float(c["dim"]), float(c["hidden"])
    flops = c["layers"] * (2 * n * (4 * D * D + 2 * D * F_) + 4 * n * T * D) + 2.0 * B * D * D
    shape = {"model": args.model, "batch": B, "seq": T, "tokens": B * T, "vocab": c["vocab"], "dim": c["dim"],
             "layers": c["layers"], "heads": c["heads"], "hidden": c["hidden"]}
    return shape, f"{args.model} B={B} T={T}", flops, lambda: model.forward(ids, mask), {}


def main_decode(base, info, gen):
    """The decode op: two timings (prompt and one decode step), as attn bench decode."""
    sys.dont_write_bytecode = True  # no __pycache__ in the repository
    import torch_models

    N = args.context
    if args.dry_run:
        out = dict(base, **shape_of(), dry_run="no memory guard for decode: the model's weights and cache only")
        print(json.dumps(out) if args.json else f"decode: dry run: {out['dry_run']}")
        return 0
    try:
        model = torch_models.load(args.model, gen, args.matvec)
    except (OSError, ValueError) as e:
        return fail(base, {"model": args.model, "context": N}, info, str(e))
    c = model.cfg
    shape = {"model": args.model, "arch": c["arch"], "vocab": c["vocab"], "dim": c["dim"], "layers": c["layers"],
             "heads": c["heads"], "kv_heads": c["kv_heads"], "head_dim": c["head_dim"], "hidden": c["hidden"],
             "context": N, "matvec": args.matvec}
    if N > c["max_seq"]:
        return fail(base, shape, info, f"--context {N} exceeds the model's context length {c['max_seq']}")
    ids = torch.randint(0, c["vocab"], (N,), generator=gen)
    with torch.inference_mode():
        cache = model.new_cache(N)
        pwarm, ptimes = measure(lambda: model.forward(ids, 0, cache))
        if N > 1:
            model.forward(ids[:N - 1], 0, cache)
        last = ids[N - 1:]
        dwarm, dtimes = measure(lambda: model.forward(last, N - 1, cache))
    info["blas"] = blas_info()
    out = dict(base)
    out.update(shape)
    out.update({"threads": args.threads, "torch_threads": torch.get_num_threads()})
    out.update(timing_fields("", dwarm, dtimes))
    out["prompt_tokens"] = N
    out.update(timing_fields("prompt_", pwarm, ptimes))
    out["prompt_tokens_per_s"] = round(N / median(ptimes), 3)
    out.update(timing_fields("decode_", dwarm, dtimes))
    out["decode_tokens_per_s"] = round(1 / median(dtimes), 3)
    out.update(tail_fields(info))
    if args.json:
        print(json.dumps(out))
    else:
        print(f"decode {args.model} ({c['arch']}) at context {N}: prompt {out['prompt_median_ms']:.3f} ms median "
              f"({out['prompt_tokens_per_s']:.1f} tokens/s, {len(ptimes)} reps), decode {out['decode_median_ms']:.3f} "
              f"ms/token median ({out['decode_tokens_per_s']:.1f} tokens/s, {len(dtimes)} reps), {args.threads} threads, "
              f"torch {torch.__version__}, {out['kernel']}, {info['allocator']}, peak RSS {out['peak_rss_bytes'] / 2**20:.1f} MiB")
    return 0


def shape_of():
    keys = {"gemm": ["m", "n", "k", "trans_b"],
            "attention": ["batch", "heads", "kv_heads", "head_dim", "seq", "kv_seq", "causal", "align", "backward"],
            "train": ["model", "batch", "seq"],
            "mha": ["batch", "seq", "dim", "heads", "causal"],
            "decode": ["model", "context"],
            "encode": ["model", "batch", "seq"]}[args.op]
    return {k: getattr(args, k) for k in keys}


def fail(base, shape, info, error, detail=""):
    out = dict(base)
    out.update(shape)
    out.update(info)
    out["error"] = error
    if detail:
        out["error_detail"] = detail
    out["peak_rss_bytes"] = peak_rss()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.op}: {error}")
    return 3


if __name__ == "__main__":
    sys.exit(main())
