package tokenizer

import (
	"fmt"
	"os"
	"strings"
)

// ByteLevelBPE is GPT-2's byte-level BPE: text is split by GPT-2's
// pre-tokenizer pattern, each piece's bytes become the characters of
// GPT-2's byte-to-unicode table, and merges apply by rank. Because every
// byte has a token, any byte string encodes and decodes back to itself.
type ByteLevelBPE struct {
	tokens  []string
	bytes   [][]byte // each token's decoded bytes
	vocab   map[string]int
	merges  map[idPair]mergeRule
	byteID  [256]int // the token of each single byte, -1 if the vocab lacks it
	unk     int
	special []special
	bos     int
	eos     int

	addPrefixSpace bool // ByteLevel add_prefix_space
	useRegex       bool // ByteLevel use_regex: false keeps the text one word
	ignoreMerges   bool // a word that is a vocab token is that token

	cache wordCache
}

// LoadGPT2 reads a GPT-2 style vocab.json and merges.txt. If the vocab has
// "<|endoftext|>", it is the special token and both BOS and EOS.
func LoadGPT2(vocabPath, mergesPath string) (*ByteLevelBPE, error) {
	v, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	m, err := os.ReadFile(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return parseGPT2(v, m, vocabPath, mergesPath)
}

// ParseGPT2 is LoadGPT2 on the files' contents.
func ParseGPT2(vocabJSON, mergesTxt []byte) (*ByteLevelBPE, error) {
	return parseGPT2(vocabJSON, mergesTxt, "vocab.json", "merges.txt")
}

func parseGPT2(vocabJSON, mergesTxt []byte, vname, mname string) (*ByteLevelBPE, error) {
	tokens, err := parseVocabObject(vocabJSON, vname)
	if err != nil {
		return nil, err
	}
	pairs, err := parseMergesText(mergesTxt, mname)
	if err != nil {
		return nil, err
	}
	t, err := newByteLevelBPE(tokens, pairs, mname)
	if err != nil {
		return nil, err
	}
	t.useRegex = true
	if id, ok := t.vocab["<|endoftext|>"]; ok {
		t.special = []special{{"<|endoftext|>", id}}
		t.bos, t.eos = id, id
	}
	return t, nil
}

func newByteLevelBPE(tokens []string, pairs [][2]string, mergesName string) (*ByteLevelBPE, error) {
	t := &ByteLevelBPE{
		tokens: tokens,
		bytes:  make([][]byte, len(tokens)),
		vocab:  make(map[string]int, len(tokens)),
		unk:    -1,
		bos:    -1,
		eos:    -1,
	}
	for id, s := range tokens {
		t.vocab[s] = id
		t.bytes[id] = byteLevelDecode(s)
	}
	for b := range 256 {
		t.byteID[b] = -1
		if id, ok := t.vocab[string(byteToRune[b])]; ok {
			t.byteID[b] = id
		}
	}
	var err error
	t.merges, err = buildMerges(pairs, t.vocab, 0, mergesName)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// byteLevelDecode maps a token's characters back to bytes. A token holding
// a character outside the table (an added token, say) stands for its own
// UTF-8 bytes, as in Hugging Face's ByteLevel decoder.
func byteLevelDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(s)
		}
		out = append(out, byte(b))
	}
	return out
}

// VocabSize is the number of ids.
func (t *ByteLevelBPE) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, or -1 if there is none.
func (t *ByteLevelBPE) BOS() int { return t.bos }

// EOS returns the end-of-sequence id, or -1 if there is none.
func (t *ByteLevelBPE) EOS() int { return t.eos }

// Token returns the vocab string of id (in byte-level characters).
func (t *ByteLevelBPE) Token(id int) (string, error) {
	if id < 0 || id >= len(t.tokens) {
		return "", errID(id, len(t.tokens))
	}
	return t.tokens[id], nil
}

// ID returns the id of a vocab string, or -1.
func (t *ByteLevelBPE) ID(token string) int {
	if id, ok := t.vocab[token]; ok {
		return id
	}
	return -1
}

// Encode encodes text as plain text: special-token strings are not
// recognised.
func (t *ByteLevelBPE) Encode(text string) ([]int, error) {
	return t.EncodeWith(text, EncodeOptions{})
}

// EncodeWith encodes text with the extras opt asks for.
func (t *ByteLevelBPE) EncodeWith(text string, opt EncodeOptions) ([]int, error) {
	var ids []int
	if opt.AddBOS {
		if t.bos < 0 {
			return nil, fmt.Errorf("tokenizer: this byte-level BPE has no BOS token")
		}
		ids = append(ids, t.bos)
	}
	plain := func(s string) error {
		var err error
		ids, err = t.encodePlain(ids, s)
		return err
	}
	if opt.Special {
		err := splitSpecials(text, t.special, plain, func(id int) error { ids = append(ids, id); return nil })
		if err != nil {
			return nil, err
		}
	} else if err := plain(text); err != nil {
		return nil, err
	}
	if opt.AddEOS {
		if t.eos < 0 {
			return nil, fmt.Errorf("tokenizer: this byte-level BPE has no EOS token")
		}
		ids = append(ids, t.eos)
	}
	return ids, nil
}

func (t *ByteLevelBPE) encodePlain(ids []int, text string) ([]int, error) {
	if text == "" {
		return ids, nil
	}
	if t.addPrefixSpace && text[0] != ' ' {
		text = " " + text
	}
	var err error
	word := func(w string) {
		if err != nil {
			return
		}
		ids, err = t.encodeWord(ids, w)
	}
	if t.useRegex {
		splitGPT2(text, word)
	} else {
		word(text)
	}
	return ids, err
}

func (t *ByteLevelBPE) encodeWord(dst []int, w string) ([]int, error) {
	if ids, ok := t.cache.get(w); ok {
		return append(dst, ids...), nil
	}
	if t.ignoreMerges {
		var sb strings.Builder
		for i := 0; i < len(w); i++ {
			sb.WriteRune(byteToRune[w[i]])
		}
		if id, ok := t.vocab[sb.String()]; ok {
			t.cache.put(w, []int{id})
			return append(dst, id), nil
		}
	}
	ids := make([]int, 0, len(w))
	for i := 0; i < len(w); i++ {
		id := t.byteID[w[i]]
		if id < 0 {
			if t.unk < 0 {
				return dst, fmt.Errorf("tokenizer: byte 0x%02x has no token in the vocab and there is no unk_token", w[i])
			}
			id = t.unk
		}
		ids = append(ids, id)
	}
	ids = applyMerges(ids, t.merge)
	t.cache.put(w, ids)
	return append(dst, ids...), nil
}

func (t *ByteLevelBPE) merge(a, b int) (int, float64, bool) {
	r, ok := t.merges[idPair{int32(a), int32(b)}]
	return int(r.merged), float64(r.rank), ok
}

// Decode concatenates the tokens' bytes.
func (t *ByteLevelBPE) Decode(ids []int) (string, error) { return decodeAll(t, ids) }

func (t *ByteLevelBPE) appendToken(dst []byte, _ decodeState, id int) ([]byte, error) {
	if id < 0 || id >= len(t.tokens) {
		return dst, errID(id, len(t.tokens))
	}
	return append(dst, t.bytes[id]...), nil
}
