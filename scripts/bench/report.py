#!/usr/bin/python3
"""Write BENCHMARKS.md from the JSONL that scripts/bench/drive.py produces.

    python3 scripts/bench/report.py scripts/bench/results.jsonl -o BENCHMARKS.md

Pure formatting: every number comes from the JSONL, so BENCHMARKS.md is regenerated,
never hand-edited. Needs only the Python standard library.
"""

import argparse
import json
import re
import sys

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
    ("mha", "Multi-head attention forward (D=768, H=12, B=1)",
     "attn: `MultiHeadAttention.Forward` (biases, no weights returned). PyTorch: "
     "`nn.MultiheadAttention(768, 12, batch_first=True).eval()` under `torch.inference_mode()`, "
     "`need_weights=False`; causal passes a bool `attn_mask`. FLOPs: the four projections plus the attention."),
]


def load(path):
    meta, peaks, rows, end = {}, {}, [], {}
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
            elif kind == "end":
                end = r
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


def notes_for(rows):
    out = []
    for r in rows:
        for side, name in (("attn", "attn"), ("torch", "PyTorch")):
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


def scaling_table(all_rows, peaks):
    sel = []
    for r in all_rows:
        f = flags(r)
        if (r["op"] == "attention" and "--causal" in f and "--kv-seq" not in f and "--kv-heads" not in f
                and r["threads"] == 2):
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
        else:
            trows = [r for r in rows if r["table"] == key]
            body = main_table(trows, peaks)
        if not trows:
            continue
        w(f"## {title}")
        w("")
        w(blurb)
        w("")
        L.extend(body)
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
