package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// unigram is the Unigram model of a tokenizer.json (SentencePiece's
// unigram language model), encoding a word as the Hugging Face tokenizers
// library does (models/unigram/model.rs, encode_optimized, which follows
// SentencePiece's EncodeOptimized):
//
//   - Viterbi over the word's characters: the best segmentation maximises
//     the sum of the pieces' scores. Every piece of the vocab can match,
//     also control and byte pieces such as "</s>" or "<0x41>".
//   - A character that does not start a one-character piece gets an
//     unknown node of score min_score-10, min_score being the lowest
//     score of the vocab.
//   - Ties: positions are visited left to right, and at each the pieces
//     starting there shortest first, then the unknown node; a candidate
//     replaces the best path ending at the same place only when its score
//     is strictly greater, so the first one found wins.
//   - Consecutive unknown nodes (and matches of the unk piece itself) are
//     fused into one token, whose text is looked up again: if it is a
//     piece, that piece's id; otherwise with byte_fallback its UTF-8
//     bytes as "<0xHH>" pieces when all of them exist, else unk_id.
//
// A byte that is not valid UTF-8 counts as a character of its own that no
// piece can start, so it becomes unk or, with byte_fallback, its byte
// token. A unigram is safe for concurrent use.
type unigram struct {
	name         string
	tokens       []string
	scores       []float64
	vocab        map[string]int
	trie         pieceTrie
	unk          int // -1 when the model has none
	unkScore     float64
	byteFallback bool
	byteID       [256]int // the "<0xHH>" piece of each byte, -1 if absent
	cache        wordCache
}

// parseUnigram reads a tokenizer.json Unigram model object
//
//	{"type": "Unigram", "unk_id": N or null, "vocab": [["piece", score], ...], "byte_fallback": bool}
//
// and returns the model and its pieces indexed by id. It is strict where
// the Rust library is lenient or would fail later: an empty vocab, a
// repeated piece, a score that is not a finite number, an unk_id outside
// the vocab and unknown fields are errors.
func parseUnigram(raw json.RawMessage, name string) (*unigram, []string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: Unigram model: "+format, append([]any{name}, args...)...)
	}
	obj, err := parseStrictObject(raw)
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	if err := obj.only("type", "unk_id", "vocab", "byte_fallback"); err != nil {
		return nil, nil, bad("%v", err)
	}
	if typ, err := obj.str("type"); err != nil || typ != "Unigram" {
		return nil, nil, bad("type is not \"Unigram\"")
	}
	vraw, ok := obj.vals["vocab"]
	if !ok || isNull(vraw) {
		return nil, nil, bad("no vocab")
	}
	tokens, scores, err := parseScoredVocab(vraw)
	if err != nil {
		return nil, nil, bad("vocab: %v", err)
	}
	if len(tokens) == 0 {
		return nil, nil, bad("the vocab is empty")
	}
	u := &unigram{name: name, tokens: tokens, scores: scores, unk: -1}
	if v, ok := obj.vals["unk_id"]; ok && !isNull(v) {
		var n json.Number
		if bytes.TrimSpace(v)[0] == '"' || json.Unmarshal(v, &n) != nil {
			return nil, nil, bad("unk_id is not a number")
		}
		id, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || id < 0 || id >= int64(len(tokens)) {
			return nil, nil, bad("unk_id %s is not an id of the %d pieces", n, len(tokens))
		}
		u.unk = int(id)
	}
	if u.byteFallback, err = obj.boolean("byte_fallback", false); err != nil {
		return nil, nil, bad("%v", err)
	}
	u.vocab = make(map[string]int, len(tokens))
	minScore := math.Inf(1)
	for id, s := range tokens {
		if prev, dup := u.vocab[s]; dup {
			return nil, nil, bad("piece %q repeated at ids %d and %d", s, prev, id)
		}
		u.vocab[s] = id
		minScore = min(minScore, scores[id])
	}
	u.unkScore = minScore - 10 // K_UNK_PENALTY
	for b := range 256 {
		u.byteID[b] = -1
		if id, ok := u.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			u.byteID[b] = id
		}
	}
	u.trie = buildPieceTrie(tokens)
	return u, tokens, nil
}

// parseScoredVocab reads [["piece", score], ...] strictly.
func parseScoredVocab(raw []byte) ([]string, []float64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	delim := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("invalid JSON: %v", err)
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("expected %q, found %v", want, t)
		}
		return nil
	}
	if err := delim('['); err != nil {
		return nil, nil, fmt.Errorf("not a list: %v", err)
	}
	var tokens []string
	var scores []float64
	for i := 0; dec.More(); i++ {
		if err := delim('['); err != nil {
			return nil, nil, fmt.Errorf("entry %d is not a [piece, score] pair: %v", i, err)
		}
		t, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: invalid JSON: %v", i, err)
		}
		s, ok := t.(string)
		if !ok {
			return nil, nil, fmt.Errorf("entry %d: the piece is not a string", i)
		}
		t, err = dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: invalid JSON: %v", i, err)
		}
		num, ok := t.(json.Number)
		if !ok {
			return nil, nil, fmt.Errorf("entry %d (%q): the score is not a number", i, s)
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, nil, fmt.Errorf("entry %d (%q): score %s is not a finite number", i, s, num)
		}
		if err := delim(']'); err != nil {
			return nil, nil, fmt.Errorf("entry %d (%q) is not a [piece, score] pair: %v", i, s, err)
		}
		tokens = append(tokens, s)
		scores = append(scores, f)
	}
	if err := delim(']'); err != nil {
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, fmt.Errorf("trailing data after the list")
	}
	return tokens, scores, nil
}

