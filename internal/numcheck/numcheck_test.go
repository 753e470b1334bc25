package numcheck

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// fakeTB records what the checks report instead of failing the test.
type fakeTB struct{ errors, fatals []string }

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
}

var (
	nan  = math.NaN()
	inf  = math.Inf(1)
	nan3 = float32(math.NaN())
	inf3 = float32(math.Inf(1))
)

// Every comparison must fail when it cannot be made: NaN or Inf in the
// result or in the reference, a length mismatch, an error value that is
// NaN; and pass on equal data.
func TestChecksFailUnlessComparable(t *testing.T) {
	ref := []float64{1, -2, 3, 0.5}
	cases := []struct {
		name     string
		e        Errors
		b        Bound
		pass     bool
		contains string // in the message when it fails
	}{
		{"equal float32", Measure([]float32{1, -2, 3, 0.5}, ref), Tol(0), true, ""},
		{"equal float64", Measure(ref, ref), Tol(0), true, ""},
		{"equal, float32 reference", Measure([]float32{1, 2}, []float32{1, 2}), Tol(0), true, ""},
		{"both zero", Measure([]float32{0, 0}, []float64{0, 0}), Tol(0), true, ""},
		{"both empty", Measure([]float32{}, []float64{}), Tol(0), true, ""},
		{"within tol", Measure([]float64{1, -2, 3, 0.5 + 1e-7}, ref), Tol(1e-7), true, ""},
		{"above tol", Measure([]float64{1, -2, 3, 0.5 + 1e-5}, ref), Tol(1e-7), false, "relative error"},
		{"zero reference, nonzero result", Measure([]float32{1e-3, 0}, []float64{0, 0}), Tol(1e-6), false, "relative error 0.001"},
		{"NaN in the result", Measure([]float32{1, -2, nan3, 0.5}, ref), Tol(1), false, "value 2 is NaN"},
		{"NaN in the reference", Measure([]float32{1, -2, 3, 0.5}, []float64{1, nan, 3, 0.5}), Tol(1), false, "reference value 1 is NaN"},
		{"+Inf in the result", Measure([]float32{1, -2, 3, inf3}, ref), Tol(1), false, "value 3 is +Inf"},
		{"-Inf in the reference", Measure([]float64{1, -2, 3, 0.5}, []float64{math.Inf(-1), -2, 3, 0.5}), Tol(1), false, "reference value 0 is -Inf"},
		{"result longer", Measure([]float32{1, -2, 3, 0.5, 0}, ref), Tol(1), false, "5 values, the reference has 4"},
		{"result shorter", Measure([]float32{1, -2, 3}, ref), Tol(1), false, "3 values, the reference has 4"},
		{"squares overflow", Measure([]float64{1e200}, []float64{1e200}), Tol(1), false, "overflow"},
		{"NaN relative error", Errors{Rel: nan}, Tol(1), false, "relative error NaN"},
		{"NaN max abs error", Errors{MaxAbs: nan}, Bound{Rel: 1, MaxAbs: 1}, false, "max abs error NaN"},
		{"+Inf relative error", Errors{Rel: inf}, Tol(1), false, "relative error +Inf"},
		{"NaN tolerance", Errors{}, Tol(nan), false, "exceeds NaN"},
		{"max abs above its bound", Errors{Rel: 0, MaxAbs: 2}, Bound{Rel: 1, MaxAbs: 1}, false, "max abs error 2 exceeds 1"},
		{"max abs not bounded", Errors{Rel: 0, MaxAbs: 1e300}, Tol(1), true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f fakeTB
			ok := Check(&f, "out", c.e, c.b)
			if ok != c.pass || ok != (len(f.errors) == 0) {
				t.Fatalf("Check = %v with errors %q, want pass = %v (errors %+v)", ok, f.errors, c.pass, c.e)
			}
			if !c.pass && !strings.Contains(strings.Join(f.errors, "\n"), c.contains) {
				t.Errorf("messages %q do not say %q", f.errors, c.contains)
			}
			if !c.pass && !strings.HasPrefix(f.errors[0], "out: ") {
				t.Errorf("message %q does not name what was checked", f.errors[0])
			}
			var g fakeTB
			Require(&g, "out", c.e, c.b)
			if (len(g.fatals) == 0) != c.pass || len(g.errors) != 0 {
				t.Errorf("Require: fatals %q, errors %q, want pass = %v", g.fatals, g.errors, c.pass)
			}
			// A result that cannot be compared gives errors that fail
			// even a check written the NaN-blind way.
			if c.e.Bad != "" && !(c.e.Rel > 1e300 && c.e.MaxAbs > 1e300) {
				t.Errorf("errors %+v of a bad comparison are not +Inf", c.e)
			}
		})
	}
}

