// Builds the small Unigram fixtures of tokenizer/testdata/unigram and
// their goldens.
//
//   cd scripts/golden/unigram && npm ci && node gen.mjs
//
// Needs Debian's sentencepiece (spm_train, spm_normalize) and
// python3-sentencepiece (run as /usr/bin/python3), and Hugging Face
// tokenizers.js from package-lock.json.
//
// 1. The normalization rules: SentencePiece's nmt_nfkc rules (what T5,
//    ALBERT and XLM-RoBERTa ship as precompiled_charsmap), decompiled by
//    spm_normalize and cut down to the characters of corpus.txt and
//    texts.json, Latin letters with up to two combining marks, and the
//    ASCII, Latin-1, punctuation, letterlike, ligature and full-width
//    ranges, so the compiled charsmap stays near 12 KB.
// 2. Two unigram models trained by spm_train on corpus.txt with those
//    rules, T5's special ids (<pad> 0, </s> 1, <unk> 2), 400 pieces; the
//    second with byte_fallback, 600 pieces of which 256 are bytes, and
//    the rarest 1% of characters left out. Each is converted to a tokenizer.json laid
//    out as transformers' T5 converter writes it (spm.mjs).
// 3. golden.json: for each text of texts.json, tokenizers.js's ids
//    without and with special tokens and its decoding; the text after
//    the normalizer as SentencePiece's charsmap code computes it; and the
//    words of that text (Metaspace split as the Rust library does it,
//    at every "▁") with their ids from tokenizers.js's Unigram model and
//    from SentencePiece itself. The Go test checks its own result
//    against these and says which reference a difference comes from.
// 4. golden_bytefallback.json: the words with SentencePiece's ids under
//    the byte_fallback model (tokenizers.js has no Unigram byte fallback).
//
// The Rust library normalizes Precompiled per grapheme cluster and takes
// the shortest rule; SentencePiece takes the longest match. They agree on
// the texts here, which the script checks; tokenizers.js ignores the
// charsmap and runs NFKC, which agrees on these texts as well (checked).

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { identityModel, parseModel, toTokenizerJSON } from "./spm.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "../../../tokenizer/testdata/unigram");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "unigram-"));
const corpus = fs.readFileSync(path.join(here, "corpus.txt"), "utf8");
const texts = JSON.parse(fs.readFileSync(path.join(here, "texts.json"), "utf8"));

// 1. Rules.
execFileSync("spm_normalize", ["--normalization_rule_name=nmt_nfkc", "--decompile", `--output=${tmp}/nmt_nfkc.tsv`]);
const seen = new Set([...corpus, ...texts.join("")].map((c) => c.codePointAt(0)));
const inRanges = (cp) =>
  cp < 0x100 || (cp >= 0x2000 && cp <= 0x206f) || (cp >= 0xff00 && cp <= 0xffef) || (cp >= 0xfb00 && cp <= 0xfb06) ||
  (cp >= 0x2100 && cp <= 0x218f) || [0x3000, 0xfeff, 0xfffd, 0x1680].includes(cp);
const rules = fs
  .readFileSync(`${tmp}/nmt_nfkc.tsv`, "utf8")
  .split("\n")
  .filter((line) => {
    if (!line) return false;
    const cps = line.split("\t")[0].split(" ").map((h) => parseInt(h, 16));
    if (cps.length === 1) return seen.has(cps[0]) || inRanges(cps[0]);
    const base = cps[0] < 0x80 || (cps[0] >= 0xff21 && cps[0] <= 0xff5a);
    return cps.length <= 3 && base && cps.slice(1).every((c) => c >= 0x300 && c <= 0x36f);
  });
fs.writeFileSync(`${tmp}/rules.tsv`, rules.join("\n") + "\n");
fs.writeFileSync(`${tmp}/corpus.txt`, corpus.repeat(6));

// 2. Models.
function train(prefix, extra) {
  execFileSync(
    "spm_train",
    [
      `--input=${tmp}/corpus.txt`, `--model_prefix=${tmp}/${prefix}`, "--num_threads=1",
      "--hard_vocab_limit=false", `--normalization_rule_tsv=${tmp}/rules.tsv`,
      "--pad_id=0", "--eos_id=1", "--unk_id=2", "--bos_id=-1", ...extra,
    ],
    { stdio: "ignore" },
  );
  return fs.readFileSync(`${tmp}/${prefix}.model`);
}
const plainModel = train("plain", ["--vocab_size=400", "--character_coverage=1.0"]);
// 256 byte pieces on top; the rarest characters are left to them.
const byteModel = train("bytes", ["--vocab_size=600", "--character_coverage=0.99", "--byte_fallback=true"]);
const plainJSON = toTokenizerJSON(parseModel(plainModel));
const byteJSON = toTokenizerJSON(parseModel(byteModel));
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "tokenizer.json"), JSON.stringify(plainJSON, null, 1) + "\n");
fs.writeFileSync(path.join(out, "tokenizer_bytefallback.json"), JSON.stringify(byteJSON, null, 1) + "\n");

