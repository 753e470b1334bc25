package tensor

import (
	"math"
	"strings"
	"testing"
)

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)
	}
	return s
}

func TestConstructorsRejectBadShapes(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"negative", errOf(New(2, -1)), "dimension 1 of shape [2 -1] is negative"},
		{"overflow", errOf(New(1<<20, 1<<20, 1<<20)), "more than"},
		{"too big", errOf(New(MaxElements + 1)), "more than"},
		{"fromslice short", errOf(FromSlice(make([]float32, 5), 2, 3)), "5 values do not fill shape [2 3]"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, c.err, c.want)
		}
	}
	if z, err := New(0, 5); err != nil || z.Len() != 0 {
		t.Fatalf("empty tensor: %v %v", z, err)
	}
	if s, err := New(); err != nil || s.Len() != 1 {
		t.Fatalf("scalar: %v %v", s, err)
	}
}

func errOf(_ *Tensor, err error) error { return err }

// Views index the same memory as the formula Offset + Σ idx·stride says.
func TestViews(t *testing.T) {
	B, T, H, Dh := 2, 3, 4, 5
	x := Must(FromSlice(seq(B*T*H*Dh), B, T, H*Dh))
	r := Must(x.Reshape(B, T, H, Dh))
	p := Must(r.Permute(0, 2, 1, 3)) // [B,H,T,Dh]
	if got := p.Shape(); !SameShape(got, []int{B, H, T, Dh}) {
		t.Fatalf("permuted shape %v", got)
	}
	if p.IsContiguous() || !p.RowContiguous() {
		t.Fatal("head view should be row-contiguous but not contiguous")
	}
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				row := p.Row(b, h, i)
				for e := 0; e < Dh; e++ {
					want := float32(((b*T+i)*H+h)*Dh + e)
					if p.At(b, h, i, e) != want || row[e] != want {
						t.Fatalf("[%d %d %d %d] = %v, want %v", b, h, i, e, p.At(b, h, i, e), want)
					}
				}
			}
		}
	}
	n := Must(p.Narrow(1, 1, 2))
	if n.At(0, 0, 0, 0) != p.At(0, 1, 0, 0) || n.Dim(1) != 2 {
		t.Fatal("narrow")
	}
	s := Must(p.Select(1, 3))
	if s.Rank() != 3 || s.At(1, 2, 4) != p.At(1, 3, 2, 4) {
		t.Fatal("select")
	}
	vals := p.Values()
	if vals[1] != p.At(0, 0, 0, 1) || vals[Dh] != p.At(0, 0, 1, 0) || len(vals) != p.Len() {
		t.Fatal("Values order of a non-contiguous view")
	}
	c := p.Clone()
	c.Set(-1, 0, 0, 0, 0)
	if x.At(0, 0, 0) == -1 || !c.IsContiguous() {
		t.Fatal("Clone must copy")
	}
	p.Set(-2, 1, 1, 1, 1)
	if x.At(1, 1, 1*Dh+1) != -2 {
		t.Fatal("Set through a view must write the shared buffer")
	}
	dst := Must(New(B, H, T, Dh))
	if err := dst.CopyFrom(p); err != nil || dst.At(1, 1, 1, 1) != -2 {
		t.Fatalf("CopyFrom: %v", err)
	}
}

func TestViewErrors(t *testing.T) {
	x := Must(New(2, 3, 4))
	p := Must(x.Permute(2, 0, 1))
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"reshape count", errOf(x.Reshape(5, 5)), "cannot reshape shape [2 3 4] (24 elements) to [5 5]"},
		{"reshape infer", errOf(x.Reshape(-1, 5)), "cannot reshape"},
		{"reshape two -1", errOf(x.Reshape(-1, -1)), "invalid reshape"},
		{"reshape view", errOf(p.Reshape(24)), "non-contiguous"},
		{"permute dup", errOf(x.Permute(0, 0, 1)), "not a permutation"},
		{"permute len", errOf(x.Permute(0, 1)), "has 2 entries"},
		{"narrow range", errOf(x.Narrow(1, 2, 2)), "range [2,4) out of bounds for dimension 1"},
		{"narrow dim", errOf(x.Narrow(3, 0, 1)), "dimension 3 out of range"},
		{"select", errOf(x.Select(0, 2)), "out of bounds"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, c.err, c.want)
		}
	}
	if r := Must(x.Reshape(-1, 4)); !SameShape(r.Shape(), []int{6, 4}) {
		t.Fatalf("inferred %v", r.Shape())
	}
	if err := Must(New(2, 3)).CopyFrom(x); err == nil {
		t.Fatal("CopyFrom across shapes accepted")
	}
}

func TestCheckShapeMessages(t *testing.T) {
	x := Must(New(2, 7, 64))
	if err := CheckShape("query", x, []int{-1, -1, 64}, "B", "T", "D"); err != nil {
		t.Fatal(err)
	}
	err := CheckShape("query", x, []int{2, -1, 32}, "B", "T", "D")
	if err == nil || err.Error() != "query has shape [2 7 64], want [B=2 T D=32]" {
		t.Fatalf("got %v", err)
	}
	err = CheckShape("mask", x, []int{7, 7})
	if err == nil || err.Error() != "mask has shape [2 7 64], want [7 7]" {
		t.Fatalf("got %v", err)
	}
	if err := CheckShape("key", nil, []int{1}); err == nil || err.Error() != "key is missing" {
		t.Fatalf("got %v", err)
	}
}