func TestCheckRel(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []float32
		pass bool
	}{
		{"equal", []float32{1, 2, 3}, true},
		{"NaN", []float32{1, nan3, 3}, false},
		{"Inf", []float32{1, 2, -inf3}, false},
		{"short", []float32{1, 2}, false},
		{"off", []float32{1, 2, 3.1}, false},
	} {
		var f, g fakeTB
		if ok := CheckRel(&f, c.name, c.got, []float64{1, 2, 3}, 1e-6); ok != c.pass || (len(f.errors) == 0) != c.pass {
			t.Errorf("CheckRel %s = %v (errors %q), want %v", c.name, ok, f.errors, c.pass)
		}
		RequireRel(&g, c.name, c.got, []float64{1, 2, 3}, 1e-6)
		if (len(g.fatals) == 0) != c.pass {
			t.Errorf("RequireRel %s: fatals %q, want pass = %v", c.name, g.fatals, c.pass)
		}
	}
}

func TestExceedsBelowWorse(t *testing.T) {
	for _, c := range []struct {
		x, tol float64
		want   bool
	}{{1, 2, false}, {2, 2, false}, {3, 2, true}, {nan, 2, true}, {inf, 2, true}, {1, nan, true}, {inf, inf, false}, {-inf, 0, false}} {
		if got := Exceeds(c.x, c.tol); got != c.want {
			t.Errorf("Exceeds(%v, %v) = %v, want %v", c.x, c.tol, got, c.want)
		}
	}
	for _, c := range []struct {
		x, min float64
		want   bool
	}{{3, 2, false}, {2, 2, false}, {1, 2, true}, {nan, 2, true}, {-inf, 2, true}, {3, nan, true}, {inf, 2, false}} {
		if got := Below(c.x, c.min); got != c.want {
			t.Errorf("Below(%v, %v) = %v, want %v", c.x, c.min, got, c.want)
		}
	}
	worst := 0.0
	for _, e := range []float64{1, 3, nan, 2, 5, inf} {
		if Worse(e, worst) {
			worst = e
		}
	}
	if !math.IsNaN(worst) {
		t.Errorf("running maximum over a NaN is %v, want NaN", worst)
	}
	worst = 0
	for _, e := range []float64{1, 3, 2} {
		if Worse(e, worst) {
			worst = e
		}
	}
	if worst != 3 {
		t.Errorf("running maximum %v, want 3", worst)
	}
}

