package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// checkModelGradients compares each parameter's gradient G (already
// computed at the current weights) with central differences of the
// float32 loss at three random entries per tensor.
//
// Float32 forward noise (about 2e-7 of a loss near 2) over h = 2e-3 and the
// O(h²) truncation bound the difference quotient's error to about 2e-4, so
// the analytic gradient must agree within 2e-3 absolute plus 3% relative;
// a missing term, a wrong sign or a misplaced norm shows up as an error of
// order the gradient itself. A ReLU kink within ±h makes the quotient
// meaningless, so entries where the quotients at h and h/2 disagree are
// skipped (at most a fifth of them). The PyTorch autograd golden tests pin
// the gradients to float32 rounding.
func checkModelGradients(t *testing.T, label string, params []*Param, rng *rand.Rand, loss func() float64) {
	t.Helper()
	quotient := func(p *Param, i int, h float32) float64 {
		w := p.W[i]
		p.W[i] = w + h
		lp := loss()
		p.W[i] = w - h
		lm := loss()
		p.W[i] = w
		return (lp - lm) / (2 * float64(h))
	}
	checked, skipped := 0, 0
	for _, p := range params {
		for range 3 {
			i := rng.IntN(len(p.W))
			fd, fd2 := quotient(p, i, 2e-3), quotient(p, i, 1e-3)
			// A NaN difference is not skipped here: the check below fails it.
			if math.Abs(fd-fd2) > 1e-3+0.02*math.Abs(fd) {
				skipped++
				continue
			}
			checked++
			if an := float64(p.G[i]); numcheck.Exceeds(math.Abs(fd-an), 2e-3+0.03*math.Abs(fd)) {
				t.Errorf("%s: d loss / d %s[%d]: analytic %.6g, finite difference %.6g", label, p.Name, i, an, fd)
			}
		}
	}
	if skipped*5 > checked+skipped {
		t.Errorf("%s: %d of %d entries sit on a kink; the check is not testing much", label, skipped, checked+skipped)
	}
}
