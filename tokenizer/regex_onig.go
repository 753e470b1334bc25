package tokenizer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Translation of the Oniguruma patterns of tokenizer.json (the Rust
// library compiles them with onig, Ruby-like syntax, UTF-8, no options)
// into regexp2 patterns that match the same strings.
//
// Every construct is rewritten into one whose meaning does not depend on
// regexp2's mode: \w, \d, \h, \b are spelled out with Unicode categories,
// since Oniguruma's \w is [\p{L}\p{M}\p{N}\p{Pc}] and regexp2's (.NET's) is
// narrower; \s stays \s, which is White_Space in both; literals are escaped.
// A construct whose Oniguruma meaning is not certain to carry over is
// refused by name: ^ and $ (line anchors in Ruby syntax), \G, back
// references, nested classes and && intersections, POSIX brackets,
// conditionals, absent groups, the x flag, octal and byte escapes, and
// Unicode properties other than general categories and scripts.

// onigWord is Oniguruma's \w with Unicode: Letter, Mark, Number and
// Connector_Punctuation.
const onigWord = `\p{L}\p{M}\p{N}\p{Pc}`

// translateOnig returns the regexp2 form of the Oniguruma pattern p.
func translateOnig(p string) (string, error) {
	if !utf8.ValidString(p) {
		return "", fmt.Errorf("pattern is not valid UTF-8")
	}
	t := onigTranslator{src: []rune(p)}
	if err := t.alternation(0); err != nil {
		return "", err
	}
	if t.i < len(t.src) { // a ')' without '('
		return "", fmt.Errorf("unmatched ')' at offset %d", t.i)
	}
	return t.out.String(), nil
}

type onigTranslator struct {
	src []rune
	i   int
	out strings.Builder
}

func (t *onigTranslator) peek(k int) rune {
	if t.i+k < len(t.src) {
		return t.src[t.i+k]
	}
	return -1
}

// Kinds of the last item written, for quantifiers.
const (
	itemNone   = iota // start of a branch, or after an option group
	itemAtom          // something a quantifier may follow
	itemAnchor        // zero-width: lookaround, \b, \A, \z
	itemQuant         // a quantifier
)

// alternation translates branches up to a ')' (not consumed) or the end.
func (t *onigTranslator) alternation(depth int) error {
	last := itemNone
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch c {
		case ')':
			if depth == 0 {
				return fmt.Errorf("unmatched ')' at offset %d", t.i)
			}
			return nil
		case '|':
			t.i++
			t.out.WriteByte('|')
			last = itemNone
		case '(':
			k, err := t.group(depth)
			if err != nil {
				return err
			}
			last = k
		case '[':
			if err := t.class(); err != nil {
				return err
			}
			last = itemAtom
		case '\\':
			k, err := t.escape()
			if err != nil {
				return err
			}
			last = k
		case '*', '+', '?', '{':
			q, ok, err := t.quantifier()
			if err != nil {
				return err
			}
			if !ok { // a '{' that is not an interval is a literal
				t.i++
				t.out.WriteString(`\{`)
				last = itemAtom
				continue
			}
			switch last {
			case itemNone:
				return fmt.Errorf("quantifier %q at offset %d follows nothing", q, t.i)
			case itemAnchor:
				return fmt.Errorf("quantifier %q at offset %d follows a zero-width assertion", q, t.i)
			case itemQuant:
				return fmt.Errorf("nested quantifier %q at offset %d is not supported", q, t.i)
			}
			t.out.WriteString(q)
			last = itemQuant
		case '.':
			t.i++
			t.out.WriteByte('.') // any character but \n, in both
			last = itemAtom
		case '^', '$':
			return fmt.Errorf("anchor %q at offset %d is not supported", c, t.i)
		default:
			t.i++
			writeLiteral(&t.out, c)
			last = itemAtom
		}
	}
	if depth > 0 {
		return fmt.Errorf("missing ')'")
	}
	return nil
}

