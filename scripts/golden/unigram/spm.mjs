// Reading and rewriting SentencePiece .model files (a protobuf ModelProto)
// without a protobuf library, and converting a unigram model to a
// tokenizer.json the way transformers' T5 converter lays it out.

// readFields splits a protobuf message into [field, wireType, value]
// triples: varints as BigInt, fixed32 as the 4 bytes, length-delimited
// fields as a Buffer.
export function readFields(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    if (wire === 0) out.push([field, wire, varint()]);
    else if (wire === 1) { out.push([field, wire, buf.subarray(i, i + 8)]); i += 8; }
    else if (wire === 2) { const n = Number(varint()); out.push([field, wire, buf.subarray(i, i + n)]); i += n; }
    else if (wire === 5) { out.push([field, wire, buf.subarray(i, i + 4)]); i += 4; }
    else throw new Error(`wire type ${wire}`);
  }
  return out;
}

function writeVarint(v) {
  v = BigInt(v);
  const bytes = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    bytes.push(b);
  } while (v);
  return Buffer.from(bytes);
}

// writeFields is the inverse of readFields.
export function writeFields(fields) {
  const parts = [];
  for (const [field, wire, value] of fields) {
    parts.push(writeVarint((field << 3) | wire));
    if (wire === 0) parts.push(writeVarint(value));
    else if (wire === 2) parts.push(writeVarint(value.length), Buffer.from(value));
    else parts.push(Buffer.from(value));
  }
  return Buffer.concat(parts);
}

export const PIECE_TYPE = { 1: "NORMAL", 2: "UNKNOWN", 3: "CONTROL", 4: "USER_DEFINED", 5: "UNUSED", 6: "BYTE" };

// parseModel returns the pieces, the trainer settings this converter
// needs and the normalizer spec of a ModelProto.
export function parseModel(buf) {
  const model = { pieces: [], trainer: { unk_id: 0, byte_fallback: false, model_type: 1 }, normalizer: {} };
  for (const [field, , value] of readFields(buf)) {
    if (field === 1) {
      const p = { piece: "", score: 0, type: 1 };
      for (const [f, , v] of readFields(value)) {
        if (f === 1) p.piece = v.toString("utf8");
        else if (f === 2) p.score = v.readFloatLE(0);
        else if (f === 3) p.type = Number(v);
      }
      model.pieces.push(p);
    } else if (field === 2) {
      for (const [f, , v] of readFields(value)) {
        if (f === 40) model.trainer.unk_id = Number(BigInt.asIntN(64, v));
        else if (f === 35) model.trainer.byte_fallback = v !== 0n;
        else if (f === 3) model.trainer.model_type = Number(v);
      }
    } else if (field === 3) {
      for (const [f, , v] of readFields(value)) {
        if (f === 1) model.normalizer.name = v.toString("utf8");
        else if (f === 2) model.normalizer.precompiled_charsmap = Buffer.from(v);
        else if (f === 3) model.normalizer.add_dummy_prefix = v !== 0n;
        else if (f === 4) model.normalizer.remove_extra_whitespaces = v !== 0n;
        else if (f === 5) model.normalizer.escape_whitespaces = v !== 0n;
      }
    }
  }
  return model;
}

// identityModel rewrites a ModelProto so that SentencePiece encodes its
// input as it is: no charsmap, no dummy prefix, no whitespace handling.
// Encoding a pre-tokenized word with it gives the model-level result.
export function identityModel(buf) {
  const spec = writeFields([
    [1, 2, Buffer.from("identity")],
    [2, 2, Buffer.alloc(0)],
    [3, 0, 0n],
    [4, 0, 0n],
    [5, 0, 0n],
  ]);
  return writeFields(readFields(buf).map(([f, w, v]) => (f === 3 ? [3, 2, spec] : [f, w, v])));
}

// toTokenizerJSON lays out a unigram model as transformers' T5 converter
// writes tokenizer.json: the pieces and their float32 scores, unk_id and
// byte_fallback; normalizer Precompiled then Strip(right) and
// Replace(" {2,}", "▁"); Metaspace pre-tokenizer and decoder; "$A </s>"
// post-processing; the control and unknown pieces as added tokens.
export function toTokenizerJSON(model) {
  if (model.trainer.model_type !== 1) throw new Error("not a unigram model");
  const eos = model.pieces.findIndex((p) => p.piece === "</s>");
  const added = [];
  model.pieces.forEach((p, id) => {
    if (p.type === 2 || p.type === 3) {
      added.push({ id, content: p.piece, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
  });
  const normalizers = [];
  if (model.normalizer.precompiled_charsmap?.length) {
    normalizers.push({ type: "Precompiled", precompiled_charsmap: model.normalizer.precompiled_charsmap.toString("base64") });
  }
  normalizers.push({ type: "Strip", strip_left: false, strip_right: true });
  normalizers.push({ type: "Replace", pattern: { Regex: " {2,}" }, content: "\u2581" });
  const meta = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: "Sequence", normalizers },
    pre_tokenizer: meta,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
      pair: [
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
        { Sequence: { id: "B", type_id: 0 } },
        { SpecialToken: { id: "</s>", type_id: 0 } },
      ],
      special_tokens: { "</s>": { id: "</s>", ids: [eos], tokens: ["</s>"] } },
    },
    decoder: meta,
    model: {
      type: "Unigram",
      unk_id: model.trainer.unk_id,
      vocab: model.pieces.map((p) => [p.piece, p.score]),
      byte_fallback: model.trainer.byte_fallback,
    },
  };
}
