package chat

import (
	"fmt"
	"strconv"
	"strings"
)

// Names the translated template uses for our functions and filters. A
// template or a variable that uses the prefix itself is refused.
const (
	reserved   = "__chat_"
	fnStr      = reserved + "str"   // Python's str() of a printed value
	fnText     = reserved + "text"  // literal text
	fnTick     = reserved + "tick"  // one loop iteration
	fnEnter    = reserved + "enter" // a macro call begins
	fnLeave    = reserved + "leave" // a macro call ends
	filterPref = reserved + "f_"
)

// ownFilters are the filters whose engine versions differ from Jinja's (or,
// for tojson, from transformers' override); the translated template calls
// ours instead.
var ownFilters = map[string]bool{
	"tojson": true, "string": true, "join": true, "first": true, "last": true, "list": true, "trim": true,
}

// mutating are the methods Jinja's immutable sandbox refuses to call.
var mutating = map[string]bool{
	"append": true, "extend": true, "insert": true, "pop": true, "popitem": true, "remove": true,
	"clear": true, "update": true, "setdefault": true, "sort": true, "reverse": true, "add": true,
	"discard": true, "difference_update": true, "intersection_update": true,
	"symmetric_difference_update": true,
}

// translate turns a chat template into the template the engine compiles.
func translate(src string) (string, error) {
	pieces, err := lexTemplate(src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	depth := 0
	for _, p := range pieces {
		switch p.kind {
		case pieceText:
			b.WriteString("{{ " + fnText + "(")
			writeString(&b, p.text)
			b.WriteString(") }}")
		case pieceExpr:
			if len(p.toks) == 0 {
				return "", &SyntaxError{Line: p.line, Msg: "expected an expression in {{ }}"}
			}
			if err := check(p); err != nil {
				return "", err
			}
			if topLevelComma(p.toks) {
				return "", &UnsupportedError{Line: p.line, Construct: "printing a tuple"}
			}
			b.WriteString("{{ " + fnStr + "(")
			writeTokens(&b, p.toks)
			b.WriteString(") }}")
		case pieceStmt:
			if len(p.toks) == 0 || p.toks[0].kind != tokName {
				return "", &SyntaxError{Line: p.line, Msg: "expected a statement name in {% %}"}
			}
			if err := check(p); err != nil {
				return "", err
			}
			keyword := p.toks[0].text
			switch {
			case blockOpeners[keyword] || keyword == "set" && !hasOp(p.toks, "="):
				depth++
				if depth > maxBlockDepth {
					return "", &UnsupportedError{Line: p.line, Construct: fmt.Sprintf("blocks nested more than %d deep", maxBlockDepth)}
				}
			case strings.HasPrefix(keyword, "end"):
				depth--
			}
			if keyword == "endmacro" {
				b.WriteString("{{ " + fnLeave + "() }}")
			}
			b.WriteString("{% ")
			writeTokens(&b, p.toks)
			b.WriteString(" %}")
			switch keyword {
			case "for":
				b.WriteString("{{ " + fnTick + "() }}")
			case "macro":
				b.WriteString("{{ " + fnEnter + "() }}")
			}
		}
	}
	return b.String(), nil
}

// blockOpeners are the statements that open a block closed by an end tag.
var blockOpeners = map[string]bool{
	"for": true, "if": true, "macro": true, "call": true, "filter": true, "block": true, "generation": true,
}

// maxBlockDepth bounds nested blocks, as maxNesting does brackets.
const maxBlockDepth = 100

func hasOp(toks []token, op string) bool {
	for i := range toks {
		if isOp(toks, i, op) {
			return true
		}
	}
	return false
}

// writeString writes s as a string literal the engine's lexer decodes back
// to s: it knows only the escapes \\, \', \", \n and \t, so only the first
// two are used and every other byte is written as it is.
func writeString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '\'':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
}

// writeTokens writes tokens with a space between them, but none around a
// dot: the engine parses the target of {% set ns.x = %} as text.
func writeTokens(b *strings.Builder, toks []token) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i > 0 && !isOp(toks, i, ".") && !isOp(toks, i-1, ".") {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tokString:
			// Jinja joins adjacent string literals into one.
			s := t.text
			for i+1 < len(toks) && toks[i+1].kind == tokString {
				i++
				s += toks[i].text
			}
			writeString(b, s)
		case tokInt, tokFloat:
			b.WriteString(t.num)
		case tokName:
			if i > 0 && ownFilters[t.text] && isFilterPosition(toks, i) {
				b.WriteString(filterPref + t.text)
			} else {
				b.WriteString(t.text)
			}
		default:
			b.WriteString(t.text)
		}
	}
}