// quantifier parses *, +, ?, {n}, {n,}, {n,m} or {,m} with a lazy '?' or
// possessive '+' modifier. ok is false for a '{' that does not start a
// valid interval (Oniguruma then reads it as a literal).
func (t *onigTranslator) quantifier() (q string, ok bool, err error) {
	start := t.i
	c := t.src[t.i]
	interval := false
	if c == '{' {
		lo, hi, n, valid := parseInterval(t.src[t.i:])
		if !valid {
			return "", false, nil
		}
		const maxRepeat = 100000 // Oniguruma's ONIG_MAX_REPEAT_NUM
		if lo > maxRepeat || hi > maxRepeat {
			return "", false, fmt.Errorf("repeat count at offset %d exceeds %d", start, maxRepeat)
		}
		if hi >= 0 && lo > hi {
			return "", false, fmt.Errorf("interval {%d,%d} at offset %d is not supported", lo, hi, start)
		}
		t.i += n
		interval = true
		switch {
		case hi < 0:
			q = "{" + strconv.Itoa(lo) + ",}"
		case lo == hi && !strings.Contains(string(t.src[start:t.i]), ","):
			q = "{" + strconv.Itoa(lo) + "}"
		default:
			q = "{" + strconv.Itoa(lo) + "," + strconv.Itoa(hi) + "}"
		}
	} else {
		t.i++
		q = string(c)
	}
	switch t.peek(0) {
	case '?':
		if interval && !strings.Contains(q, ",") {
			return "", false, fmt.Errorf("%s? at offset %d is not supported", q, start)
		}
		t.i++
		q += "?"
	case '+':
		if interval {
			return "", false, fmt.Errorf("%s+ at offset %d is not supported", q, start)
		}
		t.i++
		q += "+"
	}
	return q, true, nil
}

// parseInterval reads {n}, {n,}, {n,m} or {,m} at the start of r and
// returns the bounds (hi = -1 for none) and the length in runes.
func parseInterval(r []rune) (lo, hi, n int, ok bool) {
	i := 1
	num := func() (int, bool) {
		j := i
		v := 0
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			if v < 1<<30 {
				v = v*10 + int(r[i]-'0')
			}
			i++
		}
		return v, i > j
	}
	lo, hasLo := num()
	if i < len(r) && r[i] == '}' {
		return lo, lo, i + 1, hasLo
	}
	if i >= len(r) || r[i] != ',' {
		return 0, 0, 0, false
	}
	i++
	hi, hasHi := num()
	if i >= len(r) || r[i] != '}' || (!hasLo && !hasHi) {
		return 0, 0, 0, false
	}
	if !hasHi {
		hi = -1
	}
	return lo, hi, i + 1, true
}

// group translates a parenthesised group.
func (t *onigTranslator) group(depth int) (int, error) {
	start := t.i
	t.i++ // (
	kind := itemAtom
	if t.peek(0) != '?' {
		t.out.WriteString("(?:")
	} else {
		t.i++
		switch c := t.peek(0); {
		case c == ':' || c == '=' || c == '!' || c == '>':
			t.i++
			t.out.WriteString("(?" + string(c))
			if c == '=' || c == '!' {
				kind = itemAnchor
			}
		case c == '<' && (t.peek(1) == '=' || t.peek(1) == '!'):
			t.out.WriteString("(?<" + string(t.peek(1)))
			t.i += 2
			kind = itemAnchor
		case c == '<' || c == '\'':
			end := '>'
			if c == '\'' {
				end = '\''
			}
			t.i++
			name := t.i
			for t.i < len(t.src) && t.src[t.i] != end {
				r := t.src[t.i]
				if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					return 0, fmt.Errorf("bad group name at offset %d", start)
				}
				t.i++
			}
			if t.i >= len(t.src) || t.i == name {
				return 0, fmt.Errorf("bad group name at offset %d", start)
			}
			t.i++
			t.out.WriteString("(?:")
		case c == '#':
			for t.i < len(t.src) && t.src[t.i] != ')' {
				t.i++
			}
			if t.i >= len(t.src) {
				return 0, fmt.Errorf("unterminated comment at offset %d", start)
			}
			t.i++
			return itemNone, nil
		case c == '-' || unicode.IsLetter(c):
			opts, colon, err := t.options(start)
			if err != nil {
				return 0, err
			}
			if !colon {
				t.out.WriteString("(?" + opts + ")")
				return itemNone, nil
			}
			t.out.WriteString("(?" + opts + ":")
		default:
			return 0, fmt.Errorf("group (?%s at offset %d is not supported", string(t.src[t.i:min(t.i+1, len(t.src))]), start)
		}
	}
	if err := t.alternation(depth + 1); err != nil {
		return 0, err
	}
	t.i++ // )
	t.out.WriteByte(')')
	return kind, nil
}

