package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens: a string cut
// out of the text before the normalizer and the model see it, and encoded
// as its own id.
type addedToken struct {
	content string
	id      int
	// special tokens are skipped by DecodeWith's SkipSpecial and are left
	// as text when EncodeOptions.Special is false.
	special bool
	// normalized tokens are matched in the normalized text (against their
	// own normalized form); the others in the text as given.
	normalized bool
	// lstrip and rstrip make the match absorb the whitespace to its left
	// and right; singleWord accepts a match only when no word character
	// touches it.
	lstrip, rstrip, singleWord bool
}

// addedMatcher finds added tokens in text the way Hugging Face's
// AddedVocabulary does: leftmost-longest matches (its Aho-Corasick
// MatchKind::LeftmostLongest), scanning on after each match, with a match
// that fails its single_word test dropped.
type addedMatcher struct {
	tokens []addedToken
	// trie over the tokens' bytes: node 0 is the root; next holds each
	// node's children, term the index into tokens of the token ending
	// there (-1 for none).
	root [256]int32
	next []map[byte]int32
	term []int32
}

func newAddedMatcher(tokens []addedToken, pattern func(addedToken) string) *addedMatcher {
	m := &addedMatcher{tokens: tokens}
	for i := range m.root {
		m.root[i] = -1
	}
	m.next = []map[byte]int32{nil}
	m.term = []int32{-1}
	for k, t := range tokens {
		p := pattern(t)
		if p == "" {
			continue
		}
		node := int32(0)
		for i := 0; i < len(p); i++ {
			var child int32
			var ok bool
			if node == 0 {
				child = m.root[p[i]]
				ok = child >= 0
			} else {
				child, ok = m.next[node][p[i]]
			}
			if !ok {
				child = int32(len(m.next))
				m.next = append(m.next, nil)
				m.term = append(m.term, -1)
				if node == 0 {
					m.root[p[i]] = child
				} else {
					if m.next[node] == nil {
						m.next[node] = map[byte]int32{}
					}
					m.next[node][p[i]] = child
				}
			}
			node = child
		}
		if m.term[node] < 0 { // the first of equal patterns wins, as in Aho-Corasick
			m.term[node] = int32(k)
		}
	}
	return m
}

// longestAt returns the token index and end of the longest pattern that
// starts at s[i:], or -1.
func (m *addedMatcher) longestAt(s string, i int) (tok, end int) {
	tok = -1
	node := m.root[s[i]]
	for j := i + 1; node >= 0; j++ {
		if t := m.term[node]; t >= 0 {
			tok, end = int(t), j
		}
		if j == len(s) {
			break
		}
		c, ok := m.next[node][s[j]]
		if !ok {
			break
		}
		node = c
	}
	return tok, end
}

// addedSpan is a piece of text: either plain text s[lo:hi] (tok < 0) or
// the added token tokens[tok] matched there.
type addedSpan struct {
	lo, hi int
	tok    int
}

// split appends to dst the spans of s: the added tokens found (with skip
// telling which tokens to leave as text) and the text between them, which
// together cover s.
func (m *addedMatcher) split(dst []addedSpan, s string, skip func(addedToken) bool) []addedSpan {
	start := 0 // the end of the last match
	for i := 0; i < len(s); {
		k, stop := m.longestAt(s, i)
		if k < 0 || skip != nil && skip(m.tokens[k]) {
			i++
			continue
		}
		t := m.tokens[k]
		lo := i
		if t.singleWord && (endsWithWord(s[:lo]) || startsWithWord(s[stop:])) {
			// A match is dropped, not retried inside: the scan goes on
			// after it, as leftmost-longest iteration does.
			i = stop
			continue
		}
		if t.lstrip {
			lo = max(start, len(trimRightSpace(s[:lo])))
		}
		hi := stop
		if t.rstrip {
			hi = len(s) - len(trimLeftSpace(s[hi:]))
		}
		if start < lo {
			dst = append(dst, addedSpan{start, lo, -1})
		}
		dst = append(dst, addedSpan{lo, hi, k})
		start = hi
		i = hi
	}
	if start < len(s) {
		dst = append(dst, addedSpan{start, len(s), -1})
	}
	return dst
}

// isWordRune is the regex class \w of Rust's regex crate (Unicode
// alphabetic, marks, decimal digits, connector punctuation, joiners).
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Other_Alphabetic, r) || unicode.IsMark(r) ||
		unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, w := utf8.DecodeLastRuneInString(s)
	return w > 0 && !(r == utf8.RuneError && w == 1) && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, w := utf8.DecodeRuneInString(s)
	return w > 0 && !(r == utf8.RuneError && w == 1) && isWordRune(r)
}

// trimRightSpace and trimLeftSpace drop Unicode White_Space (Go's
// unicode.IsSpace), the \s of Rust's regex crate; a byte that is not valid
// UTF-8 is not space.
func trimRightSpace(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) }

func trimLeftSpace(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) }
