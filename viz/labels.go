package viz

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxLabels is the most tick labels drawn on one axis of a heatmap.
const DefaultMaxLabels = 40

// maxLabelRunes is how long a label may be before it is cut with "…".
const maxLabelRunes = 16

// Window selects a block of a [T,S] matrix: query rows [Row0, Row1) and key
// columns [Col0, Col1). A zero Row1 (Col1) means "to the last row
// (column)", so the zero Window is the whole matrix.
type Window struct {
	Row0, Row1 int
	Col0, Col1 int
}

// resolve checks w against a [T,S] matrix and fills in the open ends.
func (w Window) resolve(T, S int) (Window, error) {
	if w.Row1 == 0 {
		w.Row1 = T
	}
	if w.Col1 == 0 {
		w.Col1 = S
	}
	if w.Row0 < 0 || w.Row0 >= w.Row1 || w.Row1 > T {
		return w, fmt.Errorf("viz: window rows [%d,%d) do not fit %d query rows", w.Row0, w.Row1, T)
	}
	if w.Col0 < 0 || w.Col0 >= w.Col1 || w.Col1 > S {
		return w, fmt.Errorf("viz: window columns [%d,%d) do not fit %d key columns", w.Col0, w.Col1, S)
	}
	return w, nil
}

func (w Window) rows() int { return w.Row1 - w.Row0 }
func (w Window) cols() int { return w.Col1 - w.Col0 }

// ThinLabels returns at most max indices out of [0, n), evenly spaced and
// starting at 0: every ⌈n/max⌉-th position. max < 1 means DefaultMaxLabels.
func ThinLabels(n, max int) []int {
	if max < 1 {
		max = DefaultMaxLabels
	}
	if n <= 0 {
		return nil
	}
	step := (n + max - 1) / max
	out := make([]int, 0, (n+step-1)/step)
	for i := 0; i < n; i += step {
		out = append(out, i)
	}
	return out
}

// DisplayLabel is how a token is shown: invalid UTF-8 becomes U+FFFD,
// control characters are written as Go escapes (\n, \t, \x00), a token of
// only white space is quoted so that it stays visible, and a label longer
// than 16 characters is cut with "…".
func DisplayLabel(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if strings.TrimSpace(out) == "" {
		out = strconv.Quote(out)
	}
	if utf8.RuneCountInString(out) > maxLabelRunes {
		r := []rune(out)
		out = string(r[:maxLabelRunes-1]) + "…"
	}
	return out
}

// labelsFor returns the display labels of positions [lo, hi): the given
// labels, or the position numbers when labels is nil.
func labelsFor(labels []string, n, lo, hi int, what string) ([]string, error) {
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("viz: %d %s labels for %d %s positions", len(labels), what, n, what)
	}
	out := make([]string, 0, hi-lo)
	for i := lo; i < hi; i++ {
		if labels == nil {
			out = append(out, strconv.Itoa(i))
		} else {
			out = append(out, DisplayLabel(labels[i]))
		}
	}
	return out, nil
}