// isFilterPosition reports whether the name at i names a filter: it follows
// a | or is the name of a {% filter %} block.
func isFilterPosition(toks []token, i int) bool {
	prev := toks[i-1]
	if prev.kind == tokOp && prev.text == "|" {
		return true
	}
	return i == 1 && prev.kind == tokName && prev.text == "filter"
}

func topLevelComma(toks []token) bool {
	depth := 0
	for _, t := range toks {
		if t.kind != tokOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ",":
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// printsTuple reports whether an expression holds a parenthesised tuple (a
// ( that is no call, with a comma at its own level) outside every call's
// arguments, where it would be printed.
func printsTuple(toks []token) bool {
	type open struct{ tuple, comma, call bool }
	var stack []open
	inCall := func() bool {
		for _, o := range stack[:len(stack)-1] {
			if o.call {
				return true
			}
		}
		return false
	}
	for i, t := range toks {
		if t.kind != tokOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			call := i > 0 && (toks[i-1].kind == tokName || isOp(toks, i-1, ")", "]"))
			stack = append(stack, open{tuple: t.text == "(" && !call, call: call})
		case ")", "]", "}":
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				if top.tuple && top.comma && !inCall() {
					return true
				}
				stack = stack[:len(stack)-1]
			}
		case ",":
			if len(stack) > 0 {
				stack[len(stack)-1].comma = true
			}
		}
	}
	return false
}

// callArgs counts the top-level arguments of the call whose ( is at i.
func callArgs(toks []token, i int) int {
	depth, n := 0, 0
	for j := i; j < len(toks); j++ {
		t := toks[j]
		if t.kind == tokOp {
			switch t.text {
			case "(", "[", "{":
				depth++
				continue
			case ")", "]", "}":
				depth--
				if depth == 0 {
					return n
				}
				continue
			case ",":
				if depth == 1 {
					n++
				}
				continue
			}
		}
		if depth == 1 && n == 0 {
			n = 1
		}
	}
	return n
}

func isOp(toks []token, i int, ops ...string) bool {
	if i < 0 || i >= len(toks) || toks[i].kind != tokOp {
		return false
	}
	for _, op := range ops {
		if toks[i].text == op {
			return true
		}
	}
	return false
}

// listLiterals marks, for each ] and [ token, whether it closes or opens a
// list literal rather than a subscript.
func listLiterals(toks []token) map[int]bool {
	lit := map[int]bool{}
	var stack []int
	for i, t := range toks {
		if t.kind != tokOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			if t.text == "[" {
				subscript := i > 0 && (toks[i-1].kind == tokName || toks[i-1].kind == tokString || isOp(toks, i-1, ")", "]", "}"))
				if !subscript {
					lit[i] = true
				}
			}
			stack = append(stack, i)
		case ")", "]", "}":
			if len(stack) > 0 {
				open := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if lit[open] {
					lit[i] = true
				}
			}
		}
	}
	return lit
}

// checkStatement refuses statement forms the engine's statement parsers,
// which work on the statement's text, would read differently.
func checkStatement(p piece) error {
	toks := p.toks
	refuse := func(format string, args ...any) error {
		return &UnsupportedError{Line: p.line, Construct: fmt.Sprintf(format, args...)}
	}
	switch toks[0].text {
	case "set":
		eq := -1
		for i, t := range toks {
			if t.kind == tokOp && t.text == "=" {
				eq = i
				break
			}
		}
		target := toks[1:]
		if eq >= 0 {
			target = toks[1:eq]
		}
		ok := len(target) == 1 && target[0].kind == tokName ||
			len(target) == 3 && target[0].kind == tokName && isOp(target, 1, ".") && target[2].kind == tokName
		if !ok {
			return refuse("this form of {%% set %%} (only name = and ns.name = and a block set of a name)")
		}
		if len(target) == 3 && eq >= 0 {
			for j := eq + 1; j < len(toks); j++ {
				if toks[j].kind == tokName && toks[j].text == target[0].text && !isOp(toks, j+1, ".", "[") {
					return refuse("a namespace attribute set from the namespace itself")
				}
			}
		}
	case "for":
		for _, t := range toks[1:] {
			if t.kind == tokName && t.text == "in" {
				break
			}
			if t.kind != tokName && !(t.kind == tokOp && t.text == ",") {
				return refuse("this form of loop target in {%% for %%}")
			}
		}
	case "macro":
		if len(toks) < 3 || toks[1].kind != tokName || !isOp(toks, 2, "(") {
			return refuse("{%% macro %%} without a name and a parameter list")
		}
		for _, t := range toks[2:] {
			if t.kind == tokString && strings.ContainsAny(t.text, ",()") {
				return refuse("a macro default holding a comma or a parenthesis")
			}
			if t.kind == tokOp && strings.Contains("[]{}", t.text) {
				return refuse("a macro default that is a list or a dict")
			}
		}
		{
			depth := 0
			for _, t := range toks[2:] {
				if isOp([]token{t}, 0, "(") {
					depth++
				} else if isOp([]token{t}, 0, ")") {
					depth--
				} else if depth > 1 {
					return refuse("a macro default with a call in it")
				}
			}
		}
	}
	return nil
}