// options reads Oniguruma's option letters up to ')' or ':'; i is i and m
// (dot matches newline) is regexp2's s.
func (t *onigTranslator) options(start int) (opts string, colon bool, err error) {
	var b strings.Builder
	for t.i < len(t.src) {
		switch c := t.src[t.i]; c {
		case 'i', '-':
			b.WriteRune(c)
		case 'm':
			b.WriteByte('s')
		case ')', ':':
			t.i++
			o := b.String()
			if o == "" || o == "-" || strings.Count(o, "-") > 1 {
				return "", false, fmt.Errorf("bad option group at offset %d", start)
			}
			return o, c == ':', nil
		default:
			return "", false, fmt.Errorf("option %q at offset %d is not supported", c, start)
		}
		t.i++
	}
	return "", false, fmt.Errorf("missing ')'")
}

// escape translates a backslash sequence outside a class.
func (t *onigTranslator) escape() (int, error) {
	start := t.i
	t.i++
	if t.i >= len(t.src) {
		return 0, fmt.Errorf("trailing backslash")
	}
	c := t.src[t.i]
	t.i++
	switch c {
	case 's':
		t.out.WriteString(`\s`)
	case 'S':
		t.out.WriteString(`\S`)
	case 'd':
		t.out.WriteString(`\p{Nd}`)
	case 'D':
		t.out.WriteString(`\P{Nd}`)
	case 'w':
		t.out.WriteString(`[` + onigWord + `]`)
	case 'W':
		t.out.WriteString(`[^` + onigWord + `]`)
	case 'h':
		t.out.WriteString(`[0-9a-fA-F]`)
	case 'H':
		t.out.WriteString(`[^0-9a-fA-F]`)
	case 'p', 'P':
		cls, neg, err := t.property(c == 'P', start)
		if err != nil {
			return 0, err
		}
		if neg {
			t.out.WriteString("[^" + cls + "]")
		} else {
			t.out.WriteString("[" + cls + "]")
		}
	case 'b':
		t.out.WriteString(`(?:(?<=[` + onigWord + `])(?![` + onigWord + `])|(?<![` + onigWord + `])(?=[` + onigWord + `]))`)
		return itemAnchor, nil
	case 'B':
		t.out.WriteString(`(?:(?<=[` + onigWord + `])(?=[` + onigWord + `])|(?<![` + onigWord + `])(?![` + onigWord + `]))`)
		return itemAnchor, nil
	case 'A':
		t.out.WriteString(`\A`)
		return itemAnchor, nil
	case 'z':
		t.out.WriteString(`\z`)
		return itemAnchor, nil
	case 'Z':
		t.out.WriteString(`(?=\n?\z)`)
		return itemAnchor, nil
	default:
		r, err := t.charEscape(c, start)
		if err != nil {
			return 0, err
		}
		writeLiteral(&t.out, r)
	}
	return itemAtom, nil
}

// charEscape reads an escape that stands for one character; c is the
// character after the backslash, already consumed.
func (t *onigTranslator) charEscape(c rune, start int) (rune, error) {
	switch c {
	case 't':
		return '\t', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 'f':
		return '\f', nil
	case 'v':
		return '\v', nil
	case 'a':
		return '\a', nil
	case 'e':
		return 0x1B, nil
	case 'x':
		if t.peek(0) == '{' {
			end := t.i + 1
			for end < len(t.src) && t.src[end] != '}' {
				end++
			}
			if end >= len(t.src) {
				return 0, fmt.Errorf("bad \\x{...} at offset %d", start)
			}
			return t.codePoint(string(t.src[t.i+1:end]), end+1, start)
		}
		n := 0
		for n < 2 && isHex(t.peek(n)) {
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("bad \\x at offset %d", start)
		}
		v, _ := strconv.ParseUint(string(t.src[t.i:t.i+n]), 16, 8)
		if v >= 0x80 { // a raw byte in Oniguruma's UTF-8 mode
			return 0, fmt.Errorf("byte escape \\x%02X at offset %d is not supported", v, start)
		}
		t.i += n
		return rune(v), nil
	case 'u':
		if t.i+4 > len(t.src) {
			return 0, fmt.Errorf("bad \\u at offset %d", start)
		}
		return t.codePoint(string(t.src[t.i:t.i+4]), t.i+4, start)
	}
	if c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
		return 0, fmt.Errorf("escape \\%c at offset %d is not supported", c, start)
	}
	return c, nil // an escaped punctuation, space or non-ASCII character
}

