package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Hand-written scanners for the Split patterns of current model families.
// Each is the pattern's match function, written out: scan(s, i) returns
// the end of the match the pattern (an ordered alternation, tried
// left to right with backtracking, as Oniguruma does) finds starting
// exactly at byte i, or -1 when no match starts there. They are tied to
// the generic engine by differential tests and fuzzing (regex_test.go).
//
// Characters are classified by Go's unicode tables: \p{L} and its
// subcategories, \p{M}, \p{N}, \p{P}, \p{S} by general category, \s by the
// White_Space property (unicode.IsSpace). A byte that is not valid UTF-8 is
// one character, U+FFFD, of category So, exactly as the generic engine
// sees it.

// Class bits of a code point.
const (
	cLu         uint16 = 1 << iota // Lu
	cLl                            // Ll
	cLt                            // Lt
	cLm                            // Lm
	cLo                            // Lo
	cM                             // Mn, Mc, Me
	cNd                            // Nd
	cNl                            // Nl
	cNo                            // No
	cPc                            // Pc
	cPx                            // Pd, Ps, Pe, Pi, Pf, Po
	cS                             // Sm, Sc, Sk, So
	cSpace                         // White_Space
	cOtherAlpha                    // Other_Alphabetic
	cJoin                          // Join_Control (U+200C, U+200D)
	cMulti                         // in byteClass: a byte that starts no ASCII character

	cL = cLu | cLl | cLt | cLm | cLo
	cN = cNd | cNl | cNo
	cP = cPc | cPx
)

// classTable holds the class bits of every code point of the Basic
// Multilingual Plane; it is built on first use (128 KiB).
var classTable = sync.OnceValue(func() *[0x10000]uint16 {
	t := new([0x10000]uint16)
	set := func(tab *unicode.RangeTable, bit uint16) {
		for _, r := range tab.R16 {
			for c := uint32(r.Lo); c <= uint32(r.Hi); c += uint32(r.Stride) {
				t[c] |= bit
			}
		}
		for _, r := range tab.R32 {
			for c := r.Lo; c <= r.Hi && c < 0x10000; c += r.Stride {
				t[c] |= bit
			}
		}
	}
	for _, e := range classTables {
		set(e.tab, e.bit)
	}
	t[0x200C] |= cJoin
	t[0x200D] |= cJoin
	return t
})

var classTables = []struct {
	tab *unicode.RangeTable
	bit uint16
}{
	{unicode.Lu, cLu}, {unicode.Ll, cLl}, {unicode.Lt, cLt}, {unicode.Lm, cLm}, {unicode.Lo, cLo},
	{unicode.M, cM}, {unicode.Nd, cNd}, {unicode.Nl, cNl}, {unicode.No, cNo},
	{unicode.Pc, cPc}, {unicode.Pd, cPx}, {unicode.Ps, cPx}, {unicode.Pe, cPx}, {unicode.Pi, cPx},
	{unicode.Pf, cPx}, {unicode.Po, cPx}, {unicode.S, cS}, {unicode.White_Space, cSpace},
	{unicode.Other_Alphabetic, cOtherAlpha},
}

// byteClass is classTable for the first 128 code points, available
// without the lazy table, and cMulti for the bytes 0x80 and above.
var byteClass = func() (a [256]uint16) {
	for c := range rune(256) {
		a[c] = cMulti
		if c < utf8.RuneSelf {
			a[c] = runeClassSlow(c)
		}
	}
	return a
}()

// runeClassSlow computes the class bits of r from the unicode tables.
func runeClassSlow(r rune) uint16 {
	var b uint16
	for _, e := range classTables {
		if unicode.Is(e.tab, r) {
			b |= e.bit
		}
	}
	if r == 0x200C || r == 0x200D {
		b |= cJoin
	}
	return b
}

// classify returns the class bits and the width of the character at s[i];
// an invalid byte is U+FFFD (So) of width 1.
func classify(t *[0x10000]uint16, s string, i int) (uint16, int) {
	if c := byteClass[s[i]]; c&cMulti == 0 {
		return c, 1
	}
	return classifyMulti(t, s, i)
}

