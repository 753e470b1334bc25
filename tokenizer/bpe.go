package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// bpeModel is the BPE model of a tokenizer.json, as Hugging Face's
// models/bpe runs it on one pre-tokenized word: each character is looked
// up (with the continuing-subword prefix after the first, the end-of-word
// suffix on the last); a character missing from the vocab becomes its
// "<0xHH>" byte tokens with byte_fallback, else the unk token (one for a
// run of them with fuse_unk), else nothing; then merges apply by rank,
// lowest first and leftmost among equals. With ignore_merges a word that
// is itself a vocab token is that token.
type bpeModel struct {
	name         string
	vocab        map[string]int
	merges       map[idPair]mergeRule
	unk          int
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix

	byteTok [256]int32 // the "<0xHH>" token of each byte, -1 if absent
	small   []int32    // the id of each one-character token below len(small), -1 if absent
	cache   wordCache
}

const bpeSmallRunes = 0x800 // direct table for the characters of byte-level and most alphabets

func newBPEModel(tokens []string, pairs [][2]string, m *hfModel, name string) (*bpeModel, error) {
	b := &bpeModel{name: name, vocab: make(map[string]int, len(tokens)), unk: -1,
		fuseUnk: m.FuseUnk, byteFallback: m.ByteFallback, ignoreMerges: m.IgnoreMerges}
	if m.ContinuingSubwordPrefix != nil {
		b.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		b.suffix = *m.EndOfWordSuffix
	}
	for id, s := range tokens {
		b.vocab[s] = id
	}
	var err error
	if b.unk, err = unkID(b.vocab, m.UnkToken, name); err != nil {
		return nil, err
	}
	for i := range b.byteTok {
		b.byteTok[i] = -1
		if id, ok := b.vocab[fmt.Sprintf("<0x%02X>", i)]; ok {
			b.byteTok[i] = int32(id)
		}
	}
	b.small = make([]int32, bpeSmallRunes)
	for i := range b.small {
		b.small[i] = -1
	}
	for id, s := range tokens {
		if r, w := utf8.DecodeRuneInString(s); w == len(s) && r < bpeSmallRunes && r != utf8.RuneError {
			b.small[r] = int32(id)
		}
	}
	b.merges, err = buildMerges(pairs, b.vocab, len(b.prefix), name)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bpeModel) tokenize(dst []int, word string) ([]int, error) {
	if word == "" {
		return dst, nil
	}
	if b.ignoreMerges {
		if id, ok := b.vocab[word]; ok {
			return append(dst, id), nil
		}
	}
	if ids, ok := b.cache.get(word); ok {
		return append(dst, ids...), nil
	}
	ids := make([]int, 0, len(word))
	// An unknown character's unk is held back until a known character or
	// the end of the word, so that unknowns in a row fuse into one with
	// fuse_unk; byte-fallback tokens do not release it (Hugging Face's
	// order, which only matters for a vocab lacking some byte tokens).
	pendingUnk := false
	plain := b.prefix == "" && b.suffix == ""
	for i := 0; i < len(word); {
		r, w := utf8.DecodeRuneInString(word[i:])
		s := word[i : i+w]
		id := -1
		if plain && r < bpeSmallRunes && !(r == utf8.RuneError && w == 1) {
			id = int(b.small[r])
		} else {
			if i > 0 {
				s = b.prefix + s
			}
			if i+w == len(word) {
				s += b.suffix
			}
			if v, ok := b.vocab[s]; ok {
				id = v
			}
		}
		i += w
		switch {
		case id >= 0:
			if pendingUnk {
				ids = append(ids, b.unk)
				pendingUnk = false
			}
			ids = append(ids, id)
		case b.byteFallback && b.hasBytes(s):
			for k := 0; k < len(s); k++ {
				ids = append(ids, int(b.byteTok[s[k]]))
			}
		case b.unk >= 0:
			if pendingUnk && !b.fuseUnk {
				ids = append(ids, b.unk)
			}
			pendingUnk = true
		}
	}
	if pendingUnk {
		ids = append(ids, b.unk)
	}
	ids = applyMerges(ids, b.merge)
	b.cache.put(word, ids)
	return append(dst, ids...), nil
}

func (b *bpeModel) tokenID(s string) (int, bool) { id, ok := b.vocab[s]; return id, ok }

func (b *bpeModel) hasBytes(s string) bool {
	for k := 0; k < len(s); k++ {
		if b.byteTok[s[k]] < 0 {
			return false
		}
	}
	return true
}

func (b *bpeModel) merge(x, y int) (int, float64, bool) {
	r, ok := b.merges[idPair{int32(x), int32(y)}]
	return int(r.merged), float64(r.rank), ok
}