// codePoint parses hex digits as a code point and moves past them to next.
func (t *onigTranslator) codePoint(hex string, next, start int) (rune, error) {
	if hex == "" || len(hex) > 8 || strings.TrimLeft(hex, "0123456789abcdefABCDEF") != "" {
		return 0, fmt.Errorf("bad code point escape at offset %d", start)
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil || v > unicode.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
		return 0, fmt.Errorf("bad code point escape at offset %d", start)
	}
	t.i = next
	return rune(v), nil
}

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// property reads the {Name} of \p or \P (already consumed) and returns the
// class body it stands for (to go inside [...]) and whether it is negated.
func (t *onigTranslator) property(neg bool, start int) (string, bool, error) {
	if t.peek(0) != '{' {
		return "", false, fmt.Errorf("\\p without {...} at offset %d", start)
	}
	end := t.i + 1
	for end < len(t.src) && t.src[end] != '}' {
		end++
	}
	if end >= len(t.src) {
		return "", false, fmt.Errorf("unterminated \\p{ at offset %d", start)
	}
	name := string(t.src[t.i+1 : end])
	t.i = end + 1
	if strings.HasPrefix(name, "^") {
		name, neg = name[1:], !neg
	}
	cls, ok := onigProperty(name)
	if !ok {
		return "", false, fmt.Errorf("property \\p{%s} is not supported", name)
	}
	return cls, neg, nil
}

// onigProperties maps Oniguruma property names, lower-cased and without
// spaces, '-' and '_', to class bodies. General categories and scripts
// only: Oniguruma's C and Cn include unassigned code points, which Go's
// tables do not list, and its POSIX-like names (Alpha, Punct, ...) have
// definitions of their own.
var onigProperties = func() map[string]string {
	m := map[string]string{}
	add := func(cls string, names ...string) {
		for _, n := range names {
			m[normPropName(n)] = cls
		}
	}
	cat := func(short string, long ...string) { add(`\p{`+short+`}`, append(long, short)...) }
	cat("L", "Letter")
	cat("Lu", "Uppercase_Letter")
	cat("Ll", "Lowercase_Letter")
	cat("Lt", "Titlecase_Letter")
	cat("Lm", "Modifier_Letter")
	cat("Lo", "Other_Letter")
	cat("M", "Mark", "Combining_Mark")
	cat("Mn", "Nonspacing_Mark")
	cat("Mc", "Spacing_Mark")
	cat("Me", "Enclosing_Mark")
	cat("N", "Number")
	cat("Nd", "Decimal_Number")
	cat("Nl", "Letter_Number")
	cat("No", "Other_Number")
	cat("P", "Punctuation")
	cat("Pc", "Connector_Punctuation")
	cat("Pd", "Dash_Punctuation")
	cat("Ps", "Open_Punctuation")
	cat("Pe", "Close_Punctuation")
	cat("Pi", "Initial_Punctuation")
	cat("Pf", "Final_Punctuation")
	cat("Po", "Other_Punctuation")
	cat("S", "Symbol")
	cat("Sm", "Math_Symbol")
	cat("Sc", "Currency_Symbol")
	cat("Sk", "Modifier_Symbol")
	cat("So", "Other_Symbol")
	cat("Z", "Separator")
	cat("Zs", "Space_Separator")
	cat("Zl", "Line_Separator")
	cat("Zp", "Paragraph_Separator")
	cat("Cc", "Control")
	cat("Cf", "Format")
	cat("Co", "Private_Use")
	cat("Cs", "Surrogate")
	add(`\p{Lu}\p{Ll}\p{Lt}`, "LC", "Cased_Letter", "L&")
	names := make([]string, 0, len(unicode.Scripts))
	for n := range unicode.Scripts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, dup := m[normPropName(n)]; !dup {
			add(`\p{`+n+`}`, n)
		}
	}
	return m
}()

