// Encode throughput of Hugging Face tokenizers.js, the reference the Go tokenizers are measured against.
//
//   cd scripts/golden/tokenizers && npm ci && node bench.mjs [--text FILE] [--only NAME,NAME] [--runs N]
//
// The bench text B: T is the corpus texts (tokenizer/testdata/corpus.json) joined with "\n"; B is T
// repeated k times joined with "\n", for the smallest k that makes B at least 4 MiB (4194304 bytes)
// of UTF-8. --text FILE uses that file's contents as B instead.
//
// For each tokenizer: load it, encode B once to warm up, then encode B (add_special_tokens false)
// --runs times (5). One JSON line per tokenizer on stdout:
//   {"tokenizer": "llama3", "bytes": ..., "ids": ..., "median_s": ..., "mb_per_s": ...}
// mb_per_s is UTF-8 bytes of B / 1e6 / median seconds. tokenizers.js runs on one thread.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..", "..");
const TESTDATA = path.join(ROOT, "tokenizer", "testdata");
const SHARED = process.env.ATTN_TOKENIZERS || path.resolve(ROOT, "..", "shared", "tokenizers");

// The same nine files gen.mjs uses; gpt2's and bert's are the ones it writes next to the goldens.
const FILES = {
  llama3: path.join(SHARED, "llama3", "tokenizer.json"),
  qwen3: path.join(SHARED, "qwen3", "tokenizer.json"),
  gemma3: path.join(SHARED, "gemma3", "tokenizer.json"),
  llama2: path.join(SHARED, "llama2", "tokenizer.json"),
  deepseek_v3: path.join(SHARED, "deepseek_v3", "tokenizer.json"),
  gptoss: path.join(SHARED, "gptoss", "tokenizer.json"),
  "llama-bpe": path.join(TESTDATA, "llama-bpe", "tokenizer.json"),
  gpt2: path.join(TESTDATA, "golden", "gpt2.tokenizer.json"),
  bert: path.join(TESTDATA, "golden", "bert.tokenizer.json"),
};

const MIN_BYTES = 4 * 1024 * 1024;

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0) return null;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

function benchText() {
  const file = arg("--text");
  if (file) return fs.readFileSync(file, "utf8");
  const corpus = JSON.parse(fs.readFileSync(path.join(TESTDATA, "corpus.json"), "utf8"));
  const t = corpus.map((c) => c.text).join("\n");
  const tBytes = Buffer.byteLength(t, "utf8");
  // len(B) = k*len(T) + (k-1) for the k-1 joining newlines
  let k = 1;
  while (k * tBytes + (k - 1) < MIN_BYTES) k++;
  const b = Array(k).fill(t).join("\n");
  if (Buffer.byteLength(b, "utf8") < MIN_BYTES) throw new Error("bench text too short");
  return b;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const runs = Number(arg("--runs") ?? 5);
  const only = arg("--only")?.split(",");
  const text = benchText();
  const bytes = Buffer.byteLength(text, "utf8");
  for (const [name, file] of Object.entries(FILES)) {
    if (only && !only.includes(name)) continue;
    const tk = new Tokenizer(JSON.parse(fs.readFileSync(file, "utf8")), { clean_up_tokenization_spaces: false });
    const warm = tk.encode(text, { add_special_tokens: false }).ids.length;
    const times = [];
    let ids = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      ids = tk.encode(text, { add_special_tokens: false }).ids.length;
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    if (ids !== warm) throw new Error(`${name}: ${ids} ids after warm-up's ${warm}`);
    const med = median(times);
    const row = { tokenizer: name, bytes, ids, median_s: Number(med.toFixed(4)), mb_per_s: Number((bytes / 1e6 / med).toFixed(3)) };
    console.log("{" + Object.entries(row).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ") + "}");
  }
}

main();
