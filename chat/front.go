package chat

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The front end reads a template the way Jinja's lexer does (newline
// normalisation, trim_blocks, lstrip_blocks, the - and + markers, raw blocks,
// comments, string escapes, number forms) and writes the template the engine
// compiles. In that template every piece of literal text is a string
// expression, {{ '...' }}, so the engine's own whitespace handling, which
// differs from Jinja's where tags touch, has nothing to act on; tags are
// written back token by token with spaces between, and the filters whose
// results differ from Jinja's are renamed to ours.

type tokKind int

const (
	tokName tokKind = iota
	tokString
	tokInt
	tokFloat
	tokOp
)

type token struct {
	kind tokKind
	text string // names and operators as written; strings decoded
	num  string // ints and floats: the form written for the engine
}

type pieceKind int

const (
	pieceText pieceKind = iota
	pieceExpr
	pieceStmt
)

type piece struct {
	kind pieceKind
	text string // pieceText
	toks []token
	line int
}

// Limits of the front end: nesting deeper than this is refused (Python's
// parser gives up long before, and the engine's parser recurses on it).
const maxNesting = 64

// pyIsSpace reports whether Python's str.isspace (and so the \s of Jinja's
// lexer regexes) holds for r.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func pyRStrip(s string) string {
	return strings.TrimRightFunc(s, pyIsSpace)
}

func pyLStrip(s string) string {
	return strings.TrimLeftFunc(s, pyIsSpace)
}

// normalizeSource does what Jinja's lexer does before lexing: every \r\n and
// \r becomes \n, and one trailing newline is dropped.
func normalizeSource(src string) string {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	return strings.TrimSuffix(src, "\n")
}

type lexer struct {
	src          string
	pos          int
	lineStarting bool
	pieces       []piece
	linePos      int // line is the line of byte linePos
	lineNo       int
}

// line is the 1-based line of byte pos; pos mostly grows, so it counts on
// from the last answer.
func (lx *lexer) line(pos int) int {
	if pos < lx.linePos {
		lx.linePos, lx.lineNo = 0, 1
	}
	lx.lineNo += strings.Count(lx.src[lx.linePos:pos], "\n")
	lx.linePos = pos
	return lx.lineNo
}

func (lx *lexer) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Line: lx.line(pos), Msg: fmt.Sprintf(format, args...)}
}

// lexTemplate splits a template into text, expression and statement pieces
// with Jinja's whitespace rules already applied to the text.
func lexTemplate(src string) ([]piece, error) {
	lx := &lexer{src: normalizeSource(src), lineStarting: true, lineNo: 1}
	if !utf8.ValidString(lx.src) {
		return nil, &SyntaxError{Line: 1, Msg: "the template is not valid UTF-8"}
	}
	for lx.pos < len(lx.src) {
		if err := lx.next(); err != nil {
			return nil, err
		}
	}
	return lx.pieces, nil
}

func (lx *lexer) emitText(s string) {
	if s == "" {
		return
	}
	if n := len(lx.pieces); n > 0 && lx.pieces[n-1].kind == pieceText {
		lx.pieces[n-1].text += s
		return
	}
	lx.pieces = append(lx.pieces, piece{kind: pieceText, text: s})
}

// stripBefore applies the opener's whitespace rule to the text before a tag:
// - strips all whitespace, + none, and otherwise lstrip_blocks strips the
// indentation before a block or comment tag that starts its line.
func (lx *lexer) stripBefore(text string, sign byte, lstrip bool) string {
	switch {
	case sign == '-':
		return pyRStrip(text)
	case sign != '+' && lstrip:
		l := strings.LastIndexByte(text, '\n') + 1
		if l > 0 || lx.lineStarting {
			rest := text[l:]
			if rest != "" && strings.TrimLeftFunc(rest, pyIsSpace) == "" {
				return text[:l]
			}
		}
	}
	return text
}

// findOpener returns the position of the next {{, {% or {# at or after pos.
func (lx *lexer) findOpener(pos int) int {
	for {
		i := strings.IndexByte(lx.src[pos:], '{')
		if i < 0 {
			return -1
		}
		i += pos
		if i+1 < len(lx.src) {
			switch lx.src[i+1] {
			case '{', '%', '#':
				return i
			}
		}
		pos = i + 1
	}
}

