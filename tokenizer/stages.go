package tokenizer

// The stages of a Hugging Face tokenizer.json pipeline, in the order
// Pipeline runs them:
//
//	text ─ added tokens cut out ─ normalizer ─ pre-tokenizer ─ model ─ post-processor ─ ids
//	ids ─ tokens ─ decoder ─ text
//
// Each stage is a small type behind one of the interfaces below, built
// from its JSON object by a parse function that refuses unknown types and
// unknown settings by name.

// normalizer rewrites a piece of text before it is split (NFC, Lowercase,
// Replace, ...). It must accept any byte string, valid UTF-8 or not.
type normalizer interface {
	normalize(s string) string
}

// preTokenizer splits one piece of normalized text into the words the
// model encodes separately, appending them to dst in order. A
// pre-tokenizer may also rewrite the text (ByteLevel maps bytes to its
// alphabet, Metaspace spaces to "▁"). Empty words are never appended.
// first reports that s starts at the beginning of the input text (not
// after an added token), which Metaspace's prepend_scheme "first" needs;
// a Sequence passes it on to the first word of a first piece only.
type preTokenizer interface {
	preTokenize(dst []string, s string, first bool) []string
}

// model turns one pre-tokenized word into ids, appending them to dst.
// It is safe for concurrent use.
type model interface {
	tokenize(dst []int, word string) ([]int, error)
	// tokenID looks a token up in the model's vocab.
	tokenID(token string) (int, bool)
}

// matcher finds pattern matches for the Split pre-tokenizer: find returns
// the leftmost non-empty match in s that starts at or after start, as
// s[lo:hi], or lo = -1 when there is none. Empty matches are skipped, as
// Hugging Face's Split drops them.
type matcher interface {
	find(s string, start int) (lo, hi int)
}
