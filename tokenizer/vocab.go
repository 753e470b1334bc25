package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// parseVocabObject reads a JSON object mapping tokens to ids, rejecting
// what encoding/json would silently accept: repeated keys, repeated ids,
// ids that are not integers. It returns the tokens indexed by id; ids must
// be exactly 0..n-1 so the table is as big as the input justifies.
func parseVocabObject(raw []byte, name string) ([]string, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: vocab: "+format, append([]any{name}, args...)...)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, bad("not a JSON object")
	}
	ids := map[string]int{}
	var keys []string
	var vals []int
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, bad("invalid JSON: %v", err)
		}
		k := kt.(string) // object keys are always strings
		vt, err := dec.Token()
		if err != nil {
			return nil, bad("invalid JSON: %v", err)
		}
		num, ok := vt.(json.Number)
		if !ok {
			return nil, bad("token %q: id is not a number", k)
		}
		v, err := num.Int64()
		if err != nil || v < 0 || v > 1<<31-1 {
			return nil, bad("token %q: id %s is not a non-negative integer", k, num)
		}
		if _, dup := ids[k]; dup {
			return nil, bad("duplicate token %q", k)
		}
		ids[k] = int(v)
		keys = append(keys, k)
		vals = append(vals, int(v))
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("invalid JSON: %v", err)
	}
	if dec.More() {
		return nil, bad("trailing data after the object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, bad("trailing data after the object")
	}
	tokens := make([]string, len(keys))
	seen := make([]bool, len(keys))
	for i, k := range keys {
		v := vals[i]
		if v >= len(keys) {
			return nil, bad("token %q has id %d, out of range for %d tokens (ids must be 0..n-1)", k, v, len(keys))
		}
		if seen[v] {
			return nil, bad("id %d given to both %q and %q", v, tokens[v], k)
		}
		seen[v] = true
		tokens[v] = k
	}
	return tokens, nil
}

// mergeRule is one BPE merge: its rank and the id of the merged token.
type mergeRule struct {
	rank   int32
	merged int32
}

type idPair struct{ a, b int32 }

// buildMerges resolves merge pairs to ids. The right-hand token of a pair
// carries the continuing-subword prefix (prefixLen bytes, 0 for none),
// which the merged token does not repeat. Unknown tokens and repeated
// pairs are errors: Hugging Face rejects the former, and a repeat means
// the file is not a merges list.
func buildMerges(pairs [][2]string, vocab map[string]int, prefixLen int, name string) (map[idPair]mergeRule, error) {
	m := make(map[idPair]mergeRule, len(pairs))
	for i, p := range pairs {
		a, ok := vocab[p[0]]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: merge %d (%q %q): %q is not in the vocab", name, i+1, p[0], p[1], p[0])
		}
		b, ok := vocab[p[1]]
		if !ok || len(p[1]) < prefixLen {
			return nil, fmt.Errorf("tokenizer: %s: merge %d (%q %q): %q is not in the vocab", name, i+1, p[0], p[1], p[1])
		}
		merged := p[0] + p[1][prefixLen:]
		c, ok := vocab[merged]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: merge %d (%q %q): the merged token %q is not in the vocab", name, i+1, p[0], p[1], merged)
		}
		k := idPair{int32(a), int32(b)}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("tokenizer: %s: merge %d (%q %q) repeats an earlier merge", name, i+1, p[0], p[1])
		}
		m[k] = mergeRule{rank: int32(i), merged: int32(c)}
	}
	return m, nil
}

// unkID resolves a model's unk_token: -1 when it is nil, an error when the
// vocab lacks it.
func unkID(vocab map[string]int, unk *string, name string) (int, error) {
	if unk == nil {
		return -1, nil
	}
	id, ok := vocab[*unk]
	if !ok {
		return -1, fmt.Errorf("tokenizer: %s: unk_token %q is not in the vocab", name, *unk)
	}
	return id, nil
}

// parseMergesText reads a merges.txt: an optional "#version" line, then
// one "left right" pair per line.
func parseMergesText(data []byte, name string) ([][2]string, error) {
	text := string(data)
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var pairs [][2]string
	for i, ln := range lines {
		ln = strings.TrimSuffix(ln, "\r")
		if strings.HasPrefix(ln, "#version") {
			continue
		}
		a, b, ok := strings.Cut(ln, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("tokenizer: %s: line %d: %q is not two tokens separated by one space", name, i+1, ln)
		}
		pairs = append(pairs, [2]string{a, b})
	}
	return pairs, nil
}

// special is a token matched as a whole in text when asked to.
type special struct {
	content string
	id      int
}

// splitSpecials cuts text at the special tokens it contains, leftmost
// first and the longest where several start at one position, and calls
// plain for the text between them and tok for each one.
func splitSpecials(text string, specials []special, plain func(string) error, tok func(int) error) error {
	last := 0
	for i := 0; i < len(text); {
		best := -1
		for k, s := range specials {
			if s.content != "" && strings.HasPrefix(text[i:], s.content) && (best < 0 || len(s.content) > len(specials[best].content)) {
				best = k
			}
		}
		if best < 0 {
			i++
			continue
		}
		if last < i {
			if err := plain(text[last:i]); err != nil {
				return err
			}
		}
		if err := tok(specials[best].id); err != nil {
			return err
		}
		i += len(specials[best].content)
		last = i
	}
	if last < len(text) {
		return plain(text[last:])
	}
	return nil
}

// wordCache remembers the ids of recent words. It is bounded: when full it
// is emptied, which keeps it simple and its memory fixed.
type wordCache struct {
	mu sync.Mutex
	m  map[string][]int
}

const (
	cacheEntries = 1 << 14
	cacheMaxWord = 64 // longer words are rare and would dominate the memory
)

func (c *wordCache) get(w string) ([]int, bool) {
	c.mu.Lock()
	ids, ok := c.m[w]
	c.mu.Unlock()
	return ids, ok
}

func (c *wordCache) put(w string, ids []int) {
	if len(w) > cacheMaxWord {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cacheEntries {
		c.m = make(map[string][]int)
	}
	c.m[w] = ids
	c.mu.Unlock()
}