func (lx *lexer) next() error {
	start := lx.findOpener(lx.pos)
	if start < 0 {
		lx.emitText(lx.src[lx.pos:])
		lx.pos = len(lx.src)
		return nil
	}
	text := lx.src[lx.pos:start]
	kind := lx.src[start+1]
	p := start + 2
	var sign byte
	if p < len(lx.src) && (lx.src[p] == '-' || lx.src[p] == '+') {
		sign = lx.src[p]
		p++
	}
	switch kind {
	case '#':
		return lx.comment(text, sign, start, p)
	case '%':
		if end, ok := lx.rawOpen(p); ok {
			return lx.raw(text, sign, start, end)
		}
		lx.emitText(lx.stripBefore(text, sign, true))
		return lx.tag(pieceStmt, start, p)
	default:
		lx.emitText(lx.stripBefore(text, sign, false))
		return lx.tag(pieceExpr, start, p)
	}
}

// blockEnd matches a block or comment closer at p: +%} keeps what follows,
// -%} strips all whitespace after it, %} drops one newline (trim_blocks).
// It returns the position after the closer and what it consumed.
func (lx *lexer) blockEnd(p int, closer string) (int, bool) {
	s := lx.src
	switch {
	case strings.HasPrefix(s[p:], "+"+closer):
		return p + 3, true
	case strings.HasPrefix(s[p:], "-"+closer):
		q := p + 3
		return q + (len(s[q:]) - len(pyLStrip(s[q:]))), true
	case strings.HasPrefix(s[p:], closer):
		q := p + 2
		if q < len(s) && s[q] == '\n' {
			q++
		}
		return q, true
	}
	return p, false
}

func (lx *lexer) comment(text string, sign byte, start, p int) error {
	lx.emitText(lx.stripBefore(text, sign, true))
	if p >= len(lx.src) {
		// Jinja ends quietly on a comment opener at the very end.
		lx.pos = len(lx.src)
		return nil
	}
	for q := p; q < len(lx.src); q++ {
		if end, ok := lx.blockEnd(q, "#}"); ok {
			lx.lineStarting = strings.HasSuffix(lx.src[start:end], "\n")
			lx.pos = end
			return nil
		}
	}
	return lx.errorf(start, "missing end of comment tag")
}

// rawOpen reports whether {% (and its marker) at p continue as "raw %}",
// returning the position after the opener.
func (lx *lexer) rawOpen(p int) (int, bool) {
	s := lx.src
	q := p + (len(s[p:]) - len(pyLStrip(s[p:])))
	if !strings.HasPrefix(s[q:], "raw") {
		return 0, false
	}
	q += 3
	q += len(s[q:]) - len(pyLStrip(s[q:]))
	switch {
	case strings.HasPrefix(s[q:], "-%}"):
		q += 3
		return q + (len(s[q:]) - len(pyLStrip(s[q:]))), true
	case strings.HasPrefix(s[q:], "%}"):
		return q + 2, true
	}
	return 0, false
}

func (lx *lexer) raw(text string, sign byte, start, bodyStart int) error {
	lx.emitText(lx.stripBefore(text, sign, true))
	lx.lineStarting = strings.HasSuffix(lx.src[start:bodyStart], "\n")
	s := lx.src
	for q := bodyStart; q < len(s); q++ {
		if !strings.HasPrefix(s[q:], "{%") {
			continue
		}
		r := q + 2
		var esign byte
		if r < len(s) && (s[r] == '-' || s[r] == '+') {
			esign = s[r]
			r++
		}
		r += len(s[r:]) - len(pyLStrip(s[r:]))
		if !strings.HasPrefix(s[r:], "endraw") {
			continue
		}
		r += len("endraw")
		r += len(s[r:]) - len(pyLStrip(s[r:]))
		end, ok := lx.blockEnd(r, "%}")
		if !ok {
			continue
		}
		lx.emitText(lx.stripBefore(s[bodyStart:q], esign, true))
		lx.lineStarting = strings.HasSuffix(s[q:end], "\n")
		lx.pos = end
		return nil
	}
	return lx.errorf(start, "missing end of raw directive")
}

