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
//   - GPT-2 byte-level BPE from vocab.json + merges.txt (LoadGPT2), or from
//     a Hugging Face tokenizer.json whose model is BPE with a ByteLevel
//     pre-tokenizer (LoadHF); type ByteLevelBPE.
//   - SentencePiece-style BPE from a Llama tokenizer.json (LoadHF; type
//     SentencePieceBPE): spaces become "▁" and a "▁" is put in front,
//     either by the Prepend+Replace normalizer or by a Metaspace
//     pre-tokenizer; characters missing from the vocab fall back to
//     "<0xHH>" byte tokens.
//   - BERT WordPiece from vocab.txt (LoadWordPiece) or a tokenizer.json
//     with a WordPiece model, BertNormalizer and BertPreTokenizer (LoadHF);
//     type WordPiece.
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
// ByteLevelBPE splits text with a hand-written scanner equivalent to
// GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (\s is Unicode White_Space, \p{L} and \p{N} as in Go's unicode tables;
// a byte that is not valid UTF-8 counts as neither) and merges by rank,
// lowest rank first and leftmost among equals, as Hugging Face does.
// That equals GPT-2's own merge-all-occurrences loop whenever a merged
// token never ranks before its ingredients, which holds for merges
// produced by BPE training. Any byte string round-trips through Encode
// and Decode.
//
// Special tokens (such as "<|endoftext|>", or a tokenizer.json's added
// tokens) are recognised in text only with EncodeOptions.Special; without
// it they are encoded as the text they are. Their lstrip, rstrip,
// single_word and normalized flags are not applied.
//
// # Decoding
//
// Decode returns the bytes the tokens stand for, without replacing
// invalid UTF-8 by U+FFFD, and includes the text of special tokens. For
// WordPiece it is Hugging Face's WordPiece decoder (with its cleanup); for
// SentencePieceBPE the space the encoder put in front is dropped when
// nothing but special tokens precedes it. Stream decodes incrementally and
// holds back the bytes of an unfinished UTF-8 sequence.
//
// # Limits
//
// WordPiece accent stripping decomposes, as NFD would, the characters of
// Latin-1 Supplement and Latin Extended-A (by a table) and precomposed
// Hangul (by algorithm), and drops combining marks (Mn); other
// precomposed characters such as Vietnamese letters or Greek with tonos
// keep their accents, since golang.org/x/text is not used. Control
// characters are Unicode category C as Go knows it (unassigned code
// points are kept). Unsupported tokenizer.json parts (Unigram and
// WordLevel models, Split and other regex pre-tokenizers such as Llama 3's,
// NFC/NFKC normalizers, BPE dropout, subword prefixes and suffixes in BPE)
// are errors naming the part.
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