func normPropName(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

func onigProperty(name string) (string, bool) {
	cls, ok := onigProperties[normPropName(name)]
	return cls, ok
}

// class translates a bracket expression.
func (t *onigTranslator) class() error {
	start := t.i
	t.i++ // [
	var b strings.Builder
	b.WriteByte('[')
	if t.peek(0) == '^' {
		t.i++
		b.WriteByte('^')
	}
	if t.peek(0) == ']' {
		return fmt.Errorf("']' at the start of the class at offset %d is not supported", start)
	}
	items := 0
	for {
		if t.i >= len(t.src) {
			return fmt.Errorf("missing ']'")
		}
		c := t.src[t.i]
		switch {
		case c == ']':
			t.i++
			if items == 0 {
				return fmt.Errorf("empty class at offset %d", start)
			}
			b.WriteByte(']')
			t.out.WriteString(b.String())
			return nil
		case c == '[':
			return fmt.Errorf("nested class or POSIX bracket at offset %d is not supported", t.i)
		case c == '&' && t.peek(1) == '&':
			return fmt.Errorf("class intersection && at offset %d is not supported", t.i)
		}
		lo, set, err := t.classAtom()
		if err != nil {
			return err
		}
		items++
		if set != "" {
			if t.peek(0) == '-' && t.peek(1) != ']' {
				return fmt.Errorf("range from a class escape at offset %d is not supported", t.i)
			}
			b.WriteString(set)
			continue
		}
		if t.peek(0) == '-' && t.peek(1) != ']' && t.peek(1) != -1 {
			t.i++ // -
			if t.peek(0) == '[' {
				return fmt.Errorf("nested class at offset %d is not supported", t.i)
			}
			hi, set2, err := t.classAtom()
			if err != nil {
				return err
			}
			if set2 != "" {
				return fmt.Errorf("range to a class escape at offset %d is not supported", t.i)
			}
			if hi < lo {
				return fmt.Errorf("empty range in class at offset %d", t.i)
			}
			writeClassChar(&b, lo)
			b.WriteByte('-')
			writeClassChar(&b, hi)
			continue
		}
		writeClassChar(&b, lo)
	}
}

// classAtom reads one class item: a character (r) or a set escape (set,
// a class body).
func (t *onigTranslator) classAtom() (r rune, set string, err error) {
	c := t.src[t.i]
	if c != '\\' {
		t.i++
		return c, "", nil
	}
	start := t.i
	t.i++
	if t.i >= len(t.src) {
		return 0, "", fmt.Errorf("trailing backslash")
	}
	c = t.src[t.i]
	t.i++
	switch c {
	case 's':
		return 0, `\s`, nil
	case 'S':
		return 0, `\S`, nil
	case 'd':
		return 0, `\p{Nd}`, nil
	case 'D':
		return 0, `\P{Nd}`, nil
	case 'w':
		return 0, onigWord, nil
	case 'h':
		return 0, `0-9a-fA-F`, nil
	case 'W', 'H':
		return 0, "", fmt.Errorf("\\%c inside a class at offset %d is not supported", c, start)
	case 'p', 'P':
		cls, neg, err := t.property(c == 'P', start)
		if err != nil {
			return 0, "", err
		}
		if !neg {
			return 0, cls, nil
		}
		if strings.Count(cls, `\p{`) != 1 {
			return 0, "", fmt.Errorf("negated \\p{...} at offset %d is not supported inside a class", start)
		}
		return 0, `\P` + cls[2:], nil
	case 'b':
		return '\b', "", nil
	}
	r, err = t.charEscape(c, start)
	return r, "", err
}

// writeLiteral writes r so that regexp2 matches it literally outside a
// class.
func writeLiteral(b *strings.Builder, r rune) {
	switch {
	case r < ' ' || r == 0x7F:
		fmt.Fprintf(b, `\u%04X`, r)
	case r < utf8.RuneSelf && r != '_' && !isAlnumASCII(r) && r != ' ':
		b.WriteByte('\\')
		b.WriteRune(r)
	default:
		b.WriteRune(r)
	}
}

// writeClassChar writes r so that regexp2 reads it as one character inside
// a class.
func writeClassChar(b *strings.Builder, r rune) { writeLiteral(b, r) }

func isAlnumASCII(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}
