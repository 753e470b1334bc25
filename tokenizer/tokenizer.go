package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// Tokenizer is the surface shared by every tokenizer in this package.
type Tokenizer interface {
	// Encode turns text into ids. It adds no BOS/EOS and recognises no
	// special-token strings; use the EncodeWith method of the concrete type
	// for those.
	Encode(text string) ([]int, error)
	// Decode turns ids back into text. It fails for an id out of range.
	// Bytes are returned as the tokens denote them: an incomplete or
	// invalid UTF-8 sequence is kept, not replaced by U+FFFD.
	Decode(ids []int) (string, error)
	// VocabSize is the number of ids; every valid id is in [0, VocabSize).
	VocabSize() int
}

// SpecialEncoder is a Tokenizer that can add its BOS/EOS ids and recognise
// its special tokens (every tokenizer of this package is one).
type SpecialEncoder interface {
	Tokenizer
	EncodeWith(text string, opt EncodeOptions) ([]int, error)
}

var (
	_ SpecialEncoder = (*ByteLevelBPE)(nil)
	_ SpecialEncoder = (*Llama2c)(nil)
	_ SpecialEncoder = (*WordPiece)(nil)
)

// EncodeOptions selects the extras an EncodeWith method adds around the
// plain encoding.
type EncodeOptions struct {
	// AddBOS and AddEOS add the tokenizer's BOS and EOS ids (for WordPiece:
	// [CLS] and [SEP]). Asking for one the tokenizer lacks is an error.
	AddBOS, AddEOS bool
	// Special recognises the tokenizer's special-token strings (such as
	// "<|endoftext|>") in the text and encodes each as its single id.
	// Without it such strings are encoded as ordinary text. (For a
	// Pipeline, added tokens that are not special are always recognised,
	// as Hugging Face does; Special also recognises the special ones.)
	Special bool
	// AddSpecialTokens runs a Pipeline's post-processor, which adds the
	// special tokens the model was trained with (BOS, [CLS] ... [SEP]):
	// Hugging Face's add_special_tokens=True. Other tokenizers ignore it.
	AddSpecialTokens bool
}

// decodeState is what the decoding of one token may depend on.
type decodeState struct {
	prev  int  // the id before this one, -1 at the start
	wrote bool // some bytes were produced before this token
}

// stepDecoder is implemented by every tokenizer of this package so that
// Decode and Stream share one definition of a token's bytes.
type stepDecoder interface {
	appendToken(dst []byte, st decodeState, id int) ([]byte, error)
}

func decodeAll(d stepDecoder, ids []int) (string, error) {
	st := decodeState{prev: -1}
	var out []byte
	for _, id := range ids {
		n := len(out)
		var err error
		out, err = d.appendToken(out, st, id)
		if err != nil {
			return "", err
		}
		st.prev = id
		if len(out) > n {
			st.wrote = true
		}
	}
	return string(out), nil
}

func errID(id, n int) error {
	return fmt.Errorf("tokenizer: id %d out of range [0, %d)", id, n)
}

// Stream turns ids into text incrementally, for printing tokens as a model
// generates them. The concatenation of every Next result and the final
// Flush equals Decode of all the ids (when the stream starts with no
// SetPrev). Bytes are never altered: Next only holds back the tail of a
// UTF-8 sequence that the next token may complete.
type Stream struct {
	t       Tokenizer
	d       stepDecoder // nil for tokenizers from outside this package
	st      decodeState
	pending []byte
}

// NewStream returns a Stream decoding with t.
func NewStream(t Tokenizer) *Stream {
	s := &Stream{t: t, st: decodeState{prev: -1}}
	s.d, _ = t.(stepDecoder)
	return s
}

// SetPrev records id as the token before the next one without producing
// text. A generator that starts from a prompt calls it with the last
// prompt token, so that the first generated token decodes as it would in
// the middle of the sequence; with llama2.c's BOS (id 1) it reproduces
// run.c, which drops the leading space of the token after BOS.
func (s *Stream) SetPrev(id int) { s.st.prev = id }

// Next adds id and returns the text that is now complete.
func (s *Stream) Next(id int) (string, error) {
	n := len(s.pending)
	if s.d != nil {
		var err error
		s.pending, err = s.d.appendToken(s.pending, s.st, id)
		if err != nil {
			s.pending = s.pending[:n]
			return "", err
		}
	} else {
		txt, err := s.t.Decode([]int{id})
		if err != nil {
			return "", err
		}
		s.pending = append(s.pending, txt...)
	}
	s.st.prev = id
	if len(s.pending) > n {
		s.st.wrote = true
	}
	cut := completeUTF8(s.pending)
	out := string(s.pending[:cut])
	s.pending = append(s.pending[:0], s.pending[cut:]...)
	return out, nil
}

// Flush returns the bytes held back, complete or not.
func (s *Stream) Flush() string {
	out := string(s.pending)
	s.pending = s.pending[:0]
	return out
}

// completeUTF8 returns the length of the longest prefix of b that does not
// end inside a UTF-8 sequence that more bytes could still complete. Invalid
// bytes count as complete: waiting would not make them valid.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if b[i]&0xC0 != 0x80 { // the start of the last sequence
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}