// SentencePiece's own charsmap normalization of each text (no dummy
// prefix, no whitespace handling), and its ids for words, through the
// python binding on models rewritten to normalize nothing.
const spNorm = (() => {
  fs.writeFileSync(`${tmp}/texts.txt`, texts.map((t) => t.replaceAll("\n", "\u2028")).join("\n") + "\n");
  execFileSync("spm_normalize", [
    `--normalization_rule_tsv=${tmp}/rules.tsv`, "--remove_extra_whitespaces=false",
    `--input=${tmp}/texts.txt`, `--output=${tmp}/texts.norm.txt`,
  ]);
  return fs.readFileSync(`${tmp}/texts.norm.txt`, "utf8").split("\n").slice(0, texts.length);
})();
function spEncode(model, words) {
  fs.writeFileSync(`${tmp}/sp.model`, identityModel(model));
  fs.writeFileSync(`${tmp}/words.json`, JSON.stringify(words));
  const py = `
import json, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file="${tmp}/sp.model")
words = json.load(open("${tmp}/words.json", encoding="utf-8"))
print(json.dumps([sp.encode(w, out_type=int) for w in words]))
`;
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", py], { encoding: "utf8" }));
}

// The Rust library's Metaspace (prepend_scheme "always", split true) on
// normalized text.
function metaspaceWords(s) {
  if (s === "") return [];
  s = s.replaceAll(" ", "\u2581");
  if (!s.startsWith("\u2581")) s = "\u2581" + s;
  return s.split(/(?=\u2581)/u).filter((w) => w !== "");
}

// 3. Goldens.
const config = { clean_up_tokenization_spaces: false };
const tk = new Tokenizer(plainJSON, config);
const unk = plainJSON.model.unk_id;
const modelIDs = (word) => tk.model([word]).map((t) => tk.model.tokens_to_ids.get(t) ?? unk);
const cases = [];
const allWords = [];
texts.forEach((text, i) => {
  const js = tk.encode(text, { add_special_tokens: false }).ids;
  const jsSpecial = tk.encode(text, { add_special_tokens: true }).ids;
  // Rust: Precompiled, then Strip(right), then Replace(" {2,}", "▁").
  const sp = spNorm[i].replaceAll("\u2028", "\n");
  const jsNorm = tk.normalizer(text);
  // White_Space, Rust's char::is_whitespace (JavaScript's \s differs).
  const normalized = sp.replace(/[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u, "").replace(/ {2,}/g, "\u2581");
  if (jsNorm !== normalized) console.warn(`text ${i}: tokenizers.js normalizes to ${JSON.stringify(jsNorm)}, SentencePiece to ${JSON.stringify(normalized)}`);
  const words = text.includes("</s>") ? [] : metaspaceWords(normalized);
  allWords.push(...words);
  cases.push({
    text,
    ids: js,
    ids_special: jsSpecial,
    decoded: js.length ? tk.decode(js, { skip_special_tokens: false }) : "",
    normalized,
    words: words.map((w) => ({ word: w, ids: modelIDs(w) })),
  });
});
const spPlain = spEncode(plainModel, allWords);
let k = 0;
for (const c of cases) {
  for (const w of c.words) {
    const sp = spPlain[k++];
    if (JSON.stringify(sp) !== JSON.stringify(w.ids)) {
      w.sp_ids = sp;
      console.warn(`word ${JSON.stringify(w.word)}: tokenizers.js ${JSON.stringify(w.ids)}, SentencePiece ${JSON.stringify(sp)}`);
    }
  }
}
fs.writeFileSync(
  path.join(out, "golden.json"),
  JSON.stringify({ generator: "scripts/golden/unigram/gen.mjs: @huggingface/tokenizers 0.2.0, sentencepiece 0.1.97", cases }, null, 1) + "\n",
);

// 4. Byte fallback, model level.
const spBytes = spEncode(byteModel, allWords);
fs.writeFileSync(
  path.join(out, "golden_bytefallback.json"),
  JSON.stringify(
    { generator: "scripts/golden/unigram/gen.mjs: sentencepiece 0.1.97", words: allWords.map((w, i) => ({ word: w, ids: spBytes[i] })) },
    null,
    1,
  ) + "\n",
);
fs.rmSync(tmp, { recursive: true });