// tag reads the tokens of a {{ }} or {% %} tag whose content starts at p.
func (lx *lexer) tag(kind pieceKind, start, p int) error {
	s := lx.src
	var toks []token
	var stack []byte
	for {
		if p >= len(s) {
			return lx.errorf(start, "unexpected end of template inside a tag")
		}
		if len(stack) == 0 {
			if kind == pieceStmt {
				if end, ok := lx.blockEnd(p, "%}"); ok {
					lx.finishTag(kind, toks, start, end)
					return nil
				}
			} else {
				switch {
				case strings.HasPrefix(s[p:], "-}}"):
					q := p + 3
					end := q + (len(s[q:]) - len(pyLStrip(s[q:])))
					lx.finishTag(kind, toks, start, end)
					return nil
				case strings.HasPrefix(s[p:], "}}"):
					lx.finishTag(kind, toks, start, p+2)
					return nil
				}
			}
		}
		r, size := utf8.DecodeRuneInString(s[p:])
		if pyIsSpace(r) {
			p += size
			continue
		}
		tk, q, err := lx.token(p)
		if err != nil {
			return err
		}
		if tk.kind == tokOp {
			switch tk.text {
			case "(", "[", "{":
				stack = append(stack, tk.text[0])
				if len(stack) > maxNesting {
					return &UnsupportedError{Line: lx.line(p), Construct: fmt.Sprintf("brackets nested more than %d deep", maxNesting)}
				}
			case ")", "]", "}":
				want := map[string]byte{")": '(', "]": '[', "}": '{'}[tk.text]
				if len(stack) == 0 || stack[len(stack)-1] != want {
					return lx.errorf(p, "unexpected %q", tk.text)
				}
				stack = stack[:len(stack)-1]
			}
		}
		toks = append(toks, tk)
		p = q
	}
}

func (lx *lexer) finishTag(kind pieceKind, toks []token, start, end int) {
	lx.pieces = append(lx.pieces, piece{kind: kind, toks: toks, line: lx.line(start)})
	lx.lineStarting = strings.HasSuffix(lx.src[start:end], "\n")
	lx.pos = end
}

var operators = []string{"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

// token reads one token at p, in the order of Jinja's tag rules: float,
// integer, name, string, operator.
func (lx *lexer) token(p int) (token, int, error) {
	s := lx.src
	if q, ok := matchFloat(s, p); ok {
		text := strings.ReplaceAll(s[p:q], "_", "")
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return token{}, 0, &UnsupportedError{Line: lx.line(p), Construct: "float literal " + s[p:q]}
		}
		return token{kind: tokFloat, text: s[p:q], num: engineFloat(f)}, q, nil
	}
	if q, ok := matchInt(s, p); ok {
		text := strings.ReplaceAll(s[p:q], "_", "")
		n, ok := new(big.Int).SetString(text, 0)
		if !ok || !n.IsInt64() {
			return token{}, 0, &UnsupportedError{Line: lx.line(p), Construct: "integer literal " + s[p:q] + " (beyond 64 bits)"}
		}
		return token{kind: tokInt, text: s[p:q], num: strconv.FormatInt(n.Int64(), 10)}, q, nil
	}
	if isNameStart(s[p]) {
		q := p + 1
		for q < len(s) && (isNameStart(s[q]) || isDigit(s[q])) {
			q++
		}
		if q < len(s) && s[q] >= utf8.RuneSelf {
			return token{}, 0, &UnsupportedError{Line: lx.line(p), Construct: "a non-ASCII name"}
		}
		return token{kind: tokName, text: s[p:q]}, q, nil
	}
	if s[p] == '\'' || s[p] == '"' {
		return lx.stringToken(p)
	}
	for _, op := range operators {
		if strings.HasPrefix(s[p:], op) {
			return token{kind: tokOp, text: op}, p + len(op), nil
		}
	}
	if s[p] >= utf8.RuneSelf {
		return token{}, 0, &UnsupportedError{Line: lx.line(p), Construct: "a non-ASCII name"}
	}
	return token{}, 0, lx.errorf(p, "unexpected char %q", s[p])
}

