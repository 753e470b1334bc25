// Package tokenizer reads the tokenizers of real checkpoints in pure Go
// and turns text into ids and back, treating every file as hostile.
//
// # Formats
//
//   - llama2.c tokenizer.bin (LoadLlama2c, type Llama2c): int32
//     max_token_length, then per token float32 score, int32 length and the
//     bytes, little-endian. The file does not record its vocab size; the
//     caller passes the model's, and a file holding more or fewer tokens is
//     an error.
//   - GPT-2 byte-level BPE from vocab.json + merges.txt (LoadGPT2; type
//     ByteLevelBPE).
//   - BERT WordPiece from vocab.txt (LoadWordPiece; type WordPiece).
//   - Any Hugging Face tokenizer.json (LoadHF; type Pipeline): the
//     pipeline of the tokenizers library, each stage built from its JSON
//     object. Normalizers: NFC, NFD, NFKC, NFKD, Lowercase, Strip,
//     StripAccents, Replace, Prepend, Precompiled (SentencePiece's
//     charsmap), Nmt, ByteLevel, BertNormalizer, Sequence. Pre-tokenizers:
//     Split (string or regex; every behaviour; invert), ByteLevel,
//     Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit,
//     BertPreTokenizer, CharDelimiterSplit, Sequence. Models: BPE (byte
//     fallback, fuse_unk, ignore_merges, subword prefix and suffix, both
//     merges spellings), WordPiece, Unigram (Viterbi, byte fallback),
//     WordLevel. Added tokens with their lstrip, rstrip, single_word,
//     normalized and special flags. Post-processors: TemplateProcessing,
//     BertProcessing, RobertaProcessing, ByteLevel, Sequence. Decoders:
//     ByteLevel, Metaspace, WordPiece, BPEDecoder, ByteFallback, Fuse,
//     Strip, Replace, Sequence.
//
// Load picks the format from a path (see its documentation). All types
// implement Tokenizer; each also has EncodeWith for BOS/EOS and special
// tokens, BOS and EOS accessors (-1 when absent), ID and Token.
//
// # Exactness
//
// Llama2c.Encode gives the ids of karpathy/llama2.c run.c encode(): the
// dummy-prefix " " token, run.c's grouping of bytes into characters
// (a byte and up to three continuation bytes), byte fallback to id
// byte+3, and merging the pair of highest score, the leftmost on ties,
// with scores at or below -1e10 (and NaN) never merging. The one
// difference: run.c stops at the first NUL byte of a C string, this
// package encodes the whole Go string. Llama2c.Piece is run.c decode()
// (the space after BOS dropped, "<0xHH>" read the way glibc's sscanf
// reads it) and SafePrint is safe_printf, so printing
// SafePrint(Piece(prev, id)) for each generated token reproduces run.c's
// output byte for byte.
//
// Pipeline gives the ids of Hugging Face's Rust tokenizers library:
// testdata/golden holds the ids of Llama 3, Qwen3, Gemma 3, Llama 2,
// DeepSeek-V3, gpt-oss, GPT-2 and BERT tokenizers for 200 texts (many
// scripts, code, numbers, whitespace runs, emoji sequences, combining
// marks, special-token lookalikes), with and without special tokens, and
// the tests require every id to match. Hugging Face's encode(text,
// add_special_tokens=B) is EncodeWith(text, EncodeOptions{Special: true,
// AddSpecialTokens: B}). The regexes of Split pre-tokenizers run with
// Oniguruma's semantics (the engine the Rust library uses): the patterns
// of current model families through hand-written scanners, any other
// through regexp2 (see docs/pretokenizers.md).
//
// ByteLevelBPE splits text with a hand-written scanner equivalent to
// GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (\s is Unicode White_Space, \p{L} and \p{N} as in Go's unicode tables;
// a byte that is not valid UTF-8 counts as neither) and merges by rank,
// lowest rank first and leftmost among equals, as Hugging Face does.
// Any byte string round-trips through Encode and Decode.
//
// Special tokens (such as "<|endoftext|>", or a tokenizer.json's added
// tokens marked special) are recognised in text only with
// EncodeOptions.Special; without it they are encoded as the text they
// are. A Pipeline always recognises its added tokens that are not special,
// as Hugging Face does.
//
// # Decoding
//
// Decode returns the bytes the tokens stand for and includes the text of
// special tokens (Pipeline.DecodeWith with SkipSpecial leaves them out).
// Where Hugging Face replaces an invalid UTF-8 sequence by U+FFFD (a
// ByteLevel or ByteFallback run that is not whole characters), Decode
// keeps the bytes; for whole characters the text is the same. Stream
// decodes incrementally and holds back the bytes of an unfinished UTF-8
// sequence.
//
// # Limits
//
// Unicode tables are Go's (Unicode 15.0); the Rust library's come from its
// crates, so characters assigned since differ in class. Tokenizer.json
// parts not listed above (BPE dropout, the UnicodeScripts pre-tokenizer,
// the CTC decoder, regex Replace decoders, truncation and padding
// settings) and unknown fields are errors naming the part: nothing is
// silently approximated.
//
// # Robustness
//
// Loaders return an error, never panic, for malformed input: truncated
// files, negative or oversized lengths, a vocab size that does not match
// the file, invalid JSON, duplicate tokens or ids, ids that are not
// exactly 0..n-1, merges naming tokens not in the vocab, repeated merges.
// Messages start with "tokenizer: " and name the file and the problem.
// Allocations are bounded by the input size. Tokenizers are safe for
// concurrent use; byte-level BPE keeps a bounded per-word cache.
package tokenizer