// The golden rule exactly: relative error ≤ 2×PyTorch's + 2^-24 and max
// abs ≤ 4×PyTorch's + 2^-24×max|ref|, both ends included; PyTorch errors
// that are not finite give no bound, so every result fails.
func TestGolden(t *testing.T) {
	torch := Errors{Rel: 1e-7, MaxAbs: 2e-6, MaxRef: 8}
	b := Golden(torch)
	if b.Rel != 2*1e-7+0x1p-24 || b.MaxAbs != 4*2e-6+0x1p-24*8 || b.Bad != "" {
		t.Fatalf("Golden(%+v) = %+v", torch, b)
	}
	if r := GoldenRel(torch, 1e-6); r.Rel != 2*1e-7+1e-6 || !math.IsInf(r.MaxAbs, 1) || r.Bad != "" {
		t.Fatalf("GoldenRel = %+v", r)
	}
	cases := []struct {
		name  string
		ours  Errors
		torch Errors
		pass  bool
	}{
		{"at the bound", Errors{Rel: 2*1e-7 + 0x1p-24, MaxAbs: 4*2e-6 + 0x1p-24*8}, torch, true},
		{"PyTorch exact, attn half an ulp", Errors{Rel: 0x1p-24, MaxAbs: 0x1p-24 * 8}, Errors{MaxRef: 8}, true},
		{"rel above", Errors{Rel: math.Nextafter(2*1e-7+0x1p-24, 1), MaxAbs: 0}, torch, false},
		{"max abs above", Errors{Rel: 0, MaxAbs: math.Nextafter(4*2e-6+0x1p-24*8, 1)}, torch, false},
		{"attn NaN", Measure([]float32{nan3}, []float64{1}), torch, false},
		{"attn error NaN", Errors{Rel: nan}, torch, false},
		{"PyTorch NaN", Errors{}, Measure([]float32{nan3}, []float64{1}), false},
		{"PyTorch error NaN", Errors{}, Errors{Rel: nan}, false},
		{"PyTorch error +Inf", Errors{}, Errors{Rel: inf}, false},
		{"PyTorch max abs +Inf", Errors{}, Errors{MaxAbs: inf}, false},
	}
	for _, c := range cases {
		var f fakeTB
		var tab Table
		if ok := tab.Check(&f, Row{Case: c.name, Ours: c.ours, Torch: c.torch, Bound: Golden(c.torch)}); ok != c.pass || (len(f.errors) == 0) != c.pass {
			t.Errorf("%s: Check = %v (errors %q), want %v", c.name, ok, f.errors, c.pass)
		}
		if tab.Len() != 1 || strings.Contains(tab.String(), "FAIL") == c.pass {
			t.Errorf("%s: table does not show the result:\n%s", c.name, tab.String())
		}
	}
}

func TestTable(t *testing.T) {
	var tab Table
	var f fakeTB
	tab.Check(&f, Row{Case: "a/attn_output", Ours: Errors{Rel: 1e-7, MaxAbs: 1e-6}, Torch: Errors{Rel: 2e-7, MaxAbs: 1e-6, MaxRef: 1}, Bound: Golden(Errors{Rel: 2e-7, MaxAbs: 1e-6, MaxRef: 1})})
	tab.Check(&f, Row{Case: "longer case name", Ours: Errors{Rel: 3e-5}, Torch: Errors{Rel: 2e-7}, Bound: Tol(1e-4)})
	tab.Check(&f, Row{Case: "broken", Ours: Measure([]float32{nan3}, []float64{1}), Bound: Tol(1)})
	if len(f.errors) != 1 {
		t.Fatalf("errors %q, want one (the NaN row)", f.errors)
	}
	lines := strings.Split(strings.TrimSuffix(tab.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want a header and 3 rows:\n%s", len(lines), tab.String())
	}
	for _, want := range []string{"2.00e-07", "1.00e-04", "FAIL: value 0 is NaN"} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table has no %q:\n%s", want, tab.String())
		}
	}
	// Aligned: every number column ends at the same place on every line.
	end := strings.Index(lines[0], "attn rel") + len("attn rel")
	for _, l := range lines[1:3] {
		if l[end-1] == ' ' || l[end] != ' ' {
			t.Errorf("column not aligned:\n%s\n%s", lines[0], l)
		}
	}
	if !strings.HasPrefix(lines[2], "longer case name  ") {
		t.Errorf("case names not left-aligned: %q", lines[2])
	}
	t.Logf("\n%s", tab.String())
}

func TestMargin(t *testing.T) {
	for _, c := range []struct {
		r    Row
		want float64
	}{
		{Row{Ours: Errors{Rel: 1, MaxAbs: 1}, Bound: Bound{Rel: 2, MaxAbs: 4}}, 0.5},
		{Row{Ours: Errors{Rel: 1, MaxAbs: 3}, Bound: Bound{Rel: 2, MaxAbs: 2}}, 1.5},
		{Row{Ours: Errors{Rel: 1, MaxAbs: 3}, Bound: Tol(4)}, 0.25},
		{Row{Ours: Errors{}, Bound: Bound{}}, 0},
		{Row{Ours: Errors{Rel: 1}, Bound: Bound{}}, inf},
		{Row{Ours: Errors{Rel: nan}, Bound: Tol(1)}, nan},
		{Row{Ours: Errors{Bad: "x"}, Bound: Tol(1)}, inf},
	} {
		if got := c.r.Margin(); got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("Margin(%+v) = %v, want %v", c.r, got, c.want)
		}
	}
}
