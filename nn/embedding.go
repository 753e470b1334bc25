package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-go/attn/tensor"
)

// Embedding maps token ids to vectors (PyTorch nn.Embedding). Weight is
// [NumEmbeddings, Dim]. When ScaleBySqrtDim is set, Forward multiplies the
// vectors by sqrt(Dim), as the paper does before adding positional
// encodings ("we multiply those weights by sqrt(d_model)", section 3.4).
type Embedding struct {
	Weight         *tensor.Tensor
	ScaleBySqrtDim bool
}

// NewEmbedding returns an embedding initialised as PyTorch does, N(0, 1).
func NewEmbedding(num, dim int, rng *rand.Rand) (*Embedding, error) {
	if num < 1 || dim < 1 {
		return nil, fmt.Errorf("nn: embedding size %d×%d, want both >= 1", num, dim)
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewEmbedding needs a seeded rand source")
	}
	w, err := tensor.New(num, dim)
	if err != nil {
		return nil, fmt.Errorf("nn: embedding weight: %w", err)
	}
	for i := range w.Data() {
		w.Data()[i] = float32(rng.NormFloat64())
	}
	return &Embedding{Weight: w}, nil
}

// Forward looks up ids, laid out with the given shape (e.g. [B,T]), and
// returns [shape..., Dim]. An id outside [0, NumEmbeddings) is an error
// naming its position.
func (e *Embedding) Forward(ids []int, shape ...int) (*tensor.Tensor, error) {
	if e.Weight == nil || e.Weight.Rank() != 2 {
		return nil, fmt.Errorf("nn: embedding weight must be [num dim]")
	}
	n, err := tensor.NumElements(shape...)
	if err != nil {
		return nil, fmt.Errorf("nn: embedding ids: %w", err)
	}
	if n != len(ids) {
		return nil, fmt.Errorf("nn: %d ids do not fill shape %v (%d)", len(ids), shape, n)
	}
	num, dim := e.Weight.Dim(0), e.Weight.Dim(1)
	for i, id := range ids {
		if id < 0 || id >= num {
			return nil, fmt.Errorf("nn: token id %d at position %v is outside the vocabulary [0, %d)", id, tensor.Unravel(i, shape), num)
		}
	}
	out, err := tensor.New(append(append([]int(nil), shape...), dim)...)
	if err != nil {
		return nil, fmt.Errorf("nn: embedding output: %w", err)
	}
	scale := float32(1)
	if e.ScaleBySqrtDim {
		scale = float32(math.Sqrt(float64(dim)))
	}
	w := e.Weight.Contiguous().Values()
	o := out.Data()
	for i, id := range ids {
		row := w[id*dim : (id+1)*dim]
		dst := o[i*dim : (i+1)*dim]
		for c, v := range row {
			dst[c] = v * scale
		}
	}
	return out, nil
}
