#!/usr/bin/env bash
# Writes the inputs of TestPrecompiledNmtNfkc into a folder: SentencePiece's
# full nmt_nfkc precompiled_charsmap (taken from a model spm_train builds),
# every code point on a line of its own, and spm_normalize's normalization
# of each. Needs Debian's sentencepiece and node.
#
#   bash scripts/golden/unigram/nmt_check.sh /tmp/nmt && ATTN_NMT_NFKC=/tmp/nmt go test ./tokenizer -run NmtNfkc -v
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: nmt_check.sh DIR}
mkdir -p "$out"
for i in 1 2 3 4 5 6; do cat "$here/corpus.txt"; done >"$out/corpus.txt"
spm_train --input="$out/corpus.txt" --model_prefix="$out/nfkc" --vocab_size=300 --num_threads=1 \
  --character_coverage=1.0 --hard_vocab_limit=false >/dev/null 2>&1
node --input-type=module -e "
import fs from 'node:fs';
import { parseModel } from '$here/spm.mjs';
fs.writeFileSync('$out/nmt_nfkc.bin', parseModel(fs.readFileSync('$out/nfkc.model')).normalizer.precompiled_charsmap);
"
# Every code point but the surrogates, NUL, line feed and carriage return.
node -e "
const lines = [];
for (let cp = 1; cp < 0x110000; cp++) {
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp === 10 || cp === 13) continue;
  lines.push(String.fromCodePoint(cp));
}
require('fs').writeFileSync('$out/allcp.txt', lines.join('\n') + '\n');
"
spm_normalize --normalization_rule_name=nmt_nfkc --remove_extra_whitespaces=false \
  --input="$out/allcp.txt" --output="$out/allcp.spm.txt"
