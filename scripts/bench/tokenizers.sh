#!/usr/bin/env bash
# Encode throughput of attn's tokenizers next to Hugging Face tokenizers.js,
# on the same text in the same run, and the Markdown table of BENCHMARKS.md.
#
#   scripts/bench/tokenizers.sh [OUT.jsonl]
#
# Needs node and npm (the npm registry) for tokenizers.js, python3 for the
# table, and the real tokenizer files in $ATTN_TOKENIZERS (default
# ../shared/tokenizers beside the repository; tokenizers that are missing
# are skipped). The bench text is the one scripts/golden/tokenizers/bench.mjs
# defines: the corpus of tokenizer/testdata/corpus.json joined with "\n",
# repeated until it holds at least 4 MiB. Both sides encode it whole on one
# thread, special-token strings recognised and no special tokens added; the
# row checks that they produce the same number of ids.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${ATTN_TOKENIZERS:-$root/../shared/tokenizers}
out=${1:-/tmp/attn-tokenizers-bench.jsonl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
text=$work/bench.txt
python3 - "$root/tokenizer/testdata/corpus.json" "$text" <<'PY'
import json, sys
t = "\n".join(c["text"] for c in json.load(open(sys.argv[1], encoding="utf-8")))
k = 1
while k * len(t.encode()) + k - 1 < 4 * 1024 * 1024:
    k += 1
open(sys.argv[2], "w", encoding="utf-8", newline="").write("\n".join([t] * k))
PY
(cd "$root" && go build -o "$work/attn" ./cmd/attn)
(cd "$root/scripts/golden/tokenizers" && npm ci --silent --no-audit --no-fund)
: > "$out"
declare -A path=(
  [llama3]=$shared/llama3/tokenizer.json [qwen3]=$shared/qwen3/tokenizer.json
  [gemma3]=$shared/gemma3/tokenizer.json [llama2]=$shared/llama2/tokenizer.json
  [deepseek_v3]=$shared/deepseek_v3/tokenizer.json [gptoss]=$shared/gptoss/tokenizer.json
  [llama-bpe]=$root/tokenizer/testdata/llama-bpe/tokenizer.json
  [gpt2]=$root/tokenizer/testdata/golden/gpt2.tokenizer.json
  [bert]=$root/tokenizer/testdata/golden/bert.tokenizer.json
)
for name in llama3 qwen3 gemma3 llama2 deepseek_v3 gptoss llama-bpe gpt2 bert; do
  p=${path[$name]}
  if [[ ! -f $p ]]; then echo "skip $name: $p is missing" >&2; continue; fi
  echo "== $name" >&2
  "$work/attn" bench tokenize --tokenizer "$p" --text "$text" --threads 1 --min-reps 5 --json |
    python3 -c 'import json,sys; o=json.load(sys.stdin); o["name"]=sys.argv[1]; print(json.dumps(o))' "$name" >> "$out"
  (cd "$root/scripts/golden/tokenizers" && node bench.mjs --only "$name" --text "$text") |
    python3 -c 'import json,sys; o=json.load(sys.stdin); o["impl"]="tokenizers.js"; o["name"]=sys.argv[1]; print(json.dumps(o))' "$name" >> "$out"
done
python3 - "$out" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    rows.setdefault(o["name"], {})[o["impl"]] = o
print("| tokenizer | ids | attn MB/s | tokenizers.js MB/s | attn / tokenizers.js |")
print("|---|---:|---:|---:|---:|")
for name, r in rows.items():
    a, j = r.get("attn"), r.get("tokenizers.js")
    if not a or not j:
        continue
    same = "" if a["ids"] == j["ids"] else f" (tokenizers.js: {j['ids']})"
    print(f"| {name} | {a['ids']}{same} | {a['mb_per_s']:.2f} | {j['mb_per_s']:.2f} | {a['mb_per_s'] / j['mb_per_s']:.1f}× |")
PY
