package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// CrossEntropy against PyTorch's definition written out in float64
// (crossEntropy64). Both accumulate in float64 from the same float32
// logits, so the sums agree to within a few float64 roundings per row:
// the bound is 1e-12 relative (plus 1e-12 absolute for a zero sum). The
// mean reduction divides by the count of non-ignored rows.
func TestCrossEntropyMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	const rows, V, ignore = 5, 11, -100
	for _, c := range []struct {
		name      string
		targets   []int
		smoothing float32
		shift     float64 // added to every logit: the row max must be subtracted
		count     int
	}{
		{"plain", []int{0, 10, 3, 3, 7}, 0, 0, 5},
		{"smoothing", []int{0, 10, 3, 3, 7}, 0.1, 0, 5},
		{"ignore", []int{ignore, 10, ignore, 3, 7}, 0, 0, 3},
		{"ignore smoothing", []int{ignore, 10, ignore, 3, 7}, 0.1, 0, 3},
		{"all ignored", []int{ignore, ignore, ignore, ignore, ignore}, 0.1, 0, 0},
		{"large logits", []int{1, 2, 3, 4, 5}, 0.1, 1000, 5},
		{"very negative logits", []int{1, 2, 3, 4, 5}, 0, -1e4, 5},
	} {
		logits := randSlice(rng, rows*V, 3, c.shift)
		dl := make([]float32, rows*V)
		for i := range dl {
			dl[i] = float32(math.NaN()) // must be overwritten
		}
		scale := float32(max(c.count, 1))
		sum, count := CrossEntropy(dl, logits, c.targets, rows, V, c.smoothing, ignore, scale)
		want, wantCount := crossEntropy64(to64(logits), c.targets, rows, V, float64(c.smoothing), ignore)
		if count != c.count || wantCount != c.count {
			t.Errorf("%s: count %d (reference %d), want %d", c.name, count, wantCount, c.count)
		}
		if numcheck.Exceeds(math.Abs(sum-want), 1e-12*math.Abs(want)+1e-12) {
			t.Errorf("%s: sum %v, want %v", c.name, sum, want)
		}
		if count > 0 {
			if mean := sum / float64(count); numcheck.Exceeds(math.Abs(mean-want/float64(c.count)), 1e-12*math.Abs(mean)) {
				t.Errorf("%s: mean %v, want %v", c.name, mean, want/float64(c.count))
			}
		}
		// Every gradient row sums to zero (Σ p = 1, and the smoothed target
		// distribution sums to one); ignored rows are exactly zero. Each
		// element is rounded to float32 (2^-24 relative of entries ≤ 1/scale),
		// so the row sum is zero within V·2^-24/scale.
		for r := range rows {
			var s float64
			for _, v := range dl[r*V : (r+1)*V] {
				if math.IsNaN(float64(v)) {
					t.Fatalf("%s: row %d gradient not written", c.name, r)
				}
				if c.targets[r] == ignore && v != 0 {
					t.Fatalf("%s: ignored row %d has gradient %v", c.name, r, v)
				}
				s += float64(v)
			}
			if numcheck.Exceeds(math.Abs(s), V*0x1p-24/float64(scale)) {
				t.Errorf("%s: row %d gradient sums to %v", c.name, r, s)
			}
		}
		// Loss only (nil dlogits) gives the same sum; dlogits may be the logits.
		if s2, _ := CrossEntropy(nil, logits, c.targets, rows, V, c.smoothing, ignore, scale); s2 != sum {
			t.Errorf("%s: sum without gradient %v, with %v", c.name, s2, sum)
		}
		in := append([]float32(nil), logits...)
		if s3, _ := CrossEntropy(in, in, c.targets, rows, V, c.smoothing, ignore, scale); s3 != sum || !slices.Equal(in, dl) {
			t.Errorf("%s: in-place call differs", c.name)
		}
	}
}

// Uniform logits: every p_c = 1/V, so each row's loss is log V whatever the
// target and the smoothing, and the gradient is (1/V − ε/V − (1−ε)[c=t]).
func TestCrossEntropyUniform(t *testing.T) {
	const rows, V = 2, 8
	logits := make([]float32, rows*V)
	for i := range logits {
		logits[i] = 2.5
	}
	dl := make([]float32, rows*V)
	sum, count := CrossEntropy(dl, logits, []int{0, 7}, rows, V, 0.2, -1, 1)
	if count != 2 || numcheck.Exceeds(math.Abs(sum-2*math.Log(V)), 1e-14) {
		t.Fatalf("sum %v count %d, want %v 2", sum, count, 2*math.Log(V))
	}
	if dl[0] != float32(0.125-0.025-0.8) || dl[1] != float32(0.125-0.025) || dl[15] != dl[0] {
		t.Fatalf("gradient %v", dl)
	}
}

func TestCrossEntropyBadTarget(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "target 11 in row 1") {
			t.Errorf("panic %v, want one naming target 11 in row 1", r)
		}
	}()
	CrossEntropy(nil, make([]float32, 22), []int{0, 11}, 2, 11, 0, -100, 1)
}