// check refuses the constructs the engine renders differently from Jinja
// (or that Jinja's sandbox refuses), naming the construct.
func check(p piece) error {
	toks := p.toks
	refuse := func(format string, args ...any) error {
		return &UnsupportedError{Line: p.line, Construct: fmt.Sprintf(format, args...)}
	}
	if p.kind == pieceStmt {
		if err := checkStatement(p); err != nil {
			return err
		}
	}
	lit := listLiterals(toks)
	if p.kind == pieceExpr && printsTuple(toks) {
		return refuse("printing a tuple (the engine has lists only)")
	}
	unary, product := 0, int64(1)
	for i, t := range toks {
		if t.kind == tokName && t.text == "not" || isOp(toks, i, "-", "+") && (i == 0 || toks[i-1].kind == tokOp && !isOp(toks, i-1, ")", "]", "}")) {
			unary++
			if unary > maxNesting {
				return refuse("more than %d unary operators in a row", maxNesting)
			}
		} else {
			unary = 0
		}
		if t.kind == tokInt && (isOp(toks, i-1, "*") || isOp(toks, i+1, "*")) {
			n, _ := strconv.ParseInt(t.num, 10, 64)
			if n < 0 {
				n = -n
			}
			if n > MaxRange || product*max(n, 1) > MaxRange {
				return refuse("repetition by more than %d (a string or list that size is no prompt)", MaxRange)
			}
			product *= max(n, 1)
		}
	}
	for i, t := range toks {
		if t.kind == tokName && strings.HasPrefix(t.text, reserved) {
			return refuse("the name %s (the prefix %s is reserved)", t.text, reserved)
		}
		if t.kind == tokName && i > 0 && isOp(toks, i-1, ".") {
			name := t.text
			call := isOp(toks, i+1, "(")
			switch {
			case strings.HasPrefix(name, "_"):
				return refuse("the attribute .%s (the sandbox refuses names that start with _)", name)
			case call && mutating[name]:
				return refuse(".%s() (the sandbox refuses methods that change a list or dict)", name)
			case call && name == "title":
				return refuse(".title() (the engine's differs from Python's)")
			case call && name == "rsplit":
				return refuse(".rsplit()")
			case call && name == "split" && callArgs(toks, i+1) > 1:
				return refuse(".split() with maxsplit")
			case call && (name == "startswith" || name == "endswith") && isOp(toks, i+2, "(", "["):
				return refuse(".%s() with a tuple of prefixes", name)
			}
		}
		if t.kind == tokName && i > 0 && isOp(toks, i-1, "|") {
			switch {
			case t.text == "round":
				return refuse("the round filter")
			case t.text == "dictsort" && p.kind == pieceExpr:
				return refuse("dictsort in {{ }} (its pairs print as lists, not tuples)")
			case t.text == "map" && isOp(toks, i+1, "(") && i+2 < len(toks) && toks[i+2].kind == tokString:
				return refuse("map() with a filter name")
			}
		}
		if isOp(toks, i, "**") {
			return refuse("the ** operator (the engine's result is always a float)")
		}
		if t.kind == tokName && t.text == "dict" && isOp(toks, i+1, "(") && callArgs(toks, i+1) > 1 {
			return refuse("dict() with more than one argument (the engine loses the order of keywords)")
		}
		if t.kind == tokString && isOp(toks, i+1, "%") {
			return refuse("%%-formatting of a string")
		}
		if isOp(toks, i, "*") {
			if lit[i-1] || lit[i+1] {
				return refuse("list repetition with *")
			}
			if i > 0 && toks[i-1].kind == tokInt && i+1 < len(toks) && toks[i+1].kind == tokString {
				return refuse("int * string")
			}
		}
	}
	return nil
}
