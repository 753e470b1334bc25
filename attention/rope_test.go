package attention

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/tensor"
)

// ropeRef rotates one head vector v at position pos in float64, straight
// from the definition.
func ropeRef(v []float64, pos int, r RoPE) []float64 {
	out := append([]float64(nil), v...)
	half := r.Dim / 2
	for p := range half {
		ang := float64(pos) * math.Pow(r.Theta, -float64(2*p)/float64(r.Dim))
		i, j := p, p+half
		if r.Layout == RoPEInterleaved {
			i, j = 2*p, 2*p+1
		}
		out[i] = v[i]*math.Cos(ang) - v[j]*math.Sin(ang)
		out[j] = v[i]*math.Sin(ang) + v[j]*math.Cos(ang)
	}
	return out
}

func TestRoPEMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		r          RoPE
		dh, T, pos int
	}{
		{RoPE{Dim: 8, Theta: 10000, Layout: RoPEHalf}, 8, 5, 0},
		{RoPE{Dim: 8, Theta: 10000, Layout: RoPEInterleaved}, 8, 5, 3},
		{RoPE{Dim: 4, Theta: 500000, Layout: RoPEHalf}, 10, 3, 100000}, // partial rotary
		{RoPE{Dim: 64, Theta: 1e6, Layout: RoPEInterleaved}, 64, 2, 4095},
	} {
		B, H := 2, 3
		x := tensor.Must(tensor.New(B, H, c.T, c.dh))
		for i := range x.Data() {
			x.Data()[i] = float32(rng.NormFloat64())
		}
		orig := x.Clone()
		if err := c.r.Apply(x, c.pos); err != nil {
			t.Fatal(err)
		}
		for b := range B {
			for h := range H {
				for tt := range c.T {
					in := make([]float64, c.dh)
					for i, v := range orig.Row(b, h, tt) {
						in[i] = float64(v)
					}
					want := ropeRef(in, c.pos+tt, c.r)
					for i, g := range x.Row(b, h, tt) {
						// A rotation of float32 inputs with float32 cos/sin: a few
						// roundings of values of size |v|, so 4 ulp of the pair norm.
						if numcheck.Exceeds(math.Abs(float64(g)-want[i]), 4*0x1p-24*(math.Abs(in[i])+math.Abs(in[(i+c.r.Dim/2)%max(c.r.Dim, 1)])+1)) {
							t.Fatalf("%v pos %d: [%d,%d,%d,%d] = %v, want %v", c.r, c.pos+tt, b, h, tt, i, g, want[i])
						}
					}
				}
			}
		}
	}
}

// The point of RoPE: q·k after rotation depends only on the distance
// between the positions.
func TestRoPERelativePosition(t *testing.T) {
	r := RoPE{Dim: 16, Theta: 10000, Layout: RoPEHalf}
	rng := rand.New(rand.NewPCG(5, 6))
	q := make([]float64, 16)
	k := make([]float64, 16)
	for i := range q {
		q[i], k[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	dot := func(m, n int) float64 {
		a, b := ropeRef(q, m, r), ropeRef(k, n, r)
		var s float64
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	if d1, d2 := dot(7, 3), dot(104, 100); numcheck.Exceeds(math.Abs(d1-d2), 1e-9) {
		t.Errorf("q·k at (7,3) = %v, at (104,100) = %v; want equal", d1, d2)
	}
}

func TestRoPERejects(t *testing.T) {
	x := tensor.Must(tensor.New(1, 1, 2, 8))
	for _, r := range []RoPE{
		{Dim: 7, Theta: 10000}, {Dim: 10, Theta: 10000}, {Dim: 8, Theta: 1},
		{Dim: 8, Theta: math.Inf(1)}, {Dim: 8, Theta: 10000, Layout: 9},
	} {
		if err := r.Apply(x, 0); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if err := (RoPE{Dim: 8, Theta: 10000}).Apply(x, -1); err == nil {
		t.Error("negative position accepted")
	}
	if err := (RoPE{Dim: 8, Theta: 10000}).Apply(tensor.Must(tensor.New(2, 8)), 0); err == nil {
		t.Error("rank-2 input accepted")
	}
}