// digits matches (\d+_)*\d+ at p, where s[p] is a digit.
func digits(s string, p int) int {
	q := p
	for q < len(s) && isDigit(s[q]) {
		q++
	}
	for q+1 < len(s) && s[q] == '_' && isDigit(s[q+1]) {
		q++
		for q < len(s) && isDigit(s[q]) {
			q++
		}
	}
	return q
}

// matchFloat matches Jinja's float_re,
// (?<!\.)(\d+_)*\d+((\.(\d+_)*\d+)?e[+\-]?(\d+_)*\d+|\.(\d+_)*\d+), at p.
func matchFloat(s string, p int) (int, bool) {
	if p > 0 && s[p-1] == '.' {
		return 0, false
	}
	if p >= len(s) || !isDigit(s[p]) {
		return 0, false
	}
	q := digits(s, p)
	frac := false
	if q+1 < len(s) && s[q] == '.' && isDigit(s[q+1]) {
		q = digits(s, q+1)
		frac = true
	}
	if q < len(s) && (s[q] == 'e' || s[q] == 'E') {
		r := q + 1
		if r < len(s) && (s[r] == '+' || s[r] == '-') {
			r++
		}
		if r < len(s) && isDigit(s[r]) {
			return digits(s, r), true
		}
	}
	return q, frac
}

// matchInt matches Jinja's integer_re,
// 0b(_?[01])+|0o(_?[0-7])+|0x(_?[0-9a-f])+|[1-9](_?\d)*|0(_?0)*, at p.
func matchInt(s string, p int) (int, bool) {
	if p >= len(s) || !isDigit(s[p]) {
		return 0, false
	}
	run := func(q int, ok func(byte) bool) int {
		for {
			r := q
			if r < len(s) && s[r] == '_' {
				r++
			}
			if r < len(s) && ok(s[r]) {
				q = r + 1
				continue
			}
			return q
		}
	}
	if s[p] == '0' && p+1 < len(s) {
		var ok func(byte) bool
		switch s[p+1] | 0x20 {
		case 'b':
			ok = func(c byte) bool { return c == '0' || c == '1' }
		case 'o':
			ok = func(c byte) bool { return c >= '0' && c <= '7' }
		case 'x':
			ok = func(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }
		}
		if ok != nil {
			if q := run(p+2, ok); q > p+2 {
				return q, true
			}
		}
	}
	if s[p] == '0' {
		return run(p+1, func(c byte) bool { return c == '0' }), true
	}
	return run(p+1, isDigit), true
}

// engineFloat writes f so that the engine's lexer, which wants digits, a
// point and digits, reads back the same float64.
func engineFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// stringToken reads a quoted string and decodes it as Jinja does (Python's
// unicode-escape codec after newline normalisation).
func (lx *lexer) stringToken(p int) (token, int, error) {
	s := lx.src
	quote := s[p]
	var b strings.Builder
	q := p + 1
	for {
		if q >= len(s) {
			return token{}, 0, lx.errorf(p, "unterminated string")
		}
		c := s[q]
		if c == quote {
			return token{kind: tokString, text: b.String()}, q + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			q++
			continue
		}
		if q+1 >= len(s) {
			return token{}, 0, lx.errorf(p, "unterminated string")
		}
		if s[q+1] >= utf8.RuneSelf {
			return token{}, 0, &UnsupportedError{Line: lx.line(p), Construct: "a backslash before a non-ASCII character in a string"}
		}
		e := s[q+1]
		q += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for n := 0; n < 2 && q < len(s) && s[q] >= '0' && s[q] <= '7'; n++ {
				v = v*8 + int(s[q]-'0')
				q++
			}
			b.WriteRune(rune(v))
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if q+n > len(s) {
				return token{}, 0, lx.errorf(p, "truncated \\%c escape", e)
			}
			v, err := strconv.ParseUint(s[q:q+n], 16, 32)
			if err != nil || v > unicode.MaxRune || (v >= 0xd800 && v < 0xe000) {
				return token{}, 0, lx.errorf(p, "bad \\%c escape", e)
			}
			b.WriteRune(rune(v))
			q += n
		case 'N':
			return token{}, 0, &UnsupportedError{Line: lx.line(p), Construct: `\N{...} escape in a string`}
		default:
			// Python keeps an unknown escape as written.
			b.WriteByte('\\')
			q--
		}
	}
}
