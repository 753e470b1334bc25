#!/usr/bin/env bash
# Benchmark attn against PyTorch on this machine and regenerate BENCHMARKS.md.
#
#   bash scripts/bench/run.sh            # every row (aim: under ~20 minutes)
#   bash scripts/bench/run.sh --quick    # tight per-row limits: slow rows are skipped
#   bash scripts/bench/run.sh --only 'gemm'   # a subset (regexp on table and label): reruns those rows and
#                                             # merges them into results.jsonl (the other rows are kept),
#                                             # then rewrites BENCHMARKS.md
#   bash scripts/bench/run.sh --only '^generation'   # the Generation rows (attn bench decode; ~4 minutes)
#   bash scripts/bench/run.sh --only '^training'     # the Training rows (attn bench train, attention --backward; ~5 minutes)
#   bash scripts/bench/run.sh --report-only   # rewrite BENCHMARKS.md from the last results
#   bash scripts/bench/run.sh --rounds 1      # one run per side instead of three rounds of the fast rows
#
# Steps: build attn once (go build -o /tmp/attn-bench ./cmd/attn); measure the FMA
# peak (attn bench peak, 1 and 2 threads), and before the generation rows the DRAM
# read bandwidth (attn bench bandwidth); run each row's attn and PyTorch commands
# back to back (scripts/bench/drive.py), writing scripts/bench/results.jsonl (with
# --only, merging the rerun rows into it); then
# scripts/bench/report.py turns that file into BENCHMARKS.md. Never edit
# BENCHMARKS.md by hand.
#
# PyTorch side: Debian's /usr/bin/python3 with python3-torch (1.13). For its best
# numbers each PyTorch command runs with OpenBLAS (LD_LIBRARY_PATH pointing at
# libopenblas0-pthread; the system libblas.so.3 may be the slow reference BLAS),
# tcmalloc preloaded, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=<threads>, and
# with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS picks its kernel
# for this CPU. Install what is missing with:
#   apt-get install -y python3-torch libopenblas0-pthread libtcmalloc-minimal4 python3-threadpoolctl
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PYTHON:-/usr/bin/python3}
BIN=${ATTN_BENCH_BIN:-/tmp/attn-bench}
RESULTS=scripts/bench/results.jsonl
args=()
report_only=0
only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) args+=(--quick) ;;
    --no-tcmalloc) args+=(--no-tcmalloc) ;;
    --rounds) args+=(--rounds "$2"); shift ;;
    --only) args+=(--only "$2"); only=1; shift ;;
    --report-only) report_only=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$report_only" = 0 ]; then
  "$PY" -c 'import torch' 2>/dev/null || {
    echo "run.sh: $PY cannot import torch (apt-get install -y python3-torch; see /tmp/apt.log)" >&2; exit 1; }
  for f in /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3; do
    [ -e "$f" ] || echo "run.sh: warning: $f missing; PyTorch runs slower without it (see the install line in this script)" >&2
  done

  echo "== go build -o $BIN ./cmd/attn" >&2
  go build -o "$BIN" ./cmd/attn

  start=$(date +%s)
  tmp=$(mktemp "${RESULTS}.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  if [ "$only" = 1 ] && [ -s "$RESULTS" ]; then
    args+=(--merge "$RESULTS")
  fi
  "$PY" scripts/bench/drive.py --attn "$BIN" --python "$PY" --out "$tmp" "${args[@]}"
  mv "$tmp" "$RESULTS"
  echo "== rows done in $(( $(date +%s) - start )) s" >&2
fi

go build -o "$BIN" ./cmd/attn
"$BIN" bench plot --results "$RESULTS" --out docs/bench >&2
"$PY" scripts/bench/report.py "$RESULTS" -o BENCHMARKS.md
echo "== wrote BENCHMARKS.md from $RESULTS" >&2
