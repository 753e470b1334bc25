package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode table: printable Latin-1 bytes
// map to themselves, the other 68 bytes to U+0100 onwards in byte order,
// so every byte becomes a visible character a vocab file can hold. It is a
// variable initializer, not an init func, so that other package variables
// built from it are initialized after it.
var byteToRune = func() (t [256]rune) {
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

// runeToByte inverts byteToRune; a rune outside the table is absent.
var runeToByte = func() map[rune]int {
	m := make(map[rune]int, 256)
	for b, r := range byteToRune {
		m[r] = b
	}
	return m
}()

// char classes of GPT-2's pattern. A byte that is not valid UTF-8 is
// classOther, like the U+FFFD (category So) it would decode to.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

func classOf(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r): // Unicode White_Space, as the regex's \s
		return classSpace
	}
	return classOther
}

// splitGPT2 calls emit with each piece GPT-2's pre-tokenizer pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// finds in text, in order. The pieces cover text exactly. The pattern's
// alternatives are tried in order at each position, which the scanner
// mirrors; \s+(?!\S) backtracks to leave the last char of a whitespace
// run that precedes a non-space, so that char can start the next piece.
func splitGPT2(text string, emit func(string)) {
	i := 0
	for i < len(text) {
		j := matchGPT2(text, i)
		emit(text[i:j])
		i = j
	}
}

// matchGPT2 returns the end of the pattern's match at position i.
func matchGPT2(s string, i int) int {
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	c := classOf(r)
	if w == 1 && r == utf8.RuneError {
		c = classOther
	}
	start := i
	if r == ' ' && i+1 < len(s) {
		// " ?X+": the optional space binds to a following letter, number
		// or other-run.
		r2, w2 := utf8.DecodeRuneInString(s[i+1:])
		c2 := classOf(r2)
		if w2 == 1 && r2 == utf8.RuneError {
			c2 = classOther
		}
		if c2 != classSpace {
			return runOf(s, i+1, c2)
		}
	}
	if c != classSpace {
		return runOf(s, start, c)
	}
	end := runOf(s, i, classSpace)
	if end == len(s) {
		return end
	}
	// Followed by a non-space: give back the last whitespace char, unless
	// that leaves nothing, in which case \s+ takes the single char.
	_, lw := utf8.DecodeLastRuneInString(s[i:end])
	if end-lw > i {
		return end - lw
	}
	return end
}

// runOf returns the end of the run of class c starting at i.
func runOf(s string, i, c int) int {
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		k := classOf(r)
		if w == 1 && r == utf8.RuneError {
			k = classOther
		}
		if k != c {
			break
		}
		i += w
	}
	return i
}
