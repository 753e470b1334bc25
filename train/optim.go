package train

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/nn"
)

// Param is the learnable tensor type the optimizers update (see nn.Param).
type Param = nn.Param

// ZeroGrads clears every gradient.
func ZeroGrads(ps []*Param) {
	for _, p := range ps {
		clear(p.G)
	}
}

// GradNorm returns the global L2 norm of all gradients (float64
// accumulation), NaN if any gradient is NaN.
func GradNorm(ps []*Param) float64 {
	var ss float64
	for _, p := range ps {
		for _, g := range p.G {
			ss += float64(g) * float64(g)
		}
	}
	return math.Sqrt(ss)
}

// ClipGradNorm scales all gradients so that their global L2 norm is at most
// maxNorm (PyTorch's clip_grad_norm_: factor maxNorm/(norm+1e-6) when the
// norm exceeds maxNorm). It returns the norm before clipping.
func ClipGradNorm(ps []*Param, maxNorm float64) float64 {
	n := GradNorm(ps)
	if maxNorm > 0 && n > maxNorm {
		f := float32(maxNorm / (n + 1e-6))
		for _, p := range ps {
			for i := range p.G {
				p.G[i] *= f
			}
		}
	}
	return n
}

// Adam is Adam (Kingma and Ba, 2015) and, with Decoupled, AdamW
// (Loshchilov and Hutter, 2019): weight decay applied to the weights
// directly (w −= lr·λ·w) instead of being added to the gradient. The
// paper's Transformer uses β1 0.9, β2 0.98, ε 1e-9 (PaperAdam).
type Adam struct {
	Beta1, Beta2, Eps float64
	WeightDecay       float64
	Decoupled         bool

	// Step counts the updates made; M and V are the moment estimates per
	// parameter, in the order of the params slice given to Update. They are
	// part of a checkpoint.
	Step int
	M, V [][]float32
}

// PaperAdam returns Adam with the hyperparameters of Vaswani et al. (2017).
func PaperAdam() *Adam { return &Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-9} }

// Validate checks the hyperparameters.
func (a *Adam) Validate() error {
	switch {
	case !(a.Beta1 >= 0 && a.Beta1 < 1), !(a.Beta2 >= 0 && a.Beta2 < 1):
		return fmt.Errorf("train: adam betas (%v, %v), want each in [0, 1)", a.Beta1, a.Beta2)
	case !(a.Eps > 0) || math.IsInf(a.Eps, 0):
		return fmt.Errorf("train: adam eps %v, want > 0", a.Eps)
	case !(a.WeightDecay >= 0) || math.IsInf(a.WeightDecay, 0):
		return fmt.Errorf("train: weight decay %v, want >= 0", a.WeightDecay)
	}
	return nil
}

// Update applies one step with learning rate lr to ps. Moments are
// allocated on the first call; later calls must pass the same params in
// the same order. Arithmetic is float64 per element, rounded once.
func (a *Adam) Update(ps []*Param, lr float64) error {
	if a.M == nil {
		a.M = make([][]float32, len(ps))
		a.V = make([][]float32, len(ps))
		for i, p := range ps {
			a.M[i] = make([]float32, len(p.W))
			a.V[i] = make([]float32, len(p.W))
		}
	}
	if len(a.M) != len(ps) {
		return fmt.Errorf("train: optimizer holds state for %d tensors, the model has %d", len(a.M), len(ps))
	}
	a.Step++
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - math.Pow(b1, float64(a.Step))
	c2 := 1 - math.Pow(b2, float64(a.Step))
	for i, p := range ps {
		m, v := a.M[i], a.V[i]
		if len(m) != len(p.W) {
			return fmt.Errorf("train: optimizer state for %s has %d values, the tensor %d", p.Name, len(m), len(p.W))
		}
		decay := a.WeightDecay
		if p.NoDecay {
			decay = 0
		}
		for j, g32 := range p.G {
			g := float64(g32)
			w := float64(p.W[j])
			if decay != 0 && !a.Decoupled {
				g += decay * w
			}
			mj := b1*float64(m[j]) + (1-b1)*g
			vj := b2*float64(v[j]) + (1-b2)*g*g
			m[j], v[j] = float32(mj), float32(vj)
			if decay != 0 && a.Decoupled {
				w -= lr * decay * w
			}
			w -= lr * (mj / c1) / (math.Sqrt(vj/c2) + a.Eps)
			p.W[j] = float32(w)
		}
	}
	return nil
}

// Schedule gives the learning rate of a step (1-based).
type Schedule interface {
	LR(step int) float64
}

// NoamSchedule is the schedule of Vaswani et al. (2017), section 5.3:
// lrate = Factor · DModel^−0.5 · min(step^−0.5, step · Warmup^−1.5).
// Factor 1 is the paper's.
type NoamSchedule struct {
	DModel, Warmup int
	Factor         float64
}

// LR implements Schedule.
func (s NoamSchedule) LR(step int) float64 {
	st := float64(max(step, 1))
	f := s.Factor
	if f == 0 {
		f = 1
	}
	return f * math.Pow(float64(s.DModel), -0.5) * math.Min(math.Pow(st, -0.5), st*math.Pow(float64(s.Warmup), -1.5))
}

// CosineSchedule warms up linearly to Base over Warmup steps, then decays
// along a half cosine to Min at Total steps (and stays there).
type CosineSchedule struct {
	Base, Min     float64
	Warmup, Total int
}

// LR implements Schedule.
func (s CosineSchedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Base * float64(step+1) / float64(s.Warmup)
	}
	if step >= s.Total || s.Total <= s.Warmup {
		return s.Min
	}
	p := float64(step-s.Warmup) / float64(s.Total-s.Warmup)
	return s.Min + 0.5*(s.Base-s.Min)*(1+math.Cos(math.Pi*p))
}
