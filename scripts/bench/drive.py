#!/usr/bin/python3
"""Run attn's benchmark rows next to PyTorch's and append the results to a JSONL file.

Called by scripts/bench/run.sh (which builds the attn binary first); see that file
for the usage. Each row runs `attn bench ...` and `torch_bench.py ...` with the same
flags, back to back, alternating which side goes first from row to row so slow drift
in the machine's load hits both. One JSON object per line is written:

  {"kind": "meta", ...}                      machine, versions, mode, limits
  {"kind": "peak", "threads": N, ...}        attn bench peak (the FMA ceiling)
  {"kind": "bandwidth", "threads": N, ...}   attn bench bandwidth (DRAM read GB/s), measured
                                             before the first generation row and after the rows
  {"kind": "row", "id", "table", "label", "attn": {...}, "torch": {...},
   "attn_cmd": "...", "torch_cmd": "..."}    one benchmark row
  {"kind": "end", "elapsed_s": ...}

Training rows: `attn bench train` / `torch_bench.py train` (op train, one training
step of a whole model) and `attention --backward` (forward+backward), with one
`--memory-only` row (a single run, for its peak RSS).

Generation rows (op decode) have a third side, "torch_mv": PyTorch with --matvec
(one-token steps as torch.mv rather than the GEMM user code calls), and their attn
command carries --bandwidth-gbs with the bandwidth measured just before (the
report recomputes the floor from the best of the before and after measurements).

With --only and --merge FILE, the rows run are merged into FILE's results: each
rerun row replaces the row with the same table and label, every other row is kept
(renumbered to its current place in rows()), FILE's meta, peak and end records
are kept, a {"kind": "rerun", ...} record describes this run, and this run's
bandwidth record replaces FILE's.

A side that is not run carries {"skipped": "why"}; one that failed carries
{"error": "..."} (PyTorch's memory guard and out-of-memory land here).

Rows that run fast (each side under ROUND_MAX_S) are measured in --rounds rounds (default 3),
alternating which side goes first; each side keeps the run with the median of its rounds'
medians, and records all of them as "rounds_ms".

Slow rows are skipped rather than waited for: each side's time per run is estimated
from the GFLOP/s it reached on the previous row of the same family (same op, layout
and mask), and a row whose estimate exceeds the mode's limit is marked skipped. A
side with no estimate yet runs under a timeout. The whole run also has a time budget.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
# The llama2.c checkpoint of the stories260K generation rows (skipped when absent).
STORIES260K = os.environ.get("ATTN_STORIES260K", "/work/shared/models/stories260K/stories260K.bin")

MODES = {
    # skip: skip a side whose estimated time per run exceeds this (s)
    # single: a side estimated slower than this (s) per run gets one
    #   warm-up run and one timed run (SINGLE_RUN) instead of warm-up + 5 runs
    # timeout: kill a side after this (s); flags: extra timing flags for both sides
    # budget: stop starting rows after this much wall time (s)
    "full": {"skip": 240.0, "single": 30.0, "timeout": 600.0, "flags": [], "budget": 18 * 60.0},
    "quick": {"skip": 6.0, "single": 3.0, "timeout": 45.0, "flags": ["--max-time", "8s"], "budget": 8 * 60.0},
}

# A row whose sides each took under this (s) in its first round gets
# --rounds rounds, alternating which side goes first; slower rows get one.
ROUND_MAX_S = 12.0

# Timing flags for a shape that takes many seconds per run: one warm-up run
# (PyTorch's first run of a big shape pays page faults for its score tensors:
# it can take 4x longer) and one timed run; the JSON records reps=1.
SINGLE_RUN = ["--warmup", "0s", "--warmup-reps", "1", "--min-reps", "1", "--min-time", "0s", "--max-time", "1s"]


def rows():
    """The benchmark rows: (id, table, label, op, flags, threads). Within a family,
    smaller shapes come first so estimates extrapolate upwards."""
    out = []

    def add(table, label, op, flags, threads=2):
        out.append({"id": len(out) + 1, "table": table, "label": label, "op": op, "flags": flags, "threads": threads})

    for m, n, k, tb in [(1024, 1024, 1024, False), (1024, 1024, 1024, True), (1024, 2304, 768, True)]:
        lay = "NT" if tb else "NN"
        add("gemm", f"{m}×{n}×{k} {lay}", "gemm",
            ["--m", str(m), "--n", str(n), "--k", str(k)] + (["--trans-b"] if tb else []))
    add("gemm", "1024×1024×1024 NN, 1 thread", "gemm", ["--m", "1024", "--n", "1024", "--k", "1024"], threads=1)

    att = ["--batch", "1", "--heads", "12", "--head-dim", "64"]
    for T in [512, 1024, 2048, 4096]:
        for causal in (False, True):
            add("attention", f"T={T}" + (" causal" if causal else ""), "attention",
                att + ["--seq", str(T)] + (["--causal"] if causal else []))

    add("decode", "T=1, S=4096, H=12", "attention", att + ["--seq", "1", "--kv-seq", "4096"])
    add("decode", "T=1, S=4096, H=12, GQA G=4", "attention", att + ["--kv-heads", "4", "--seq", "1", "--kv-seq", "4096"])

    for T in [512, 4096]:
        for causal in (False, True):
            add("mha", f"T={T}" + (" causal" if causal else ""), "mha",
                ["--batch", "1", "--seq", str(T), "--dim", "768", "--heads", "12"] + (["--causal"] if causal else []))
    # Generation: prompt and decode tokens/s of whole models (attn bench decode).
    for model, name, contexts in [(STORIES260K, "stories260K", (128, 512)), ("gpt2-small", "gpt2-small", (128, 1024))]:
        for ctx in contexts:
            add("generation", f"{name}, context {ctx}", "decode", ["--model", model, "--context", str(ctx)])
    # Last: the biggest rows, the first to go when the time budget runs out.
    for T in [8192, 16384, 32768, 65536]:
        add("scaling", f"T={T} causal", "attention", att + ["--seq", str(T), "--causal"])
    # Training (after the older rows, so their ids stay put): one training step
    # of whole models (attn bench train), then fused attention forward+backward
    # (attn bench attention --backward) and the memory of one such run at T=8192.
    add("training", "demo model step (reverse task, B=64)", "train", ["--model", "demo"])
    add("training", "GPT-2-small decoder layer fwd+bwd, T=1024", "train", ["--model", "gpt2-layer"])
    for T in [1024, 2048, 4096]:
        for causal in (False, True):
            add("training", f"attention fwd+bwd T={T}" + (" causal" if causal else ""), "attention",
                att + ["--seq", str(T), "--backward"] + (["--causal"] if causal else []))
    add("training", "attention fwd+bwd memory, T=8192 causal", "attention",
        att + ["--seq", "8192", "--causal", "--backward", "--memory-only"])
    # A Llama-architecture model with grouped-query attention (after the older
    # rows, so their ids stay put).
    for ctx in (128, 1024):
        add("generation", f"smollm-135m, context {ctx}", "decode", ["--model", "smollm-135m", "--context", str(ctx)])
    # An encoder: BERT-base's forward pass, as feature extraction runs it.
    for B, T in ((1, 128), (8, 128), (1, 512)):
        add("encoder", f"bert-base, B={B}, T={T}", "encode", ["--model", "bert-base", "--batch", str(B), "--seq", str(T)])
    return out


def family(row):
    f = parse_flags(row["flags"])
    if row["op"] == "decode":
        return ("decode", f"{row['threads']}t", f["--model"], f["--context"])
    if row["op"] == "train":
        return ("train", f"{row['threads']}t", f["--model"])
    if row["op"] == "encode":
        return ("encode", f"{row['threads']}t")
    key = [row["op"], f"{row['threads']}t", "causal" if "--causal" in f else "full"]
    if row["op"] == "gemm":
        key.append("NT" if "--trans-b" in f else "NN")
    if row["op"] == "attention" and f["--seq"] == "1":
        key.append("decode")
    if "--backward" in f:
        key.append("backward")
    if "--memory-only" in f:
        key.append("memory")  # one run: no estimate from (or for) the timed rows
    return tuple(key)


def parse_flags(flags):
    """{"--seq": "512", "--causal": True, ...} from a flag list."""
    out, i = {}, 0
    while i < len(flags):
        if i + 1 < len(flags) and not flags[i + 1].startswith("--"):
            out[flags[i]] = flags[i + 1]
            i += 2
        else:
            out[flags[i]] = True
            i += 1
    return out


def flops(row):
    """Useful FLOPs of a row, counted as both sides count them (used for the estimates);
    None for generation and training-step rows (no estimate: they run under the timeout)."""
    if row["op"] in ("decode", "train"):
        return None
    if row["op"] == "encode":  # bert-base: 12 layers, D 768, F 3072
        f = parse_flags(row["flags"])
        B, T = int(f.get("--batch", 1)), int(f["--seq"])
        n, D, F_ = B * T, 768.0, 3072.0
        return 12 * (2 * n * (4 * D * D + 2 * D * F_) + 4 * n * T * D) + 2.0 * B * D * D
    f = parse_flags(row["flags"])
    num = lambda k, d=None: int(f.get(k, d))  # noqa: E731
    causal = "--causal" in f
    if row["op"] == "gemm":
        return 2.0 * num("--m") * num("--n") * num("--k")
    if row["op"] == "attention":
        T = num("--seq")
        S = num("--kv-seq", T)
        pairs = sum(min(i + 1, S) for i in range(T)) if causal else T * S
        # --backward: forward + backward, the backward counted as 2.5 forwards.
        return (3.5 if "--backward" in f else 1.0) * 4.0 * num("--batch", 1) * num("--heads") * pairs * num("--head-dim")
    T, D = num("--seq"), num("--dim")
    pairs = T * (T + 1) / 2 if causal else T * T
    return 8.0 * num("--batch", 1) * T * D * D + 4.0 * num("--batch", 1) * pairs * D


def sh(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def capture(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(args):
    lscpu = capture(["lscpu"])
    field = lambda name: (re.search(rf"^{name}:\s*(.+)$", lscpu, re.M) or [None, ""])[1].strip()  # noqa: E731
    flags = field("Flags").split()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    torch_version = capture(args.torch_env + [args.python, "-c", "import torch; print(torch.__version__)"])
    git = capture(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = capture(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    return {
        "kind": "meta",
        "mode": args.mode,
        "loadavg_at_start": list(os.getloadavg()),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": field("Model name"),
        "cpus": os.cpu_count(),
        "cores_per_socket": field(r"Core\(s\) per socket"),
        "threads_per_core": field(r"Thread\(s\) per core"),
        "hypervisor": field("Hypervisor vendor"),
        "l2": field("L2 cache"),
        "l3": field("L3 cache"),
        "simd": [x for x in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16") if x in flags],
        "mem_total": mem,
        "kernel": platform.release(),
        "go_version": capture(["go", "version"]),
        "torch_version": torch_version,
        "python": args.python,
        "git_commit": git + (" (with uncommitted changes)" if dirty else ""),
        "attn_binary": args.attn,
        "torch_env": args.torch_env,
        "limits": MODES[args.mode],
        "openblas_dir": OPENBLAS_DIR if os.path.isdir(OPENBLAS_DIR) else None,
        "system_libblas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
        "tcmalloc": TCMALLOC if args.tcmalloc else None,
    }


def run_side(cmd, timeout):
    """Run one side; return its JSON object (or an error/skip record) and the wall time."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"skipped": f"no result within the {timeout:.0f} s row limit (too slow)"}, time.time() - t0
    wall = time.time() - t0
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line), wall
            except json.JSONDecodeError:
                break
    err = p.stderr.strip().splitlines()
    return {"error": (err[-1] if err else f"exit status {p.returncode}, no output")}, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tight per-row limits (see MODES)")
    ap.add_argument("--attn", default="/tmp/attn-bench", help="the attn binary")
    ap.add_argument("--python", default="/usr/bin/python3", help="a python3 with torch (Debian python3-torch)")
    ap.add_argument("--out", required=True, help="JSONL file to write")
    ap.add_argument("--no-tcmalloc", dest="tcmalloc", action="store_false", help="do not preload tcmalloc for PyTorch")
    ap.add_argument("--only", default="", help="regexp: run only rows whose table/label match")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each fast row (see ROUND_MAX_S); 1: one run per side")
    ap.add_argument("--merge", default="", help="with --only: merge the rows run into this earlier results file "
                                                "(see the module docstring); the merged results go to --out")
    args = ap.parse_args()
    args.mode = "quick" if args.quick else "full"
    mode = MODES[args.mode]

    env = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY=PASSIVE"]
    if os.path.isdir(OPENBLAS_DIR):
        env.append(f"LD_LIBRARY_PATH={OPENBLAS_DIR}")
    else:
        print(f"warning: {OPENBLAS_DIR} missing: PyTorch will use whatever libblas.so.3 is "
              "(install libopenblas0-pthread for its best numbers)", file=sys.stderr)
    if args.tcmalloc:
        if os.path.exists(TCMALLOC):
            env.append(f"LD_PRELOAD={TCMALLOC}")
        else:
            print(f"warning: {TCMALLOC} missing (apt-get install -y libtcmalloc-minimal4); running without", file=sys.stderr)
            args.tcmalloc = False
    args.torch_env = env

    start = time.time()
    out = open(args.out, "w")

    def emit(obj):
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()

    emit(machine(args))

    def peak(phase):
        # The FMA peak is a ceiling: noise from other work only lowers it, so
        # the report keeps the best sample, taken before and after the rows.
        for threads in (1, 2):
            cmd = [args.attn, "bench", "peak", "--threads", str(threads), "--duration", "1s", "--json"]
            samples = [run_side(cmd, 60)[0] for _ in range(3)]
            good = [s["gflops"] for s in samples if s.get("gflops")]
            res = {"gflops": max(good), "samples": good} if good else samples[-1]
            emit({"kind": "peak", "phase": phase, "threads": threads, "cmd": sh(cmd), **res})
            print(f"peak {threads} thread(s), {phase}: {res.get('gflops', res.get('error'))} (best of {good})",
                  file=sys.stderr)

    peak("start")

    bw = {}  # threads -> the bandwidth record, measured before the first generation row

    def measure_bandwidth(threads, phase):
        # Like the FMA peak, a ceiling: noise only lowers it, so keep the best
        # of three runs' medians (the floor it gives is then the strictest).
        cmd = [args.attn, "bench", "bandwidth", "--threads", str(threads), "--json"]
        samples = [run_side(cmd, 120)[0] for _ in range(3)]
        good = [x["bandwidth_gbs"] for x in samples if x.get("bandwidth_gbs")]
        res = {"gbs": max(good), "samples": good, "buffer_bytes": samples[0].get("buffer_bytes")} if good else samples[-1]
        rec = {"kind": "bandwidth", "phase": phase, "threads": threads, "cmd": sh(cmd), **res}
        emit(rec)
        print(f"bandwidth {threads} thread(s), {phase}: {res.get('gbs', res.get('error'))} GB/s (best of {good})",
              file=sys.stderr)
        return rec

    def measure_read(row):
        # What one query against the cache must read, K and V, read as a plain
        # buffer of the same size right after the row: the speed of light for
        # that footprint (it may sit partly in L3), to set the decode time
        # against. The median of three runs' medians.
        f = parse_flags(row["flags"])
        kv = 2 * 4 * int(f["--batch"]) * int(f.get("--kv-heads", f["--heads"])) * int(f["--kv-seq"]) * int(f["--head-dim"])
        cmd = [args.attn, "bench", "bandwidth", "--threads", str(row["threads"]), "--mib", str(max(1, round(kv / 2**20))), "--json"]
        samples = [run_side(cmd, 120)[0] for _ in range(3)]
        good = sorted(x["median_ms"] for x in samples if x.get("median_ms"))
        if not good:
            return {"cmd": sh(cmd), "kv_bytes": kv, "error": samples[-1].get("error", "no timing")}
        return {"cmd": sh(cmd), "kv_bytes": kv, "buffer_bytes": samples[0].get("buffer_bytes"),
                "median_ms": good[(len(good) - 1) // 2], "samples_ms": good}

    def bandwidth(threads):
        if threads not in bw:
            bw[threads] = measure_bandwidth(threads, "start")
        return bw[threads].get("gbs")

    rates = {"attn": {}, "torch": {}, "torch_mv": {}}  # family -> GFLOP/s of the last row measured
    names = {"attn": "attn", "torch": "PyTorch", "torch_mv": "PyTorch (--matvec)"}
    for i, row in enumerate(rows()):
        if args.only and not re.search(args.only, row["table"] + " " + row["label"]):
            continue
        common = row["flags"] + ["--threads", str(row["threads"])] + mode["flags"] + ["--json"]
        cmds = {
            "attn": [args.attn, "bench", row["op"]] + common,
            "torch": env + [f"OPENBLAS_NUM_THREADS={row['threads']}", args.python,
                            "scripts/bench/torch_bench.py", row["op"]] + common,
        }
        missing = None
        if row["op"] == "decode":
            cmds["torch_mv"] = cmds["torch"][:-1] + ["--matvec", "--json"]
            gbs = bandwidth(row["threads"])
            if gbs:
                cmds["attn"] = cmds["attn"][:-1] + ["--bandwidth-gbs", f"{gbs:g}", "--json"]
            model = parse_flags(row["flags"])["--model"]
            if model not in ("gpt2-small", "smollm-135m") and not os.path.exists(model):
                missing = f"{model} is not present on this machine"
        rec = {"kind": "row", "id": row["id"], "table": row["table"], "label": row["label"], "op": row["op"],
               "threads": row["threads"], "flags": row["flags"], "flops": flops(row)}
        for side in cmds:
            rec[side + "_cmd"] = sh(cmds[side])
        order = list(cmds)
        if i % 2:
            order.reverse()
        rec["order"] = order
        fam = family(row)

        def measure(side):
            """One run of one side (the first round: with the skip and budget rules)."""
            rate = rates[side].get(fam)
            est = rec["flops"] / (rate * 1e9) if rate and rec["flops"] else None
            used = time.time() - start
            name = names[side]
            if missing:
                return {"skipped": missing}
            if est is not None and est > mode["skip"]:
                res = {"skipped": f"estimated {est:.0f} s per run (from the previous {'/'.join(fam)} row) "
                                  f"exceeds the {mode['skip']:.0f} s limit of the {args.mode} mode: {name} too slow for it",
                       "estimated_s": round(est, 1)}
                if side == "torch":
                    # A shape over PyTorch's memory guard says so, rather than "too slow".
                    dry, _ = run_side(cmds[side] + ["--dry-run"], 120)
                    if "error" in dry:
                        res = dry
                return res
            if used + (est or 0) * (2.2 if (est or 0) > mode["single"] else 3) > mode["budget"]:
                return {"skipped": f"run.sh time budget ({mode['budget'] / 60:.0f} min) used up"}
            cmd = cmds[side]
            if est is not None and est > mode["single"]:
                cmd = cmd[:-1] + SINGLE_RUN + cmd[-1:]  # before the final --json
                rec[side + "_cmd"] = sh(cmd)
            res, wall = run_side(cmd, max(mode["timeout"], 4 * (est or 0)))
            res["wall_s"] = round(wall, 2)
            return res

        # Round 1 in this row's order; while every side finished in under
        # ROUND_MAX_S, further rounds alternate the order. Each side keeps the
        # run whose median is the median of its rounds, so that one bad minute
        # of the shared machine does not decide a ratio.
        runs = {side: [] for side in cmds}
        for rnd in range(args.rounds):
            if rnd and not all(runs[sd] and "median_ms" in runs[sd][0] and runs[sd][0].get("wall_s", 1e9) < ROUND_MAX_S
                               for sd in cmds):
                break
            for side in (order if rnd % 2 == 0 else order[::-1]):
                if rnd == 0:
                    runs[side].append(measure(side))
                else:
                    res, wall = run_side(shlex.split(rec[side + "_cmd"]), mode["timeout"])
                    res["wall_s"] = round(wall, 2)
                    runs[side].append(res)
        for side in cmds:
            timed = sorted((r for r in runs[side] if "median_ms" in r), key=lambda r: r["median_ms"])
            res = timed[(len(timed) - 1) // 2] if timed else runs[side][0]
            if len(runs[side]) > 1:
                res = dict(res, rounds_ms=[r.get("median_ms") for r in runs[side]])
            rec[side] = res
            if res.get("gflops"):
                rates[side][fam] = res["gflops"]
        if row["table"] == "decode" and "median_ms" in rec["attn"]:
            rec["read"] = measure_read(row)
        emit(rec)
        show = lambda r: f"{r['median_ms']:.2f} ms" if "median_ms" in r else (r.get("error") or r.get("skipped"))  # noqa: E731
        print(f"[{time.time() - start:6.0f}s] #{row['id']} {row['table']} {row['label']}: "
              + " | ".join(f"{side} {show(rec[side])}" for side in cmds), file=sys.stderr)
    for threads in bw:  # again after the rows: the report keeps the best
        measure_bandwidth(threads, "end")
    peak("end")
    emit({"kind": "end", "elapsed_s": round(time.time() - start, 1), "loadavg_at_end": list(os.getloadavg())})
    out.close()
    if args.merge:
        merge(args.merge, args.out, args.only)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def merge(old_path, new_path, only):
    """Rewrite new_path (a --only run) as old_path's results with the rerun rows replaced."""
    if not os.path.exists(old_path):
        return  # nothing to merge into: the run's own file stands
    old, new = read_jsonl(old_path), read_jsonl(new_path)
    key = lambda r: (r["table"], r["label"])  # noqa: E731
    new_rows = {key(r): r for r in new if r.get("kind") == "row"}
    old_rows = {key(r): r for r in old if r.get("kind") == "row"}
    new_bw = [r for r in new if r.get("kind") == "bandwidth"]
    meta = next((r for r in new if r.get("kind") == "meta"), {})
    end = next((r for r in new if r.get("kind") == "end"), {})
    rerun = {"kind": "rerun", "only": only, "date": meta.get("date"), "git_commit": meta.get("git_commit"),
             "mode": meta.get("mode"), "loadavg_at_start": meta.get("loadavg_at_start"),
             "loadavg_at_end": end.get("loadavg_at_end"), "elapsed_s": end.get("elapsed_s"),
             "rows": [r["id"] for r in new_rows.values()],
             "peaks": [r for r in new if r.get("kind") == "peak"]}
    merged = [r for r in old if r.get("kind") in ("meta", "peak")]
    for r in old:  # earlier reruns, less the rows this one supersedes
        if r.get("kind") == "rerun":
            left = [i for i in r.get("rows", []) if i not in rerun["rows"]]
            if left:
                merged.append(dict(r, rows=left))
    merged.append(rerun)
    merged += new_bw or [r for r in old if r.get("kind") == "bandwidth"]
    dropped = set(old_rows) - set(new_rows)
    for row in rows():
        r = new_rows.get(key(row)) or old_rows.get(key(row))
        if r is not None:
            dropped.discard(key(row))
            merged.append(dict(r, id=row["id"]))
    merged += [r for r in old if r.get("kind") == "end"]
    for k in sorted(dropped):
        print(f"merge: dropping {k[0]} {k[1]!r} from {old_path}: no longer a row", file=sys.stderr)
    with open(new_path, "w") as f:
        for r in merged:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"merge: {len(new_rows)} row(s) rerun, {len(merged)} records written", file=sys.stderr)


if __name__ == "__main__":
    main()