// classifyMulti is classify for a byte at or above 0x80. Two- and
// three-byte sequences are decoded here; the rest, and every sequence that
// might be invalid, goes through utf8.DecodeRuneInString.
func classifyMulti(t *[0x10000]uint16, s string, i int) (uint16, int) {
	b0 := s[i]
	switch {
	case b0 >= 0xC2 && b0 < 0xE0 && i+1 < len(s):
		if b1 := s[i+1]; b1&0xC0 == 0x80 {
			return t[rune(b0&0x1F)<<6|rune(b1&0x3F)], 2
		}
	case b0 > 0xE0 && b0 < 0xF0 && b0 != 0xED && i+2 < len(s):
		if b1, b2 := s[i+1], s[i+2]; b1&0xC0 == 0x80 && b2&0xC0 == 0x80 {
			return t[rune(b0&0x0F)<<12|rune(b1&0x3F)<<6|rune(b2&0x3F)], 3
		}
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < 0x10000 {
		return t[r], w
	}
	return runeClassSupp(r), w
}

// charWidth is the width of the character at s[i] as
// utf8.DecodeRuneInString decodes it (1 for an invalid byte), with the
// common sequences checked here.
func charWidth(s string, i int) int {
	b0 := s[i]
	switch {
	case b0 < utf8.RuneSelf:
		return 1
	case b0 >= 0xC2 && b0 < 0xE0 && i+1 < len(s):
		if s[i+1]&0xC0 == 0x80 {
			return 2
		}
	case b0 > 0xE0 && b0 < 0xF0 && b0 != 0xED && i+2 < len(s):
		if s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 {
			return 3
		}
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return w
}

// classTable1 is classTable for plane 1 (emoji, historic scripts,
// mathematical letters), built the first time such a character is seen.
var classTable1 = sync.OnceValue(func() *[0x10000]uint16 {
	t := new([0x10000]uint16)
	for _, e := range classTables {
		for _, r := range e.tab.R32 {
			for c := r.Lo; c <= r.Hi; c += r.Stride {
				if c >= 0x10000 && c < 0x20000 {
					t[c-0x10000] |= e.bit
				}
			}
		}
	}
	return t
})

// runeClassSupp is the class of a character beyond the BMP.
func runeClassSupp(r rune) uint16 {
	if r < 0x20000 {
		return classTable1()[r-0x10000]
	}
	return runeClassSlow(r)
}

// runOfClass returns the end of the run of characters whose class has a bit
// of mask, starting at i.
func runOfClass(t *[0x10000]uint16, s string, i int, mask uint16) int {
	for i < len(s) {
		if c := byteClass[s[i]]; c&cMulti == 0 {
			if c&mask == 0 {
				return i
			}
			i++
			continue
		}
		c, w := byteClass[s[i]], 1
		if c&cMulti != 0 {
			c, w = classifyMulti(t, s, i)
		}
		if c&mask == 0 {
			return i
		}
		i += w
	}
	return i
}

// A scanner returns the end of the pattern's match starting at s[i], or -1.
// t is classTable().
type scanner func(t *[0x10000]uint16, s string, i int) int

// The patterns the scanners stand for, exactly as tokenizer.json files
// spell them.
const (
	patGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

	patLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

	patQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

	patO200k = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`

	patDigits3 = `\p{N}{1,3}`

	patCJK = `[一-龥぀-ゟ゠-ヿ]+`

	patDeepSeek = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
)

// A scanEntry is a scanner and, for patterns most bytes cannot start,
// the bytes a match may start with (nil: any).
type scanEntry struct {
	scan   scanner
	starts *[256]bool
}

// scanners maps each recognised pattern to its scanner.
var scanners = map[string]scanEntry{
	patGPT2:     {scanGPT2, nil},
	patLlama3:   {scanLlama3, nil},
	patQwen2:    {scanQwen2, nil},
	patO200k:    {scanO200k, nil},
	patDigits3:  {scanDigits3, leadBytes(unicode.N)},
	patCJK:      {scanCJK, startBytes(func(b byte) bool { return b >= 0xE3 && b <= 0xE9 })},
	patDeepSeek: {scanDeepSeek, nil},
}

// leadBytes returns the first bytes of the UTF-8 forms of tab's characters.
func leadBytes(tab *unicode.RangeTable) *[256]bool {
	var t [256]bool
	var buf [4]byte
	mark := func(lo, hi, stride uint32) {
		for c := lo; c <= hi; c += stride {
			utf8.EncodeRune(buf[:], rune(c))
			t[buf[0]] = true
		}
	}
	for _, r := range tab.R16 {
		mark(uint32(r.Lo), uint32(r.Hi), uint32(r.Stride))
	}
	for _, r := range tab.R32 {
		mark(r.Lo, r.Hi, r.Stride)
	}
	return &t
}

func startBytes(f func(b byte) bool) *[256]bool {
	var t [256]bool
	for b := range 256 {
		t[b] = f(byte(b))
	}
	return &t
}

// scanGPT2 is GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Every position starts a match.
func scanGPT2(t *[0x10000]uint16, s string, i int) int {
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
	c, w := byteClass[s[i]], 1
	if c&cMulti != 0 {
		c, w = classifyMulti(t, s, i)
	}
	if s[i] == ' ' && i+1 < len(s) {
		// " ?X+": the optional space binds to a following letter, number
		// or other-run.
		c2, w2 := byteClass[s[i+1]], 1
		if c2&cMulti != 0 {
			c2, w2 = classifyMulti(t, s, i+1)
		}
		switch {
		case c2&cL != 0:
			return runOfClass(t, s, i+1+w2, cL)
		case c2&cN != 0:
			return runOfClass(t, s, i+1+w2, cN)
		case c2&notSLN == 0:
			return otherRun(t, s, i+1+w2)
		}
	}
	switch {
	case c&cL != 0:
		return runOfClass(t, s, i+w, cL)
	case c&cN != 0:
		return runOfClass(t, s, i+w, cN)
	case c&cSpace == 0:
		return otherRun(t, s, i+w)
	}
	// \s+(?!\S)|\s+: give back the last character of a run that a
	// non-space follows, unless that leaves nothing.
	j, lastStart := i, i
	for j < len(s) {
		c, w := byteClass[s[j]], 1
		if c&cMulti != 0 {
			c, w = classifyMulti(t, s, j)
		}
		if c&cSpace == 0 {
			break
		}
		lastStart = j
		j += w
	}
	if j < len(s) && lastStart > i {
		return lastStart
	}
	return j
}

// contraction matches (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i], an apostrophe.
// Under Unicode case folding 's' also matches U+017F (ſ); no other
// character folds to one of these letters.
func contraction(s string, i int) int {
	if i+1 >= len(s) {
		return -1
	}
	switch s[i+1] {
	case 's', 'S', 't', 'T', 'm', 'M', 'd', 'D':
		return i + 2
	case 'r', 'R', 'v', 'V':
		if i+2 < len(s) && (s[i+2] == 'e' || s[i+2] == 'E') {
			return i + 3
		}
	case 'l', 'L':
		if i+2 < len(s) && (s[i+2] == 'l' || s[i+2] == 'L') {
			return i + 3
		}
	case 0xC5: // ſ is C5 BF
		if i+2 < len(s) && s[i+2] == 0xBF {
			return i + 3
		}
	}
	return -1
}

func isCRLF(b byte) bool { return b == '\r' || b == '\n' }

// scanSpaces matches \s*[\r\n]+|\s+(?!\S)|\s+ at s[i], a whitespace
// character. \s*[\r\n]+ backtracks to the last CR or LF of the whitespace
// run; \s+(?!\S) takes the whole run at the end of the text and otherwise
// gives back its last character, which then starts the next match.
func scanSpaces(t *[0x10000]uint16, s string, i int) int {
	j, lastNL, lastStart := i, -1, i
	for j < len(s) {
		c, w := byteClass[s[j]], 1
		if c&cMulti != 0 {
			c, w = classifyMulti(t, s, j)
		}
		if c&cSpace == 0 {
			break
		}
		if isCRLF(s[j]) {
			lastNL = j
		}
		lastStart = j
		j += w
	}
	switch {
	case lastNL >= 0:
		return lastNL + 1
	case j == len(s):
		return j
	case lastStart > i:
		return lastStart
	}
	return j
}

// crlfRun returns the end of the run of CR and LF bytes at i.
func crlfRun(s string, i int) int {
	for i < len(s) && isCRLF(s[i]) {
		i++
	}
	return i
}

// notSLN is [^\s\p{L}\p{N}].
const notSLN = cSpace | cL | cN

func scanLlama3(t *[0x10000]uint16, s string, i int) int { return scanLlamaN(t, s, i, 3) }
func scanQwen2(t *[0x10000]uint16, s string, i int) int  { return scanLlamaN(t, s, i, 1) }

// scanLlamaN is Llama 3's pattern with \p{N}{1,maxN}:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxN}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Every position starts a match.
func scanLlamaN(t *[0x10000]uint16, s string, i, maxN int) int {
	if s[i] == '\'' {
		if e := contraction(s, i); e >= 0 {
			return e
		}
	}
	c, w := byteClass[s[i]], 1
	if c&cMulti != 0 {
		c, w = classifyMulti(t, s, i)
	}
	if c&cL != 0 {
		return runOfClass(t, s, i+w, cL)
	}
	if c&cN == 0 && !isCRLF(s[i]) && i+w < len(s) {
		c2, w2 := byteClass[s[i+w]], 1
		if c2&cMulti != 0 {
			c2, w2 = classifyMulti(t, s, i+w)
		}
		if c2&cL != 0 {
			return runOfClass(t, s, i+w+w2, cL)
		}
	}
	if c&cN != 0 {
		e := i + w
		for k := 1; k < maxN && e < len(s); k++ {
			c2, w2 := byteClass[s[e]], 1
			if c2&cMulti != 0 {
				c2, w2 = classifyMulti(t, s, e)
			}
			if c2&cN == 0 {
				break
			}
			e += w2
		}
		return e
	}
	if s[i] == ' ' && i+1 < len(s) {
		c2, w2 := byteClass[s[i+1]], 1
		if c2&cMulti != 0 {
			c2, w2 = classifyMulti(t, s, i+1)
		}
		if c2&notSLN == 0 {
			return crlfRun(s, otherRun(t, s, i+1+w2))
		}
	}
	if c&notSLN == 0 {
		return crlfRun(s, otherRun(t, s, i+w))
	}
	return scanSpaces(t, s, i)
}

// otherRun returns the end of the run of [^\s\p{L}\p{N}] at i.
func otherRun(t *[0x10000]uint16, s string, i int) int {
	for i < len(s) {
		c, w := byteClass[s[i]], 1
		if c&cMulti != 0 {
			c, w = classifyMulti(t, s, i)
		}
		if c&notSLN != 0 {
			return i
		}
		i += w
	}
	return i
}

// o200k's letter classes: U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (upper-ish)
// and W = [\p{Ll}\p{Lm}\p{Lo}\p{M}] (lower-ish); they share Lm, Lo and M.
const (
	o2U    = cLu | cLt | cLm | cLo | cM
	o2W    = cLl | cLm | cLo | cM
	o2Both = cLm | cLo | cM
)

// scanO200k is gpt-oss's (o200k) pattern:
//
//	[^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with C = (?i:'s|'t|'re|'ve|'m|'ll|'d). The optional first character
// [^\r\n\p{L}\p{N}] includes marks, which are also in U and W, so each
// letter alternative is tried with that character taken and, failing
// that, without it. Every position starts a match.
func scanO200k(t *[0x10000]uint16, s string, i int) int {
	c, w := byteClass[s[i]], 1
	if c&cMulti != 0 {
		c, w = classifyMulti(t, s, i)
	}
	lead := c&(cL|cN) == 0 && !isCRLF(s[i])
	if lead {
		if e := o200kUW(t, s, i+w); e >= 0 {
			return o200kSuffix(s, e)
		}
	}
	if e := o200kUW(t, s, i); e >= 0 {
		return o200kSuffix(s, e)
	}
	if lead {
		if e := o200kUplus(t, s, i+w); e >= 0 {
			return o200kSuffix(s, e)
		}
	}
	if e := o200kUplus(t, s, i); e >= 0 {
		return o200kSuffix(s, e)
	}
	if c&cN != 0 {
		e := i + w
		for k := 1; k < 3 && e < len(s); k++ {
			c2, w2 := byteClass[s[e]], 1
			if c2&cMulti != 0 {
				c2, w2 = classifyMulti(t, s, e)
			}
			if c2&cN == 0 {
				break
			}
			e += w2
		}
		return e
	}
	if s[i] == ' ' && i+1 < len(s) {
		c2, w2 := byteClass[s[i+1]], 1
		if c2&cMulti != 0 {
			c2, w2 = classifyMulti(t, s, i+1)
		}
		if c2&notSLN == 0 {
			return crlfSlashRun(s, otherRun(t, s, i+1+w2))
		}
	}
	if c&notSLN == 0 {
		return crlfSlashRun(s, otherRun(t, s, i+w))
	}
	return scanSpaces(t, s, i)
}

// o200kUW matches U*W+ at p, or returns -1. U* first takes the whole run
// of U; if W cannot follow, it gives back characters until W+ can start
// on one of them, which must then be in both classes, and W+ ends right
// after it (the rest of the run is Lu or Lt).
func o200kUW(t *[0x10000]uint16, s string, p int) int {
	q, lastBoth := p, -1
	for q < len(s) {
		c, w := byteClass[s[q]], 1
		if c&cMulti != 0 {
			c, w = classifyMulti(t, s, q)
		}
		if c&o2U == 0 {
			if c&o2W != 0 {
				return runOfClass(t, s, q, o2W)
			}
			break
		}
		if c&o2Both != 0 {
			lastBoth = q + w
		}
		q += w
	}
	return lastBoth
}

// o200kUplus matches U+W* at p, or returns -1.
func o200kUplus(t *[0x10000]uint16, s string, p int) int {
	if p >= len(s) {
		return -1
	}
	q := runOfClass(t, s, p, o2U)
	if q == p {
		return -1
	}
	return runOfClass(t, s, q, o2W)
}

// o200kSuffix takes the optional (?i:'s|'t|'re|'ve|'m|'ll|'d) at e.
func o200kSuffix(s string, e int) int {
	if e < len(s) && s[e] == '\'' {
		if c := contraction(s, e); c >= 0 {
			return c
		}
	}
	return e
}

// crlfSlashRun returns the end of the run of CR, LF and '/' at i.
func crlfSlashRun(s string, i int) int {
	for i < len(s) && (isCRLF(s[i]) || s[i] == '/') {
		i++
	}
	return i
}

// scanDigits3 is \p{N}{1,3}.
func scanDigits3(t *[0x10000]uint16, s string, i int) int {
	e := i
	for k := 0; k < 3 && e < len(s); k++ {
		c, w := byteClass[s[e]], 1
		if c&cMulti != 0 {
			c, w = classifyMulti(t, s, e)
		}
		if c&cN == 0 {
			break
		}
		e += w
	}
	if e == i {
		return -1
	}
	return e
}

// isKanaHan is [一-龥぀-ゟ゠-ヿ]: U+4E00–U+9FA5, U+3040–U+309F, U+30A0–U+30FF.
func isKanaHan(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FA5) || (r >= 0x3040 && r <= 0x30FF)
}

// scanCJK is [一-龥぀-ゟ゠-ヿ]+.
func scanCJK(_ *[0x10000]uint16, s string, i int) int {
	e := i
	for e < len(s) && s[e] >= 0xE3 { // all these characters start with E3..E9
		r, w := utf8.DecodeRuneInString(s[e:])
		if !isKanaHan(r) {
			break
		}
		e += w
	}
	if e == i {
		return -1
	}
	return e
}

// isASCIIPunct is [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~].
func isASCIIPunct(b byte) bool {
	return (b >= '!' && b <= '/') || (b >= ':' && b <= '@') || (b >= '[' && b <= '`') || (b >= '{' && b <= '~')
}

func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// scanDeepSeek is DeepSeek-V3's third pattern:
//
//	[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|
//	[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|
//	\s*[\r\n]+|\s+(?!\S)|\s+
//
// Unlike the others it leaves characters unmatched: a number, a control
// or format character not followed by a letter or mark.
func scanDeepSeek(t *[0x10000]uint16, s string, i int) int {
	if isASCIIPunct(s[i]) && i+1 < len(s) && isASCIILetter(s[i+1]) {
		e := i + 2
		for e < len(s) && isASCIILetter(s[e]) {
			e++
		}
		return e
	}
	c, w := byteClass[s[i]], 1
	if c&cMulti != 0 {
		c, w = classifyMulti(t, s, i)
	}
	if c&(cL|cP|cS) == 0 && !isCRLF(s[i]) && i+w < len(s) {
		c2, w2 := byteClass[s[i+w]], 1
		if c2&cMulti != 0 {
			c2, w2 = classifyMulti(t, s, i+w)
		}
		if c2&(cL|cM) != 0 {
			return runOfClass(t, s, i+w+w2, cL|cM)
		}
	}
	if c&(cL|cM) != 0 {
		return runOfClass(t, s, i+w, cL|cM)
	}
	if s[i] == ' ' && i+1 < len(s) {
		c2, w2 := byteClass[s[i+1]], 1
		if c2&cMulti != 0 {
			c2, w2 = classifyMulti(t, s, i+1)
		}
		if c2&(cP|cS) != 0 {
			return crlfRun(s, runOfClass(t, s, i+1+w2, cP|cS))
		}
	}
	if c&(cP|cS) != 0 {
		return crlfRun(s, runOfClass(t, s, i+w, cP|cS))
	}
	if c&cSpace != 0 {
		return scanSpaces(t, s, i)
	}
	return -1
}