// tokenize appends the ids of word to dst.
func (u *unigram) tokenize(dst []int, word string) ([]int, error) {
	if word == "" {
		return dst, nil
	}
	if ids, ok := u.cache.get(word); ok {
		return append(dst, ids...), nil
	}
	ids, err := u.encode(nil, word)
	if err != nil {
		return dst, err
	}
	u.cache.put(word, ids)
	return append(dst, ids...), nil
}

// bestPath is the best segmentation found so far of the text up to a
// position: its score, the start of its last piece (-1: none yet) and
// that piece's id.
type bestPath struct {
	score float64
	start int
	id    int
}

func (u *unigram) encode(dst []int, w string) ([]int, error) {
	best := make([]bestPath, len(w)+1)
	for i := range best {
		best[i].start = -1
	}
	offer := func(end int, score float64, start, id int) {
		if b := &best[end]; b.start < 0 || score > b.score {
			*b = bestPath{score, start, id}
		}
	}
	for i := 0; i < len(w); {
		base := best[i].score
		_, mb := utf8.DecodeRuneInString(w[i:])
		single := false
		node := 0
		for j := i; j < len(w); j++ {
			if node = u.trie.child(node, w[j]); node < 0 {
				break
			}
			if id := u.trie.value[node]; id >= 0 {
				offer(j+1, u.scores[id]+base, i, int(id))
				single = single || j+1-i == mb
			}
		}
		if !single {
			end := i + mb
			if b := best[end]; b.start < 0 || u.unkScore+base > b.score {
				if u.unk < 0 {
					return dst, fmt.Errorf("tokenizer: %s: %q has no piece and the Unigram model has no unk_id", u.name, w[i:end])
				}
				best[end] = bestPath{u.unkScore + base, i, u.unk}
			}
		}
		i += mb
	}
	// Backtrack, fusing runs of unknown nodes.
	type seg struct{ start, end, id int }
	var segs []seg
	for end := len(w); end > 0; {
		b := best[end]
		if n := len(segs); b.id == u.unk && n > 0 && segs[n-1].id == u.unk {
			segs[n-1].start = b.start
		} else {
			segs = append(segs, seg{b.start, end, b.id})
		}
		end = b.start
	}
	for k := len(segs) - 1; k >= 0; k-- {
		s := segs[k]
		if s.id != u.unk {
			dst = append(dst, s.id)
			continue
		}
		text := w[s.start:s.end]
		if id, ok := u.vocab[text]; ok {
			dst = append(dst, id)
			continue
		}
		if u.byteFallback && u.haveBytes(text) {
			for i := 0; i < len(text); i++ {
				dst = append(dst, u.byteID[text[i]])
			}
			continue
		}
		dst = append(dst, u.unk)
	}
	return dst, nil
}

func (u *unigram) tokenID(s string) (int, bool) { id, ok := u.vocab[s]; return id, ok }

func (u *unigram) haveBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if u.byteID[s[i]] < 0 {
			return false
		}
	}
	return true
}

// pieceTrie is a byte trie of the pieces in breadth-first order, so the
// children of a node are consecutive nodes, sorted by label.
type pieceTrie struct {
	label []byte   // the byte leading into each node
	first []int32  // a node's first child
	count []uint16 // its number of children
	value []int32  // the id of the piece ending there, or -1
}

func buildPieceTrie(pieces []string) pieceTrie {
	order := make([]int, len(pieces))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return pieces[order[a]] < pieces[order[b]] })
	var t pieceTrie
	type span struct{ lo, hi, depth int }
	t.label = append(t.label, 0)
	t.first = append(t.first, 0)
	t.count = append(t.count, 0)
	t.value = append(t.value, -1)
	queue := []span{{0, len(order), 0}} // queue[k] is node k's pieces
	for k := 0; k < len(queue); k++ {
		sp := queue[k]
		lo := sp.lo
		if lo < sp.hi && len(pieces[order[lo]]) == sp.depth {
			t.value[k] = int32(order[lo])
			lo++
		}
		t.first[k] = int32(len(queue))
		for lo < sp.hi {
			c := pieces[order[lo]][sp.depth]
			hi := lo + 1
			for hi < sp.hi && pieces[order[hi]][sp.depth] == c {
				hi++
			}
			queue = append(queue, span{lo, hi, sp.depth + 1})
			t.label = append(t.label, c)
			t.first = append(t.first, 0)
			t.count = append(t.count, 0)
			t.value = append(t.value, -1)
			t.count[k]++
			lo = hi
		}
	}
	return t
}

// child returns the child of node n with label c, or -1.
func (t *pieceTrie) child(n int, c byte) int {
	lo, hi := int(t.first[n]), int(t.first[n])+int(t.count[n])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch l := t.label[m]; {
		case l == c:
			return m
		case l < c:
			lo = m + 1
		default:
			hi = m
		}
	}
	return -1
}
