package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/tensor"
)

// Linear is the fully connected layer y = x·Wᵀ + b (PyTorch nn.Linear).
// Weight is [Out, In]; Bias is [Out] or nil.
type Linear struct {
	Weight *tensor.Tensor
	Bias   *tensor.Tensor
}

// NewLinear returns a layer initialised as PyTorch does: weight and bias
// uniform in ±1/sqrt(in).
func NewLinear(in, out int, bias bool, rng *rand.Rand) (*Linear, error) {
	if in < 1 || out < 1 {
		return nil, fmt.Errorf("nn: linear features in=%d out=%d, want >= 1", in, out)
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewLinear needs a seeded rand source")
	}
	w, err := tensor.New(out, in)
	if err != nil {
		return nil, fmt.Errorf("nn: linear weight: %w", err)
	}
	bound := 1 / math.Sqrt(float64(in))
	uniform(w.Data(), bound, rng)
	l := &Linear{Weight: w}
	if bias {
		l.Bias = tensor.Must(tensor.New(out))
		uniform(l.Bias.Data(), bound, rng)
	}
	return l, nil
}

func uniform(x []float32, bound float64, rng *rand.Rand) {
	for i := range x {
		x[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Forward applies the layer to x [..., In] and returns [..., Out].
func (l *Linear) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	if l.Weight == nil || l.Weight.Rank() != 2 {
		return nil, fmt.Errorf("nn: linear weight must be [out in]")
	}
	out, in := l.Weight.Dim(0), l.Weight.Dim(1)
	if x == nil || x.Rank() < 1 || x.Dim(x.Rank()-1) != in {
		var got []int
		if x != nil {
			got = x.Shape()
		}
		return nil, fmt.Errorf("nn: linear input has shape %v, want [... in=%d]", got, in)
	}
	var bias []float32
	if l.Bias != nil {
		if err := tensor.CheckShape("nn: linear bias", l.Bias, []int{out}, "out"); err != nil {
			return nil, err
		}
		bias = l.Bias.Contiguous().Values()
	}
	shape := x.Shape()
	shape[len(shape)-1] = out
	y, err := tensor.New(shape...)
	if err != nil {
		return nil, err
	}
	rows := x.Len() / max(in, 1)
	kernel.Linear(y.Data(), out, x.Contiguous().Values(), in, l.Weight.Contiguous().Values(), in, bias, rows, out, in)
	return y, nil
}
