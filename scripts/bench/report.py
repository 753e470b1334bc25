#!/usr/bin/python3
"""Write BENCHMARKS.md from the JSONL that scripts/bench/drive.py produces.

    python3 scripts/bench/report.py scripts/bench/results.jsonl -o BENCHMARKS.md

Pure formatting: every number comes from the JSONL, so BENCHMARKS.md is regenerated,
never hand-edited. Needs only the Python standard library.
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TABLES = [
    ("gemm", "GEMM (kernel.Gemm vs torch.mm)",
     "C[m,n] = A[m,k]·B; NT means B is stored [n,k] and used transposed (nn.Linear's weight layout). "
     "PyTorch: `torch.mm(a, b, out=c)`, b a `.t()` view for NT."),
    ("attention", "Scaled dot-product attention (B=1, H=12, Dh=64, T=S)",
     "attn: `attention.ScaledDotProduct` on contiguous [B,H,T,Dh] q, k, v. PyTorch 1.13 (no fused kernel): "
     "`softmax(q @ k.transpose(-2,-1) * scale` (+ `masked_fill(mask, -inf)`) `) @ v`. "
     "Causal FLOPs count only the allowed (query, key) pairs."),
    ("scaling", "Causal attention vs sequence length (B=1, H=12, Dh=64)",
     "Time and the process's peak memory as T grows. PyTorch materialises the B·H·T·T scores (twice, "
     "out of place); its script refuses shapes over its 16 GB memory guard instead of risking the machine."),
    ("decode", "Decode: one query against a cache (B=1, H=12, Dh=64, T=1, S=4096)",
     "No mask: the new token attends to every cached key. GQA: 12 query heads share 4 key/value heads "
     "(PyTorch repeats k and v with `repeat_interleave` per call, as Llama-style 1.13 code does)."),
    ("generation", "Generation: prompt and decode tokens/s",
     "Whole models, one sequence, 2 threads. attn: `attn bench decode` (`models.Decoder.Forward` with its KV cache). "
     "PyTorch 1.13 eager: `scripts/bench/torch_models.py` under `torch.inference_mode()`, float32, a KV cache "
     "preallocated for the context. **gpt2-small** is GPT-2-small-shaped (D 768, 12 layers, 12 heads, vocabulary "
     "50257, tied head) with random weights (same cost as the real checkpoint), written on the PyTorch side as "
     "Hugging Face's GPT2LMHeadModel runs it (Conv1D `addmm` projections, `F.linear` head). **stories260K** is "
     "llama2.c's checkpoint, loaded from the .bin on both sides (dim 64, 5 layers, 8 heads, 4 key/value heads, "
     "vocabulary 512; RMSNorm, interleaved RoPE, SwiGLU). **smollm-135m** is SmolLM-135M-shaped, the Llama "
     "architecture (D 576, 30 layers, 9 query heads sharing 3 key/value heads of 64, SwiGLU 1536, vocabulary 49152, "
     "tied head; RMSNorm, rotate-half RoPE) with random weights, written on the PyTorch side as Hugging Face's "
     "LlamaForCausalLM runs it (`F.linear` on [out, in] weights, `repeat_kv` expansion per call).\n\n"
     "- **prompt** = one forward of N = context tokens on an empty cache; tok/s = N / median time.\n"
     "- **decode** = one forward of a single token at position N−1, attending to N positions (N−1 cached): the cache "
     "is filled with N−1 tokens once, and every timed run rewinds it to N−1 (attn: `State.Truncate`; PyTorch: "
     "rewrites slot N−1) and appends the same token, so each run is the same step; tok/s = 1 / median time.\n"
     "- **PyTorch mv** is the same PyTorch model with `--matvec`: one-token steps call `torch.mv`/`addmv` instead of "
     "the one-row GEMM user code calls (OpenBLAS 0.3.21 does not turn a one-row GEMM into a GEMV, and is much slower "
     "at it): the faster PyTorch a hand-tuned decode loop gets.\n"
     "- **floor** = measured DRAM read bandwidth / bytes one decode step must read: every weight once "
     "(`Decoder.WeightBytes`) plus the KV cache at that context (K and V, float32: 2·4·layers·N·Hkv·Dh bytes). "
     "It is the decode rate if memory traffic were the only cost; stories260K (about 1 MB of weights) lives in the "
     "caches, so its floor is not a bound there.\n"
     "- ratios are attn / PyTorch tokens/s (= PyTorch time / attn time): above 1 (bold) attn is faster."),
    ("encoder", "Encoder: BERT-base forward (B sequences of T tokens)",
     "attn: `attn bench encode` (`models.Bert.Forward` of a bert-base-uncased-shaped encoder with random weights: "
     "D 768, 12 layers, 12 heads, feed-forward 3072, erf GELU; q, k and v fused into one packed product). PyTorch 1.13 "
     "eager: `scripts/bench/torch_models.py` HFBert under `torch.inference_mode()`, written as Hugging Face's "
     "BertModel runs it (separate query/key/value `F.linear`, matmul-softmax-matmul with the extended additive "
     "mask, `F.gelu`, the tanh pooler). Every token is real. GFLOP/s counts the projections, the attention "
     "(4·B·T²·D per layer) and the pooler."),
    ("training", "Training: one step, forward + backward (2 threads)",
     "- **demo model step**: attn demo's / attn train's model, `nn.TransformerPreset(\"small\")` (2 encoder + 2 decoder "
     "post-LN layers, d_model 64, 4 heads, d_ff 256, tied embedding, sinusoidal positions), on a padded batch of 64 "
     "reverse-task examples (8–16 symbols). One step = zero the gradients, forward, label-smoothed (0.1) cross-entropy, "
     "backward, gradient clipping at 1, AdamW (β 0.9/0.98, ε 1e-9, weight decay 0.01). attn: `train.ZeroGrads`, "
     "`Transformer.Loss` with backward, `train.ClipGradNorm`, `Adam.Update`, on a `train.MakeBatch` batch. PyTorch: "
     "`torch.nn.TransformerEncoderLayer`/`TransformerDecoderLayer` (batch_first, dropout 0) with the same sizes, "
     "key-padding and causal masks, `F.cross_entropy(label_smoothing=0.1)`, `clip_grad_norm_`, `torch.optim.AdamW` "
     "(`scripts/bench/torch_models.py`), on a batch drawn the same way (same padded shape S×T, its own tokens). "
     "tokens = B·(S+T), every padded position the encoder and decoder process.\n"
     "- **GPT-2-small decoder layer**: one GPT-2-small-shaped block (D 768, 12 heads, MLP 3072, pre-LN, tanh GELU, "
     "causal) with embeddings, final LayerNorm and tied head, at B=1, T=1024: zero the gradients, forward, "
     "cross-entropy, backward (no optimizer). The vocabulary is 256, so the embedding and head are about 2% of the "
     "FLOPs: the figure is the block's. attn: `nn.NewGPT(GPTConfig{Vocab: 256, Context: 1024, Layers: 1, Heads: 12, "
     "DModel: 768})`, `GPT.Loss` with backward. PyTorch: nanoGPT's `GPT` with one `Block`, its attention "
     "without flash (1.13 has no fused SDPA on CPU): matmul, `masked_fill` with the tril buffer, softmax, matmul. "
     "FLOPs: matrix products × 3 (forward and a backward of twice that), attention × 3.5.\n"
     "- **attention fwd+bwd** (B=1, H=12, Dh=64, T=S): attn: `attention.ScaledDotProduct` with `Options.LSE`, then "
     "`attention.ScaledDotProductBackward` into zeroed dq, dk, dv (fused: no T×S matrix in either pass). PyTorch: the "
     "attention table's matmul → softmax → matmul with q, k, v requiring grad, then `out.backward(dout)` (autograd "
     "keeps the T×T weights). FLOPs: the forward's (4·Dh per allowed pair per head) × 3.5, the backward counted as "
     "2.5 forwards (FlashAttention's convention).\n"
     "- **tok/s ratio** = attn / PyTorch tokens per second, **ratio** = PyTorch ms / attn ms: above 1 (bold) attn "
     "is faster."),
    ("mha", "Multi-head attention forward (D=768, H=12, B=1)",
     "attn: `MultiHeadAttention.Forward` (biases, no weights returned). PyTorch: "
     "`nn.MultiheadAttention(768, 12, batch_first=True).eval()` under `torch.inference_mode()`, "
     "`need_weights=False`; causal passes a bool `attn_mask`. FLOPs: the four projections plus the attention."),
]


def load(path):
    meta, peaks, rows, end = {}, {}, [], {"bandwidth": {}, "reruns": []}
    with open(path) as f:
        for ln in f:
            ln = ln.strip()
            if not ln:
                continue
            r = json.loads(ln)
            kind = r.get("kind")
            if kind == "meta":
                meta = r
            elif kind == "peak":
                # Several samples (start and end of the run): keep the best.
                p = peaks.setdefault(r["threads"], {"cmd": r.get("cmd"), "samples": [], "phases": []})
                p["phases"].append(r.get("phase", "start"))
                p["samples"] += r.get("samples", [r["gflops"]] if r.get("gflops") else [])
                if r.get("gflops") and r["gflops"] > p.get("gflops", 0):
                    p["gflops"] = r["gflops"]
                elif "error" in r and not p.get("gflops"):
                    p["error"] = r["error"]
            elif kind == "row":
                rows.append(r)
            elif kind == "bandwidth":
                # Before and after the generation rows: keep the best, like the peak.
                b = end["bandwidth"].setdefault(r["threads"], {"cmd": r.get("cmd"), "samples": [], "phases": [],
                                                               "buffer_bytes": r.get("buffer_bytes")})
                b["phases"].append(r.get("phase", "start"))
                b["samples"] += r.get("samples", [])
                if r.get("gbs") and r["gbs"] > b.get("gbs", 0):
                    b["gbs"] = r["gbs"]
                elif "error" in r and not b.get("gbs"):
                    b["error"] = r["error"]
            elif kind == "rerun":
                end["reruns"].append(r)
            elif kind == "end":
                end.update(r)
    return meta, peaks, rows, end


def fmt_ms(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_bytes(b):
    if b is None or b < 0:
        return "–"
    if b >= 2**30:
        return f"{b / 2**30:.2f} GiB"
    if b < 10 * 2**20:
        return f"{b / 2**20:.1f} MiB"
    return f"{b / 2**20:,.0f} MiB"


def ok(side):
    return isinstance(side, dict) and "median_ms" in side


def cell(side):
    """The time cell of one side: the median, or why there is none."""
    if ok(side):
        n = side.get("reps", 5)
        return fmt_ms(side["median_ms"]) + (f" ({n} run{'s' if n > 1 else ''})" if n < 5 else "")
    if "error" in side:
        m = re.match(r"would need ([0-9.]+ GB)", side["error"])
        if m:
            return f"cannot run: needs {m.group(1)}"
        if side["error"] == "out of memory":
            return "out of memory"
        return "error"
    if "skipped" in side:
        if side.get("estimated_s"):
            return f"skipped: too slow (est. {side['estimated_s']:,.0f} s/run)"
        if "budget" in side["skipped"]:
            return "skipped: time budget"
        if "not present" in side["skipped"]:
            return "skipped: no checkpoint"
        return "skipped: too slow"
    return "–"


def ratio(r):
    a, t = r["attn"], r["torch"]
    if ok(a) and ok(t) and a["median_ms"] > 0:
        x = t["median_ms"] / a["median_ms"]
        return f"**{x:.2f}×**" if x >= 1 else f"{x:.2f}×"
    return "–"


def pct_peak(side, peaks, threads):
    p = peaks.get(threads, {})
    if ok(side) and p.get("gflops"):
        return f"{100 * side['gflops'] / p['gflops']:.0f}%"
    return "–"


def gf(side):
    return f"{side['gflops']:.1f}" if ok(side) else "–"


def rss(side):
    return fmt_bytes(side.get("peak_rss_bytes")) if ok(side) else "–"


SIDES = (("attn", "attn"), ("torch", "PyTorch"), ("torch_mv", "PyTorch mv"))


def notes_for(rows):
    out = []
    for r in rows:
        for side, name in SIDES:
            if side not in r:
                continue
            s = r[side]
            why = s.get("skipped") or (s.get("error") if not ok(s) else None)
            if why:
                detail = f" ({s['error_detail']})" if s.get("error_detail") else ""
                out.append(f"- #{r['id']} {name}: {why}{detail}")
    return out


def commands(rows):
    out = ["<details><summary>Commands (run from the repository root; attn built with "
           "<code>go build -o /tmp/attn-bench ./cmd/attn</code>)</summary>", ""]
    for r in rows:
        out.append(f"- #{r['id']} attn: `{r['attn_cmd']}`")
        out.append(f"  PyTorch: `{r['torch_cmd']}`")
        if r.get("torch_mv_cmd"):
            out.append(f"  PyTorch mv: `{r['torch_mv_cmd']}`")
    out += ["", "</details>"]
    return out


def flags(r):
    f, out, i = r.get("flags", []), {}, 0
    while i < len(f):
        if i + 1 < len(f) and not f[i + 1].startswith("--"):
            out[f[i]] = f[i + 1]
            i += 2
        else:
            out[f[i]] = True
            i += 1
    return out


def main_table(rows, peaks):
    out = ["| # | shape | threads | attn ms | PyTorch ms | ratio | attn GFLOP/s | % of peak | PyTorch GFLOP/s | attn peak RSS | PyTorch peak RSS |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        a, t = r["attn"], r["torch"]
        out.append(f"| {r['id']} | {r['label']} | {r['threads']} | {cell(a)} | {cell(t)} | {ratio(r)} | {gf(a)} | "
                   f"{pct_peak(a, peaks, r['threads'])} | {gf(t)} | {rss(a)} | {rss(t)} |")
    return out


def fmt_rate(x):
    if x is None:
        return "–"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}"


def rate_cell(side, field):
    if ok(side) and side.get(field) is not None:
        return fmt_rate(side[field])
    return cell(side) if isinstance(side, dict) and not ok(side) else "–"


def rate_ratio(a, t, field):
    if ok(a) and ok(t) and a.get(field) and t.get(field):
        x = a[field] / t[field]
        return f"**{x:.2f}×**" if x >= 1 else f"{x:.2f}×"
    return "–"


def floor_of(a, end, threads):
    """Decode floor tokens/s from the run's best bandwidth (else attn's own figure) and bytes per token."""
    b = end.get("bandwidth", {}).get(threads, {}).get("gbs") or (a.get("bandwidth_gbs") if ok(a) else None)
    if ok(a) and b and a.get("bytes_per_token"):
        return b * 1e9 / a["bytes_per_token"]
    return None


def generation_table(rows, end):
    out = ["| # | model | context | attn prompt tok/s | PyTorch prompt tok/s | ratio | attn decode tok/s | "
           "PyTorch decode tok/s | ratio | PyTorch mv decode tok/s | ratio | floor tok/s | attn decode % of floor | "
           "attn peak RSS | PyTorch peak RSS |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        a, t, m = r["attn"], r["torch"], r.get("torch_mv", {})
        model, _, ctx = r["label"].rpartition(", context ")
        fl = floor_of(a, end, r["threads"])
        floor = fmt_rate(fl)
        pct = f"{100 * a['decode_tokens_per_s'] / fl:.0f}%" if fl and a.get("decode_tokens_per_s") else "–"
        out.append(f"| {r['id']} | {model} | {ctx} | {rate_cell(a, 'prompt_tokens_per_s')} | "
                   f"{rate_cell(t, 'prompt_tokens_per_s')} | {rate_ratio(a, t, 'prompt_tokens_per_s')} | "
                   f"{rate_cell(a, 'decode_tokens_per_s')} | {rate_cell(t, 'decode_tokens_per_s')} | "
                   f"{rate_ratio(a, t, 'decode_tokens_per_s')} | {rate_cell(m, 'decode_tokens_per_s')} | "
                   f"{rate_ratio(a, m, 'decode_tokens_per_s')} | {floor} | {pct} | {rss(a)} | {rss(t)} |")
    return out


def read_lines(rows):
    """Each decode row against a plain read of the K and V bytes it streams."""
    out = []
    for r in rows:
        rd = r.get("read")
        if not rd or not ok(r["attn"]):
            continue
        if "median_ms" not in rd:
            out.append(f"- #{r['id']}: the plain read of its K and V was not measured: {rd.get('error', '?')}.")
            continue
        samp = ", ".join(f"{x:.3f}" for x in rd["samples_ms"])
        out.append(f"- #{r['id']} streams {fmt_bytes(rd['kv_bytes'])} of K and V. Reading a buffer of that size and nothing "
                   f"else (`{rd['cmd']}`, run right after the row) took **{rd['median_ms']:.3f} ms** a pass (median of "
                   f"three runs' medians: {samp}): attn's decode took {r['attn']['median_ms'] / rd['median_ms']:.2f}× "
                   "that read.")
    if out:
        out = ["", "What bounds decoding is reading the cache: every key and value once, 2 FLOPs per float read."] + out
    return out


def bandwidth_lines(end, rows):
    out = []
    for th, b in sorted(end.get("bandwidth", {}).items()):
        if b.get("gbs"):
            samp = ", ".join(f"{x:.1f}" for x in b.get("samples", []))
            when = " before and after the rows" if "end" in b.get("phases", []) else ""
            out.append(f"Measured DRAM read bandwidth ({th} thread{'s' if th > 1 else ''}): **{b['gbs']:.1f} GB/s** "
                       f"(best of the medians {samp}{when}; the floor column uses it), `{b['cmd']}`: a {fmt_bytes(b.get('buffer_bytes'))} float32 buffer "
                       "(far above the L3), written once before timing, is read in 1 MiB chunks spread over the threads, "
                       "each reduced with `kernel.Dot(chunk, chunk)` (one DRAM read per byte); GB/s = bytes / median pass "
                       "time. The attn commands below pass the figure measured just before the rows as `--bandwidth-gbs` "
                       "(their JSON's `floor_tokens_per_s`); the shared machine's other work only lowers a sample, "
                       "so the best is the strictest floor.")
        else:
            out.append(f"DRAM bandwidth ({th} threads): not measured: {b.get('error', '?')}.")
    over = [r["id"] for r in rows if ok(r["attn"]) and floor_of(r["attn"], end, r["threads"])
            and r["attn"].get("weight_bytes", 0) > 64e6
            and r["attn"]["decode_tokens_per_s"] > floor_of(r["attn"], end, r["threads"])]
    if over:
        out.append("")
        out.append("> " + ", ".join(f"#{i}" for i in over) + ": decode above the bandwidth floor means the bandwidth "
                   "samples were depressed by other work on the shared machine (the floor is then too low); rerun "
                   "`bash scripts/bench/run.sh --only '^generation'` on a quiet machine.")
    ga = [r["attn"] for r in rows if ok(r["attn"]) and r["attn"].get("weight_bytes")]
    if ga:
        out.append("")
        out.append("Bytes one decode step reads (attn's count): " + "; ".join(
            f"{a['model'].rsplit('/', 1)[-1]} at context {a['context']}: {a['weight_bytes'] / 1e6:,.1f} MB weights + "
            f"{a['kv_cache_bytes'] / 1e6:,.1f} MB KV cache" for a in ga) + ".")
    return out


def training_table(rows, peaks):
    out = ["| # | row | threads | tokens/step | attn ms | PyTorch ms | ratio | attn tok/s | PyTorch tok/s | "
           "attn GFLOP/s | % of peak | PyTorch GFLOP/s | attn peak RSS | PyTorch peak RSS |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "--memory-only" in flags(r):
            continue
        a, t = r["attn"], r["torch"]
        tok = a.get("tokens_per_step") if ok(a) else None
        tok_t = t.get("tokens_per_step") if ok(t) else None
        toks = "–" if tok is None else f"{tok:,}" + (f" (PyTorch {tok_t:,})" if tok_t and tok_t != tok else "")
        g = lambda s: f"{s['gflops']:.1f}" if ok(s) and s.get("gflops") is not None else "–"  # noqa: E731
        pk = pct_peak(a, peaks, r["threads"]) if ok(a) and a.get("gflops") is not None else "–"
        out.append(f"| {r['id']} | {r['label']} | {r['threads']} | {toks} | {cell(a)} | {cell(t)} | {ratio(r)} | "
                   f"{rate_cell(a, 'tokens_per_s')} | {rate_cell(t, 'tokens_per_s')} | {g(a)} | {pk} | {g(t)} | "
                   f"{rss(a)} | {rss(t)} |")
    return out


def memory_table(rows):
    """The --memory-only rows: what one forward+backward took."""
    sel = [r for r in rows if "--memory-only" in flags(r)]
    if not sel:
        return []
    out = ["Memory of one forward+backward (`--memory-only`: a single run, no warm-up). *Before* is the process's "
           "peak RSS with every operand allocated and written (inputs, output, gradients); *added* is what the run "
           "put on top of it; *scores* is one float32 T×T matrix per head, 4·H·T² bytes, what a kernel that "
           "materialises the weights needs per copy.",
           "",
           "| # | row | scores (T×T per head) | attn peak RSS | attn before | attn added by the run | PyTorch peak RSS | "
           "PyTorch before | PyTorch added by the run | attn time | PyTorch time |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sel:
        a, t = r["attn"], r["torch"]
        sb = (a if ok(a) else t).get("scores_bytes")
        f = lambda s, k: fmt_bytes(s.get(k)) if ok(s) else (cell(s) if k == "peak_rss_bytes" else "–")  # noqa: E731
        out.append(f"| {r['id']} | {r['label']} | {fmt_bytes(sb)} | {f(a, 'peak_rss_bytes')} | {f(a, 'rss_before_bytes')} | "
                   f"{f(a, 'work_rss_bytes')} | {f(t, 'peak_rss_bytes')} | {f(t, 'rss_before_bytes')} | "
                   f"{f(t, 'work_rss_bytes')} | {cell(a)} | {cell(t)} |")
    return out


def scaling_table(all_rows, peaks):
    sel = []
    for r in all_rows:
        f = flags(r)
        if (r["op"] == "attention" and "--causal" in f and "--kv-seq" not in f and "--kv-heads" not in f
                and "--backward" not in f and r["threads"] == 2):
            sel.append((int(f["--seq"]), r))
    sel.sort(key=lambda x: x[0])
    out = ["| T | # | attn ms | PyTorch ms | ratio | attn GFLOP/s | % of peak | attn peak RSS | PyTorch peak RSS |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for T, r in sel:
        a, t = r["attn"], r["torch"]
        out.append(f"| {T:,} | {r['id']} | {cell(a)} | {cell(t)} | {ratio(r)} | {gf(a)} | "
                   f"{pct_peak(a, peaks, r['threads'])} | {rss(a)} | {rss(t)} |")
    return out, [r for _, r in sel]


def first_torch(rows):
    for r in rows:
        if ok(r["torch"]):
            return r["torch"]
    return {}


def render(meta, peaks, rows, end):
    L = []
    w = L.append
    w("# Benchmarks")
    w("")
    w("<!-- Generated by scripts/bench/report.py from scripts/bench/results.jsonl. Do not edit by hand. -->")
    w("")
    w("Regenerate with `bash scripts/bench/run.sh` (every row) or `bash scripts/bench/run.sh --quick` "
      "(tight per-row limits); the script builds attn, runs each row's attn and PyTorch commands back to back, "
      "and rewrites this file from `scripts/bench/results.jsonl`. Do not edit it by hand.")
    w("")
    took = f", took {end['elapsed_s'] / 60:.1f} min" if end.get("elapsed_s") else " (incomplete run)"
    w(f"**Run:** {meta.get('mode', '?')} mode, {meta.get('date', '?')}, attn commit {meta.get('git_commit') or '?'}{took}.")
    for rr in end.get("reruns", []):
        ids = ", ".join(f"#{i}" for i in rr.get("rows", []))
        la = [x[0] for x in (rr.get("loadavg_at_start"), rr.get("loadavg_at_end")) if x]
        w(f"Rows {ids} were re-run on their own (`bash scripts/bench/run.sh --only '{rr.get('only')}'`) on "
          f"{rr.get('date', '?')}, attn commit {rr.get('git_commit') or '?'}"
          + (f", load average {' / '.join(f'{x:.2f}' for x in la)}" if la else "")
          + ": compare them within their rows, not with the other rows.")
        ph = {}  # threads -> [(phase, best GFLOP/s)]
        for p in rr.get("peaks", []):
            if p.get("gflops"):
                ph.setdefault(p["threads"], []).append((p.get("phase", "?"), p["gflops"]))
        if ph.get(1) and ph.get(2):
            p1 = max(g for _, g in ph[1])
            low2 = min(g for _, g in ph[2])
            w("  FMA peak around that re-run: " + "; ".join(
                f"{th} thread{'s' if th > 1 else ''} " + ", ".join(f"{g:.0f} at {p}" for p, g in ph[th]) for th in (1, 2))
              + " GFLOP/s" + (" (**contended**: a 2-thread sample under 1.5× the 1-thread peak, so other work held a "
                              "core for part of the re-run)" if low2 < 1.5 * p1 else "") + ".")
    if meta.get("mode") == "quick":
        lim = meta.get("limits", {})
        w("")
        w(f"> Quick mode: a side whose estimated time per run exceeds {lim.get('skip', '?'):g} s is skipped, "
          f"and timed runs stop after {' '.join(lim.get('flags', [])) or 'the defaults'}; "
          "the full run (`bash scripts/bench/run.sh`) allows more.")
    w("")

    w("## Machine")
    w("")
    tt = first_torch(rows)
    blas = tt.get("blas") or {}
    simd = meta.get("simd", [])
    simd_s = ", ".join(simd) + ("" if any(s.startswith("avx512") for s in simd) else " (no AVX-512)")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {meta.get('cpu_model', '?')}"
      + (f" ({meta['hypervisor']} guest)" if meta.get("hypervisor") else "")
      + f", {meta.get('cpus', '?')} CPUs ({meta.get('cores_per_socket', '?')} cores per socket, "
        f"{meta.get('threads_per_core', '?')} thread per core), L2 {meta.get('l2', '?')}, L3 {meta.get('l3', '?')} |")
    w(f"| SIMD | {simd_s} |")
    w(f"| Memory | {meta.get('mem_total', '?')} (shared machine: other work may run alongside) |")
    w(f"| OS kernel | Linux {meta.get('kernel', '?')} |")
    w(f"| Go | {meta.get('go_version', '?')} |")
    torch_line = f"{meta.get('torch_version') or tt.get('torch_version', '?')} (Debian python3-torch), Python {tt.get('python_version', '?')}"
    w(f"| PyTorch | {torch_line} |")
    if blas:
        bl = f"{blas.get('library')} {blas.get('version') or ''}".strip()
        if blas.get("kernel"):
            bl += f", kernel `{blas['kernel']}`"
        if blas.get("threading"):
            bl += f", {blas['threading']}"
        sysblas = meta.get("system_libblas", "")
        note = ""
        if sysblas and "openblas" not in sysblas:
            note = (f"; the system's libblas.so.3 is {sysblas} (the slow reference BLAS), "
                    "so each PyTorch command points LD_LIBRARY_PATH at OpenBLAS")
        w(f"| PyTorch BLAS | {bl} ({blas.get('path')}){note} |")
    w(f"| PyTorch allocator | {tt.get('allocator', '?')} |")
    w(f"| PyTorch environment | `{' '.join(meta.get('torch_env', []))} OPENBLAS_NUM_THREADS=<threads>` |")
    for th in (1, 2):
        p = peaks.get(th)
        if p is None:
            v = "not run"
        elif p.get("gflops"):
            samp = ", ".join(f"{x:.1f}" for x in p.get("samples", []))
            when = ", before and after the rows" if "end" in p["phases"] else ""
            v = (f"**{p['gflops']:.1f} GFLOP/s**" + (f" (best of {samp}{when})" if samp else "")
                 + f": `{p['cmd']}`")
        else:
            v = f"not measured: {p.get('error', '?')}"
        w(f"| FMA peak, {th} thread{'s' if th > 1 else ''} | {v} |")
    p1, p2 = peaks.get(1, {}).get("gflops"), peaks.get(2, {}).get("gflops")
    if p1 and p2 and p2 < 1.5 * p1:
        w("")
        w(f"> **Contended run:** the 2-thread FMA peak ({p2:.0f} GFLOP/s) is only {p2 / p1:.2f}× the 1-thread one "
          f"({p1:.0f}): other work held a core during the run, so 2-thread rows (both sides alike) did not have "
          "two free cores, and % of peak is relative to that contended ceiling.")
    load = [x for x in (meta.get("loadavg_at_start"), end.get("loadavg_at_end")) if x]
    if load:
        w("")
        w("Load average (1 min) at start / end of the run: " + " / ".join(f"{x[0]:.2f}" for x in load) + ".")
    w("")

    w("## How to read the tables")
    w("")
    w("- Both sides of a row ran back to back in the same run (alternating which went first), with the same "
      "flags and the same method: inputs allocated once, warm-up, then the median of at least 5 timed runs and "
      "1 s (fewer for very slow shapes; the JSONL records `reps`). The machine is shared and noisy: compare "
      "within a row, not across runs.")
    w("- A row whose sides each take under 12 s runs in three rounds (`--rounds`), alternating which side goes "
      "first; each side shows the round whose median is the median of its three (the JSONL keeps all three as "
      "`rounds_ms`), so one bad minute of the machine does not decide a ratio.")
    w("- **ratio = PyTorch median / attn median**: above 1 (bold) attn is faster.")
    w("- GFLOP/s counts useful work: GEMM 2mnk; attention 4·Dh per allowed (query, key) pair per head "
      "(causal: the allowed pairs exactly, about half); MHA adds the four projections, 8·B·T·D². "
      "% of peak divides attn's GFLOP/s by the FMA peak at the row's thread count.")
    w("- Peak RSS is the whole process's peak resident set (getrusage): PyTorch's includes about 250 MB for the "
      "interpreter and libtorch, attn's the Go runtime.")
    w("- The PyTorch column is PyTorch 1.13 as packaged by Debian, run the way its users run it; "
      "it is not a fused attention kernel (1.13 has none on CPU besides the MHA fast path).")
    w("")

    for key, title, blurb in TABLES:
        if key == "scaling":
            body, trows = scaling_table(rows, peaks)
        elif key == "generation":
            trows = [r for r in rows if r["table"] == key]
            body = generation_table(trows, end) + [""] + bandwidth_lines(end, trows)
        elif key == "training":
            trows = [r for r in rows if r["table"] == key]
            mem = memory_table(trows)
            body = training_table(trows, peaks) + ([""] + mem if mem else [])
        else:
            trows = [r for r in rows if r["table"] == key]
            body = main_table(trows, peaks)
            if key == "decode":
                body += read_lines(trows)
        if not trows:
            continue
        w(f"## {title}")
        w("")
        w(blurb)
        w("")
        L.extend(body)
        w("")
        if key == "scaling" and os.path.exists(os.path.join(ROOT, "docs", "bench", "scaling-time.png")):
            w("![attention time against sequence length, attn and PyTorch](docs/bench/scaling-time.png)")
            w("")
            w("![peak memory against sequence length, attn and PyTorch](docs/bench/scaling-memory.png)")
            w("")
            w("The plots come from the same results (`attn bench plot --results scripts/bench/results.jsonl --out docs/bench`, "
              "run by `scripts/bench/run.sh`): every B=1, H=12, Dh=64 forward row of this page, log-log; PyTorch's line ends "
              "where it cannot build the T×T matrices.")
            w("")
        if key == "mha":
            paths = sorted({f"#{r['id']}: {r['torch']['torch_path']}" for r in trows if ok(r["torch"]) and r["torch"].get("torch_path")})
            if paths:
                w("PyTorch's path: " + "; ".join(paths) + ".")
                w("")
        if key != "scaling" or any(r["table"] == "scaling" for r in trows):
            notes = notes_for([r for r in trows if key != "scaling" or r["table"] == "scaling"])
            if notes:
                w("Notes:")
                w("")
                L.extend(notes)
                w("")
            L.extend(commands([r for r in trows if key != "scaling" or r["table"] == "scaling"]))
            w("")
    kernels = sorted({str(r["attn"].get("kernel")) for r in rows if ok(r["attn"])})
    w("## attn build")
    w("")
    kernels = [k if k != "None" else "not reported (no variant registry in this build)" for k in kernels]
    w(f"GEMM variant attn ran (`kernel` in the JSON; `attn bench --kernel NAME` picks another): "
      f"{', '.join(kernels) if kernels else '–'}. Binary: `go build -o /tmp/attn-bench ./cmd/attn`.")
    w("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="JSONL from scripts/bench/drive.py")
    ap.add_argument("-o", "--out", default="-", help="output file (default stdout)")
    a = ap.parse_args()
    text = render(*load(a.results))
    if a.out == "-":
        sys.stdout.write(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
