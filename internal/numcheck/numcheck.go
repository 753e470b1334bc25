package numcheck

import (
	"fmt"
	"math"
	"strings"
)

// Float is the element type of a result or a reference.
type Float interface{ ~float32 | ~float64 }

// TB is the part of testing.TB the checks use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// HalfULP is 2^-24, half a float32 ulp relative: the error of a float64
// reference once rounded to float32, which no float32 answer can beat.
const HalfULP = 0x1p-24

// Errors are the errors of a result against its reference.
type Errors struct {
	Rel    float64 // ‖got − ref‖₂/‖ref‖₂, or ‖got − ref‖₂ when ref is all zero
	MaxAbs float64 // max |got − ref|
	MaxRef float64 // max |ref|
	// Bad says why got cannot be compared with ref (a NaN or an infinity
	// in either, different lengths); Rel and MaxAbs are then +Inf.
	Bad string
}

func (e Errors) String() string {
	if e.Bad != "" {
		return e.Bad
	}
	return fmt.Sprintf("relative error %.3g, max abs error %.3g", e.Rel, e.MaxAbs)
}

// Measure returns the errors of got against ref. A NaN or an infinity in
// got or in ref, a length mismatch, or squares that overflow float64 give
// +Inf errors and say so in Bad: such a result fails every bound.
func Measure[G, R Float](got []G, ref []R) Errors {
	bad := func(format string, args ...any) Errors {
		inf := math.Inf(1)
		return Errors{Rel: inf, MaxAbs: inf, MaxRef: math.NaN(), Bad: fmt.Sprintf(format, args...)}
	}
	if len(got) != len(ref) {
		return bad("%d values, the reference has %d", len(got), len(ref))
	}
	var num, den, maxAbs, maxRef float64
	for i := range ref {
		g, r := float64(got[i]), float64(ref[i])
		if !finite(g) {
			return bad("value %d is %v", i, g)
		}
		if !finite(r) {
			return bad("reference value %d is %v", i, r)
		}
		d := g - r
		num += d * d
		den += r * r
		maxAbs = max(maxAbs, math.Abs(d))
		maxRef = max(maxRef, math.Abs(r))
	}
	if !finite(num) || !finite(den) {
		return bad("squares overflow float64 (max |reference| %.3g, max abs error %.3g)", maxRef, maxAbs)
	}
	if den == 0 {
		return Errors{Rel: math.Sqrt(num), MaxAbs: maxAbs, MaxRef: maxRef}
	}
	return Errors{Rel: math.Sqrt(num / den), MaxAbs: maxAbs, MaxRef: maxRef}
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Exceeds reports whether x is not within tol: !(x <= tol), so a NaN x (or
// tol) exceeds, where x > tol would let it pass.
func Exceeds(x, tol float64) bool { return !(x <= tol) }

// Below reports whether x is not at least min: !(x >= min), so a NaN x is
// below, where x < min would let it pass.
func Below(x, min float64) bool { return !(x >= min) }

// Worse reports whether e should replace worst in a running maximum: e is
// larger, or e is NaN. A NaN worst is never replaced, so a NaN seen once
// stays the worst (where "if e > worst" skips it).
func Worse(e, worst float64) bool { return !math.IsNaN(worst) && !(e <= worst) }

// Bound is what a result's errors are held to.
type Bound struct {
	Rel    float64 // on Errors.Rel; +Inf: not bounded
	MaxAbs float64 // on Errors.MaxAbs; +Inf: not bounded
	// RelRule and AbsRule say how the bounds were made, for messages
	// ("2×PyTorch's 1.2e-07 + 2^-24"); empty for a plain tolerance.
	RelRule, AbsRule string
	// Bad says why no bound could be made (PyTorch's own errors are not
	// finite); every result then fails.
	Bad string
}

// Tol bounds the relative error by rel, and not the max abs error.
func Tol(rel float64) Bound { return Bound{Rel: rel, MaxAbs: math.Inf(1)} }

// Golden is the project's bound from PyTorch float32's errors torch on the
// same case against the same reference: relative error at most
// 2·torch.Rel + 2^-24, max abs error at most 4·torch.MaxAbs +
// 2^-24·torch.MaxRef. torch must be finite; else the bound is Bad.
func Golden(torch Errors) Bound {
	b := GoldenRel(torch, HalfULP)
	b.MaxAbs = 4*torch.MaxAbs + HalfULP*torch.MaxRef
	b.AbsRule = fmt.Sprintf("4×PyTorch's %.3g + 2^-24×%.3g", torch.MaxAbs, torch.MaxRef)
	if b.Bad == "" && !finite(b.MaxAbs) {
		b.Bad = fmt.Sprintf("PyTorch's max abs error %v, max |reference| %v", torch.MaxAbs, torch.MaxRef)
	}
	return b
}

// GoldenRel is the relative half of Golden with another slack: relative
// error at most 2·torch.Rel + slack; the max abs error is not bounded.
func GoldenRel(torch Errors, slack float64) Bound {
	s := fmt.Sprintf("%.3g", slack)
	if slack == HalfULP {
		s = "2^-24"
	}
	b := Tol(2*torch.Rel + slack)
	b.RelRule = fmt.Sprintf("2×PyTorch's %.3g + %s", torch.Rel, s)
	switch {
	case torch.Bad != "":
		b.Bad = "PyTorch's result: " + torch.Bad
	case !finite(b.Rel):
		b.Bad = fmt.Sprintf("PyTorch's relative error %v", torch.Rel)
	}
	return b
}

// problems lists, as messages naming what, each way e is not within b.
func problems(what string, e Errors, b Bound) []string {
	if e.Bad != "" {
		return []string{what + ": " + e.Bad}
	}
	if b.Bad != "" {
		return []string{what + ": no bound: " + b.Bad}
	}
	var p []string
	if Exceeds(e.Rel, b.Rel) {
		p = append(p, fmt.Sprintf("%s: relative error %.3g (max abs %.3g) exceeds %.3g%s", what, e.Rel, e.MaxAbs, b.Rel, rule(b.RelRule)))
	}
	if Exceeds(e.MaxAbs, b.MaxAbs) {
		p = append(p, fmt.Sprintf("%s: max abs error %.3g exceeds %.3g%s", what, e.MaxAbs, b.MaxAbs, rule(b.AbsRule)))
	}
	return p
}

func rule(r string) string {
	if r == "" {
		return ""
	}
	return " = " + r
}

// Check holds e to b, reporting through t.Errorf each error not within its
// bound (or why there is no comparison), and returns whether e passed.
func Check(t TB, what string, e Errors, b Bound) bool {
	t.Helper()
	p := problems(what, e, b)
	for _, m := range p {
		t.Errorf("%s", m)
	}
	return len(p) == 0
}

// Require is Check that stops the test (t.Fatalf) on failure.
func Require(t TB, what string, e Errors, b Bound) {
	t.Helper()
	if p := problems(what, e, b); len(p) > 0 {
		t.Fatalf("%s", strings.Join(p, "; "))
	}
}

// CheckRel measures got against ref and checks the relative error is within
// tol (Check with Tol(tol)).
func CheckRel[G, R Float](t TB, what string, got []G, ref []R, tol float64) bool {
	t.Helper()
	return Check(t, what, Measure(got, ref), Tol(tol))
}

// RequireRel is CheckRel that stops the test on failure.
func RequireRel[G, R Float](t TB, what string, got []G, ref []R, tol float64) {
	t.Helper()
	Require(t, what, Measure(got, ref), Tol(tol))
}
