package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// metaSpace is SentencePiece's stand-in for a space, U+2581.
const metaSpace = "\u2581"

// prepend schemes for the leading "▁".
const (
	prependAlways = iota // before every text segment (the Prepend normalizer)
	prependFirst         // only before the first segment (Metaspace "first")
	prependNever
)

// SentencePieceBPE is the BPE of Llama-style tokenizer.json files: spaces
// become "▁", a "▁" is put in front, the text is split into characters,
// a character missing from the vocab becomes its UTF-8 bytes as "<0xHH>"
// tokens (byte fallback), and merges apply by rank.
type SentencePieceBPE struct {
	tokens       []string
	bytes        [][]byte // each token's decoded bytes
	vocab        map[string]int
	merges       map[idPair]mergeRule
	byteID       [256]int // the "<0xHH>" token of each byte, -1 if absent
	byteFallback bool
	unk          int
	fuseUnk      bool
	ignoreMerges bool
	prepend      int
	metaspace    bool // a Metaspace pre-tokenizer, not the Prepend normalizer
	split        bool // Metaspace split: each "▁" starts a new word
	special      []special
	isSpecial    []bool
	bos, eos     int
}

// VocabSize is the number of ids.
func (t *SentencePieceBPE) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, or -1 if there is none.
func (t *SentencePieceBPE) BOS() int { return t.bos }

// EOS returns the end-of-sequence id, or -1 if there is none.
func (t *SentencePieceBPE) EOS() int { return t.eos }

// ID returns the id of a token, or -1.
func (t *SentencePieceBPE) ID(token string) int {
	if id, ok := t.vocab[token]; ok {
		return id
	}
	return -1
}

// Token returns the vocab string of id.
func (t *SentencePieceBPE) Token(id int) (string, error) {
	if id < 0 || id >= len(t.tokens) {
		return "", errID(id, len(t.tokens))
	}
	return t.tokens[id], nil
}

// Encode encodes text without BOS/EOS and without recognising
// special-token strings.
func (t *SentencePieceBPE) Encode(text string) ([]int, error) {
	return t.EncodeWith(text, EncodeOptions{})
}

// EncodeWith encodes text with the extras opt asks for.
func (t *SentencePieceBPE) EncodeWith(text string, opt EncodeOptions) ([]int, error) {
	var ids []int
	if opt.AddBOS {
		if t.bos < 0 {
			return nil, fmt.Errorf("tokenizer: this tokenizer has no BOS token")
		}
		ids = append(ids, t.bos)
	}
	first := true // the segment starts the text
	plain := func(s string) error {
		var err error
		ids, err = t.encodeSegment(ids, s, first)
		first = false
		return err
	}
	if opt.Special {
		err := splitSpecials(text, t.special, plain, func(id int) error { ids = append(ids, id); first = false; return nil })
		if err != nil {
			return nil, err
		}
	} else if err := plain(text); err != nil {
		return nil, err
	}
	if opt.AddEOS {
		if t.eos < 0 {
			return nil, fmt.Errorf("tokenizer: this tokenizer has no EOS token")
		}
		ids = append(ids, t.eos)
	}
	return ids, nil
}

func (t *SentencePieceBPE) encodeSegment(ids []int, s string, first bool) ([]int, error) {
	if s == "" {
		return ids, nil
	}
	s = strings.ReplaceAll(s, " ", metaSpace)
	// The Prepend normalizer always adds "▁"; the Metaspace pre-tokenizer
	// adds it only where there is none yet.
	if (t.prepend == prependAlways || (t.prepend == prependFirst && first)) && !(t.metaspace && strings.HasPrefix(s, metaSpace)) {
		s = metaSpace + s
	}
	if !t.split {
		return t.encodeWord(ids, s)
	}
	for len(s) > 0 {
		// Each word is a "▁" and what follows up to the next "▁".
		end := strings.Index(s[1:], metaSpace)
		if end < 0 {
			end = len(s)
		} else {
			end++
		}
		var err error
		if ids, err = t.encodeWord(ids, s[:end]); err != nil {
			return ids, err
		}
		s = s[end:]
	}
	return ids, nil
}

func (t *SentencePieceBPE) encodeWord(dst []int, w string) ([]int, error) {
	if t.ignoreMerges {
		if id, ok := t.vocab[w]; ok {
			return append(dst, id), nil
		}
	}
	ids := make([]int, 0, len(w))
	lastUnk := false
	for i := 0; i < len(w); {
		r, n := utf8.DecodeRuneInString(w[i:])
		c := w[i : i+n]
		i += n
		if r != utf8.RuneError || n != 1 { // a valid character
			if id, ok := t.vocab[c]; ok {
				ids = append(ids, id)
				lastUnk = false
				continue
			}
		}
		if t.byteFallback {
			ok := true
			for k := 0; k < len(c); k++ {
				ok = ok && t.byteID[c[k]] >= 0
			}
			if ok {
				for k := 0; k < len(c); k++ {
					ids = append(ids, t.byteID[c[k]])
				}
				lastUnk = false
				continue
			}
		}
		if t.unk < 0 {
			return dst, fmt.Errorf("tokenizer: %q has no token and there is no unk_token", c)
		}
		if !(t.fuseUnk && lastUnk) {
			ids = append(ids, t.unk)
		}
		lastUnk = true
	}
	ids = applyMerges(ids, t.merge)
	return append(dst, ids...), nil
}

func (t *SentencePieceBPE) merge(a, b int) (int, float64, bool) {
	r, ok := t.merges[idPair{int32(a), int32(b)}]
	return int(r.merged), float64(r.rank), ok
}

// Decode turns "▁" into spaces and byte tokens into their bytes, and drops
// the space at the very start of the text, which the encoder added.
func (t *SentencePieceBPE) Decode(ids []int) (string, error) { return decodeAll(t, ids) }

func (t *SentencePieceBPE) appendToken(dst []byte, st decodeState, id int) ([]byte, error) {
	if id < 0 || id >= len(t.tokens) {
		return dst, errID(id, len(t.tokens))
	}
	b := t.bytes[id]
	// Nothing but special tokens (such as a BOS given to Stream.SetPrev)
	// came before: this is the start of the text.
	atStart := !st.wrote && (st.prev < 0 || (st.prev < len(t.isSpecial) && t.isSpecial[st.prev]))
	if atStart && t.prepend != prependNever && len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return append(dst, b...), nil
}

// parseByteToken reads a "<0xHH>" token as Hugging Face's ByteFallback
// decoder does (u8::from_str_radix on the two characters after "<0x").
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	h, ok1 := hexVal(s[3])
	l, ok2 := hexVal(s[4])
	if s[3] == '+' && ok2 {
		return l, true
	}
	if !ok1 || !ok2 {
		return 0, false
	}
	return h<<4 | l, true
}

func (t *SentencePieceBPE) init() {
	t.bytes = make([][]byte, len(t.tokens))
	t.isSpecial = make([]bool, len(t.tokens))
	for id, s := range t.tokens {
		if b, ok := parseByteToken(s); ok && t.byteFallback {
			t.bytes[id] = []byte{b}
		} else {
			t.bytes[id] = []byte(strings.ReplaceAll(s, metaSpace, " "))
		}
	}
	for _, s := range t.special {
		t.isSpecial[s.id] = true
	}
	for b := range 256 {
		t.byteID[b] = -1
		if id, ok := t.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteID[b] = id
		}
	}
}
