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

// Training form on flat buffers. Shapes: table and dtable [num,dim], ids
// [n], y and dy [n,dim]. The forward saves nothing beyond ids. Embedding's
// ScaleBySqrtDim is not part of these: multiply y after the forward and dy
// before the backward by the same factor.

// EmbeddingForward copies table row ids[i] into row i of y. An id outside
// the table panics (callers validate ids, as Embedding.Forward does).
func EmbeddingForward(y, table []float32, ids []int, dim int) {
	if len(ids) == 0 || dim == 0 {
		return
	}
	_ = y[len(ids)*dim-1]
	for i, id := range ids {
		copy(y[i*dim:(i+1)*dim], table[id*dim:(id+1)*dim])
	}
}

// EmbeddingBackward scatters the rows of dy into dtable: dtable[ids[i]] +=
// dy[i]. Repeated ids accumulate, in the order of ids, so the result does
// not depend on scheduling. Large inputs are split over blocks of columns,
// which no two tasks share.
func EmbeddingBackward(dtable, dy []float32, ids []int, dim int) {
	n := len(ids)
	if n == 0 || dim == 0 {
		return
	}
	_ = dy[n*dim-1]
	const block = 256
	nb := (dim + block - 1) / block
	forRows(nb, n*block, func(b0, b1 int) {
		c0, c1 := b0*block, min(dim, b1*block)
		for i, id := range ids {
			src := dy[i*dim+c0 : i*dim+c1]
			dst := dtable[id*dim+c0 : id*dim+c1]
			for j, v := range src {
				dst[j] += v
			}
		}
	})
}

// Backward adds the gradient of Forward(ids, shape...) into dWeight
// [NumEmbeddings, Dim], from dy [shape..., Dim], the gradient of Forward's
// output: row i of dy goes to row ids[i], times sqrt(Dim) when
// ScaleBySqrtDim is set. dWeight must be contiguous.
func (e *Embedding) Backward(dWeight, dy *tensor.Tensor, ids []int) error {
	if e.Weight == nil || e.Weight.Rank() != 2 {
		return fmt.Errorf("nn: embedding weight must be [num dim]")
	}
	num, dim := e.Weight.Dim(0), e.Weight.Dim(1)
	if dWeight == nil {
		return fmt.Errorf("nn: embedding weight gradient is missing")
	}
	gw, err := gradData("nn: embedding weight gradient", dWeight, []int{num, dim}, "num", "dim")
	if err != nil {
		return err
	}
	if dy == nil || dy.Rank() < 1 || dy.Dim(dy.Rank()-1) != dim || dy.Len() != len(ids)*dim {
		var got []int
		if dy != nil {
			got = dy.Shape()
		}
		return fmt.Errorf("nn: embedding output gradient has shape %v, want [%d ids, dim=%d]", got, len(ids), dim)
	}
	for i, id := range ids {
		if id < 0 || id >= num {
			return fmt.Errorf("nn: token id %d at index %d is outside the vocabulary [0, %d)", id, i, num)
		}
	}
	g := dy.Contiguous().Values()
	if e.ScaleBySqrtDim {
		scaled := make([]float32, len(g))
		s := float32(math.Sqrt(float64(dim)))
		for i, v := range g {
			scaled[i] = v * s
		}
		g = scaled
	}
	EmbeddingBackward(gw, g, ids, dim)
	return nil
}
