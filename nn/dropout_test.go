package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDropoutMask(t *testing.T) {
	const n = 100_000
	const seed = 0x5eed
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	for _, p := range []float32{0.1, 0.5, 0.9} {
		scale := dropScale(p)
		y := make([]float32, n)
		DropoutForward(y, ones, p, seed, 0)
		dx := make([]float32, n)
		DropoutBackward(dx, ones, p, seed, 0)
		kept := 0
		for i := range y {
			k := DropoutKeep(p, seed, uint64(i))
			// Forward and backward apply the same mask and scale, and both
			// follow DropoutKeep.
			want := float32(0)
			if k {
				kept++
				want = scale
			}
			if y[i] != want || dx[i] != want {
				t.Fatalf("p=%v [%d]: forward %v, backward %v, keep %v", p, i, y[i], dx[i], k)
			}
		}
		// The kept count is Binomial(n, 1−p): within 5σ of n(1−p).
		mu, sigma := n*(1-float64(p)), math.Sqrt(n*float64(p)*(1-float64(p)))
		if math.Abs(float64(kept)-mu) > 5*sigma {
			t.Errorf("p=%v: kept %d of %d, want %.0f ± 5·%.0f", p, kept, n, mu, sigma)
		}
		// Another offset range, or another seed, gives an independent mask:
		// two independent masks agree on a fraction p² + (1−p)² of the
		// elements, within 5σ.
		for _, other := range []struct{ seed, offset uint64 }{{seed, n}, {seed, 1}, {seed + 1, 0}} {
			agree := 0
			for i := range uint64(n) {
				if DropoutKeep(p, seed, i) == DropoutKeep(p, other.seed, other.offset+i) {
					agree++
				}
			}
			q := float64(p*p + (1-p)*(1-p))
			if mu, sigma := n*q, math.Sqrt(n*q*(1-q)); math.Abs(float64(agree)-mu) > 5*sigma {
				t.Errorf("p=%v seed %d offset %d: masks agree on %d, want %.0f ± 5·%.0f", p, other.seed, other.offset, agree, mu, sigma)
			}
		}
	}
}

func TestDropoutForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n = 5000 // more than one parallel item
	x := randSlice(rng, n, 1, 0)

	// p = 0 copies, p = 1 zeroes, in place or not.
	y := make([]float32, n)
	DropoutForward(y, x, 0, 1, 0)
	if !slices.Equal(y, x) {
		t.Error("p=0 does not copy")
	}
	DropoutForward(y, x, 1, 1, 0)
	if slices.ContainsFunc(y, func(v float32) bool { return v != 0 }) {
		t.Error("p=1 does not zero")
	}
	dx := make([]float32, n)
	DropoutBackward(dx, x, 1, 1, 0)
	if slices.ContainsFunc(dx, func(v float32) bool { return v != 0 }) {
		t.Error("p=1 backward passes a gradient")
	}

	// In place equals out of place, and a slice starting at element k with
	// offset k sees the mask of the whole call (so callers may split).
	const p, seed, off = 0.3, 99, 12345
	DropoutForward(y, x, p, seed, off)
	in := append([]float32(nil), x...)
	DropoutForward(in, in, p, seed, off)
	if !slices.Equal(in, y) {
		t.Error("in-place dropout differs")
	}
	const k = 1234
	part := make([]float32, n-k)
	DropoutForward(part, x[k:], p, seed, off+k)
	if !slices.Equal(part, y[k:]) {
		t.Error("a suffix with a shifted offset does not reproduce the mask")
	}
	for i, v := range y {
		want := float32(0)
		if DropoutKeep(p, seed, off+uint64(i)) {
			want = x[i] * dropScale(p)
		}
		if v != want {
			t.Fatalf("[%d] = %v, want %v", i, v, want)
		}
	}
}

// SplitMix64 with seed 0 and index i yields the generator's i-th output;
// the first outputs of SplitMix64 from state 0 are published test vectors.
func TestSplitMix64Vectors(t *testing.T) {
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if got := splitmix64(uint64(i) * golden); got != w {
			t.Errorf("output %d = %#x, want %#x", i, got, w)
		}
	}
}