func TestFirstNonFinite(t *testing.T) {
	x := Must(New(2, 3))
	if _, bad := x.FirstNonFinite(); bad {
		t.Fatal("zeros reported non-finite")
	}
	x.Set(float32(math.Inf(-1)), 1, 2)
	x.Set(float32(math.NaN()), 1, 0)
	idx, bad := x.FirstNonFinite()
	if !bad || !SameShape(idx, []int{1, 0}) {
		t.Fatalf("got %v %v, want [1 0]", idx, bad)
	}
	p := Must(x.Permute(1, 0)) // [3,2]: element (0,1) is x(1,0)
	if idx, _ := p.FirstNonFinite(); !SameShape(idx, []int{0, 1}) {
		t.Fatalf("view: got %v, want [0 1]", idx)
	}
	// A row-contiguous strided view (columns 1..2 of a [3,4] matrix) takes
	// the row-by-row path; the index must be the view's, in row-major order.
	data := make([]float32, 12)
	data[2*4+2] = float32(math.Inf(1)) // view element (2, 1)
	data[3] = float32(math.NaN())      // outside the view
	v := Must(View(data, 1, []int{3, 2}, []int{4, 1}))
	if idx, bad := v.FirstNonFinite(); !bad || !SameShape(idx, []int{2, 1}) {
		t.Fatalf("strided view: got %v %v, want [2 1]", idx, bad)
	}
	if _, bad := Must(View(data, 0, []int{0, 2}, []int{4, 1})).FirstNonFinite(); bad {
		t.Fatal("empty view reported non-finite")
	}
}

func TestView(t *testing.T) {
	data := make([]float32, 24)
	for i := range data {
		data[i] = float32(i)
	}
	// Columns 2..5 of a [4,6] matrix, seen as [1, 2 heads, 4 rows, 2].
	v, err := View(data, 2, []int{1, 2, 4, 2}, []int{24, 2, 6, 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.At(0, 1, 3, 1); got != 23 { // 2 + 1·2 + 3·6 + 1
		t.Errorf("At(0,1,3,1) = %v, want 23", got)
	}
	bad := []struct {
		name           string
		off            int
		shape, strides []int
	}{
		{"rank", 0, []int{2, 2}, []int{2}},
		{"negative offset", -1, []int{2}, []int{1}},
		{"negative stride", 0, []int{2}, []int{-1}},
		{"past end", 1, []int{4, 6}, []int{6, 1}},
		{"huge stride", 0, []int{3, 2}, []int{MaxElements, 1}},
	}
	for _, c := range bad {
		if _, err := View(data, c.off, c.shape, c.strides); err == nil {
			t.Errorf("%s: View accepted shape %v strides %v off %d", c.name, c.shape, c.strides, c.off)
		}
	}
	if _, err := View(nil, 5, []int{0, 3}, []int{3, 1}); err != nil {
		t.Errorf("empty view: %v", err)
	}
}

// Span covers exactly the views whose elements fill one run of storage.
func TestSpan(t *testing.T) {
	buf := make([]float32, 2*5*12)
	for i := range buf {
		buf[i] = float32(i)
	}
	view := func(off int, shape, strides []int) *Tensor {
		v, err := View(buf, off, shape, strides)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// [B=2, T=5, D=12] as heads [B, H=3, T, Dh=4].
	heads := view(0, []int{2, 3, 5, 4}, []int{60, 4, 12, 1})
	for _, c := range []struct {
		name    string
		t       *Tensor
		ok      bool
		lo, len int
	}{
		{"contiguous", view(0, []int{2, 5, 12}, []int{60, 12, 1}), true, 0, 120},
		{"heads of a whole buffer", heads, true, 0, 120},
		{"one batch's heads", view(60, []int{1, 3, 5, 4}, []int{60, 4, 12, 1}), true, 60, 60},
		{"transposed", view(0, []int{12, 10}, []int{1, 12}), true, 0, 120},
		{"size-1 dims with any stride", view(7, []int{1, 3, 1}, []int{99, 1, 5}), true, 7, 3},
		{"q of a packed q|k|v buffer", view(0, []int{2, 1, 5, 4}, []int{60, 4, 12, 1}), false, 0, 0},
		{"narrowed rows", view(0, []int{5, 10}, []int{12, 1}), false, 0, 0},
		{"every other element", view(0, []int{60}, []int{2}), false, 0, 0},
		{"empty", view(3, []int{2, 0, 4}, []int{60, 12, 1}), true, 3, 0},
	} {
		span, ok := c.t.Span()
		if ok != c.ok {
			t.Fatalf("%s: ok = %v, want %v", c.name, ok, c.ok)
		}
		if !ok {
			continue
		}
		if len(span) != c.len || c.len > 0 && &span[0] != &buf[c.lo] {
			t.Fatalf("%s: span of %d from %d, want %d from %d", c.name, len(span), len(buf)-cap(span), c.len, c.lo)
		}
		// Every element of the view is in the span, exactly once.
		seen := map[float32]int{}
		for _, v := range span {
			seen[v]++
		}
		for _, v := range c.t.Values() {
			if seen[v] != 1 {
				t.Fatalf("%s: element %v in the view but not once in the span", c.name, v)
			}
		}
	}
}

// Span does not allocate (attention checks every output with it).
func TestSpanNoAllocs(t *testing.T) {
	buf := make([]float32, 120)
	v := Must(View(buf, 0, []int{2, 3, 5, 4}, []int{60, 4, 12, 1}))
	if a := testing.AllocsPerRun(10, func() { v.Span() }); a != 0 {
		t.Errorf("Span: %v allocations", a)
	}
}
