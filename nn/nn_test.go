package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/tensor"
)

// The encoding is computed in float64 and rounded once, so it must equal the
// float32 rounding of the formula exactly; known values pin the layout (sin
// on even dimensions, cos on odd).
func TestSinusoidalEncoding(t *testing.T) {
	for _, c := range []struct{ T, D, off int }{{1, 1, 0}, {7, 8, 0}, {5, 9, 3}, {64, 512, 0}} {
		pe, err := SinusoidalEncoding(c.T, c.D, c.off)
		if err != nil {
			t.Fatal(err)
		}
		for p := 0; p < c.T; p++ {
			for i := 0; i < c.D; i++ {
				w := float64(p+c.off) / math.Pow(10000, float64(2*(i/2))/float64(c.D))
				want := math.Sin(w)
				if i%2 == 1 {
					want = math.Cos(w)
				}
				if got := pe.At(p, i); got != float32(want) {
					t.Fatalf("T=%d D=%d off=%d PE(%d,%d) = %v, want %v", c.T, c.D, c.off, p, i, got, float32(want))
				}
			}
		}
	}
	pe, _ := SinusoidalEncoding(2, 4, 0)
	want := []float32{0, 1, 0, 1, float32(math.Sin(1)), float32(math.Cos(1)), float32(math.Sin(0.01)), float32(math.Cos(0.01))}
	for i, w := range want {
		if pe.Data()[i] != w {
			t.Fatalf("PE flat %d = %v, want %v", i, pe.Data()[i], w)
		}
	}
	if _, err := SinusoidalEncoding(3, 0, 0); err == nil {
		t.Fatal("D=0 accepted")
	}
}

func TestEmbedding(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e, err := NewEmbedding(10, 4, rng)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int{3, 0, 9, 3, 1, 2}
	out, err := e.Forward(ids, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(out.Shape(), []int{2, 3, 4}) {
		t.Fatalf("shape %v", out.Shape())
	}
	e.ScaleBySqrtDim = true
	scaled, _ := e.Forward(ids, 2, 3)
	for i, id := range ids {
		for c := 0; c < 4; c++ {
			w := e.Weight.At(id, c)
			if out.Data()[i*4+c] != w || scaled.Data()[i*4+c] != w*2 {
				t.Fatalf("id %d dim %d: %v / %v, want %v / %v", id, c, out.Data()[i*4+c], scaled.Data()[i*4+c], w, 2*w)
			}
		}
	}
	for _, c := range []struct {
		ids   []int
		shape []int
		want  string
	}{
		{[]int{1, 10}, []int{2}, "token id 10 at position [1] is outside the vocabulary [0, 10)"},
		{[]int{-1}, []int{1}, "token id -1"},
		{[]int{1, 2, 3}, []int{2, 2}, "3 ids do not fill shape [2 2]"},
	} {
		if _, err := e.Forward(c.ids, c.shape...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ids %v: err = %v, want %q", c.ids, err, c.want)
		}
	}
}

func TestLearnedPositionsAndAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p, err := NewLearnedPositionalEmbedding(8, 3, rng)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := p.Forward(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if pe.At(0, 1) != p.Weight.At(2, 1) || pe.At(3, 2) != p.Weight.At(5, 2) {
		t.Fatal("positions 2..5 not returned")
	}
	if _, err := p.Forward(4, 5); err == nil || !strings.Contains(err.Error(), "exceed the 8 learned positions") {
		t.Fatalf("err = %v", err)
	}
	x := tensor.Must(tensor.New(2, 4, 3))
	if err := AddPositions(x, pe); err != nil {
		t.Fatal(err)
	}
	if x.At(1, 3, 2) != pe.At(3, 2) || x.At(0, 0, 0) != pe.At(0, 0) {
		t.Fatal("positions not added to every batch")
	}
	if err := AddPositions(x, tensor.Must(tensor.New(3, 3))); err == nil || !strings.Contains(err.Error(), "want [T=4 D=3]") {
		t.Fatalf("err = %v", err)
	}
}

// Linear against a float64 loop: a k-term float32 dot product has relative
// error about sqrt(k)·2^-24; 1e-6 relative (norm-wise) is a wide margin at
// k = 37 and far below any indexing mistake.
func TestLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	l, err := NewLinear(37, 11, true, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Must(tensor.New(2, 3, 37))
	for i := range x.Data() {
		x.Data()[i] = float32(rng.NormFloat64())
	}
	y, err := l.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, 6*11)
	for r := 0; r < 6; r++ {
		for o := 0; o < 11; o++ {
			s := float64(l.Bias.At(o))
			for i := 0; i < 37; i++ {
				s += float64(x.Data()[r*37+i]) * float64(l.Weight.At(o, i))
			}
			want[r*11+o] = s
		}
	}
	numcheck.RequireRel(t, "Linear", y.Data(), want, 1e-6)
	if _, err := l.Forward(tensor.Must(tensor.New(2, 36))); err == nil || !strings.Contains(err.Error(), "want [... in=37]") {
		t.Fatalf("err = %v", err)
	}
}

// ReLU's special values: negatives (and -Inf) become +0, -0 and NaN stay
// as they are; the backward adds dy only where x > 0, so a NaN or Inf in
// dy elsewhere (or at a NaN x) does not reach dx.
func TestReLUSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	x := []float32{-1, negZero, 0, 2, nan, -inf, inf, 1e-45, -1e-45}
	want := []float32{0, negZero, 0, 2, nan, 0, inf, 1e-45, 0}
	y := append([]float32(nil), x...)
	ReLU(y)
	for i := range y {
		same := y[i] == want[i] && math.Signbit(float64(y[i])) == math.Signbit(float64(want[i])) || y[i] != y[i] && want[i] != want[i]
		if !same {
			t.Errorf("ReLU(%v) = %v, want %v", x[i], y[i], want[i])
		}
	}
	dy := []float32{nan, inf, nan, 3, nan, nan, 5, 7, inf}
	dx := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	ReLUBackward(dx, dy, x)
	wantDx := []float32{1, 1, 1, 4, 1, 1, 6, 8, 1}
	for i := range dx {
		if dx[i] != wantDx[i] {
			t.Errorf("ReLUBackward at x=%v, dy=%v: dx = %v, want %v", x[i], dy[i], dx[i], wantDx[i])
		}
	}
}
