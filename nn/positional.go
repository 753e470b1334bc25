package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/attn-go/attn/tensor"
)

// SinusoidalEncoding returns the paper's fixed positional encoding [T,D]
// for positions offset..offset+T-1 (section 3.5):
//
//	PE(pos, 2i)   = sin(pos / 10000^(2i/D))
//	PE(pos, 2i+1) = cos(pos / 10000^(2i/D))
//
// Values are computed in float64 and rounded once to float32. An odd D is
// allowed; its last dimension is a sine.
func SinusoidalEncoding(T, D, offset int) (*tensor.Tensor, error) {
	if T < 0 || D < 1 || offset < 0 {
		return nil, fmt.Errorf("nn: sinusoidal encoding T=%d D=%d offset=%d, want T >= 0, D >= 1, offset >= 0", T, D, offset)
	}
	pe, err := tensor.New(T, D)
	if err != nil {
		return nil, fmt.Errorf("nn: sinusoidal encoding: %w", err)
	}
	p := pe.Data()
	for t := 0; t < T; t++ {
		pos := float64(offset + t)
		for c := 0; c < D; c++ {
			angle := pos / math.Pow(10000, float64(c-c%2)/float64(D))
			if c%2 == 0 {
				p[t*D+c] = float32(math.Sin(angle))
			} else {
				p[t*D+c] = float32(math.Cos(angle))
			}
		}
	}
	return pe, nil
}

// LearnedPositionalEmbedding is a trainable table of one vector per position
// (GPT-2's wpe, BERT's position_embeddings). Weight is [MaxLen, D].
type LearnedPositionalEmbedding struct {
	Weight *tensor.Tensor
}

// NewLearnedPositionalEmbedding returns a table initialised N(0, 0.02²), as
// GPT-2 and BERT do.
func NewLearnedPositionalEmbedding(maxLen, dim int, rng *rand.Rand) (*LearnedPositionalEmbedding, error) {
	if maxLen < 1 || dim < 1 {
		return nil, fmt.Errorf("nn: positional embedding size %d×%d, want both >= 1", maxLen, dim)
	}
	if rng == nil {
		return nil, fmt.Errorf("nn: NewLearnedPositionalEmbedding needs a seeded rand source")
	}
	w, err := tensor.New(maxLen, dim)
	if err != nil {
		return nil, fmt.Errorf("nn: positional embedding: %w", err)
	}
	for i := range w.Data() {
		w.Data()[i] = float32(rng.NormFloat64() * 0.02)
	}
	return &LearnedPositionalEmbedding{Weight: w}, nil
}

// Forward returns the vectors of positions offset..offset+T-1 as a [T,D]
// view of the table. Positions past MaxLen are an error.
func (p *LearnedPositionalEmbedding) Forward(T, offset int) (*tensor.Tensor, error) {
	if p.Weight == nil || p.Weight.Rank() != 2 {
		return nil, fmt.Errorf("nn: positional embedding weight must be [max_len dim]")
	}
	if T < 0 || offset < 0 || offset+T > p.Weight.Dim(0) {
		return nil, fmt.Errorf("nn: positions [%d, %d) exceed the %d learned positions", offset, offset+T, p.Weight.Dim(0))
	}
	return p.Weight.Narrow(0, offset, T)
}

// AddPositions adds pe [T,D] to every batch of x [B,T,D] in place.
func AddPositions(x, pe *tensor.Tensor) error {
	if err := tensor.CheckShape("nn: input", x, []int{-1, -1, -1}, "B", "T", "D"); err != nil {
		return err
	}
	if err := tensor.CheckShape("nn: positional encoding", pe, []int{x.Dim(1), x.Dim(2)}, "T", "D"); err != nil {
		return err
	}
	if !x.IsContiguous() {
		return fmt.Errorf("nn: AddPositions needs a contiguous input")
	}
	v := pe.Contiguous().Values()
	xd := x.Values()
	for b := 0; b < x.Dim(0); b++ {
		row := xd[b*len(v) : (b+1)*len(v)]
		for i, e := range v {
			row[i] += e
		}
	}
	return nil
}

// Gradients of the positional encodings. SinusoidalEncoding has no
// parameters and is added to the input, so the gradient with respect to the
// input is dy itself (the identity) and there is nothing to accumulate. A
// learned table receives, for each position, the sum over the batch of the
// gradient at that position: LearnedPositionsBackward below, or equivalently
// EmbeddingBackward with ids = offset..offset+T-1 repeated for every batch.

// LearnedPositionsForward adds rows offset..offset+T-1 of table [maxLen,d]
// to every batch of x [batch,T,d], in place (AddPositions on flat buffers).
// The input gradient is the identity: nothing is saved.
func LearnedPositionsForward(x, table []float32, batch, T, offset, d int) {
	n := T * d
	if batch == 0 || n == 0 {
		return
	}
	_ = x[batch*n-1]
	pe := table[offset*d : offset*d+n]
	for b := 0; b < batch; b++ {
		row := x[b*n : (b+1)*n]
		for i, v := range pe {
			row[i] += v
		}
	}
}

// LearnedPositionsBackward adds Σ_b dy[b,t,:] into dtable[offset+t,:] for t
// in [0,T), from dy [batch,T,d]. The sum over the batch is taken in float64
// and added with one rounding.
func LearnedPositionsBackward(dtable, dy []float32, batch, T, offset, d int) {
	n := T * d
	if batch == 0 || n == 0 {
		return
	}
	_ = dy[batch*n-1]
	dst := dtable[offset*d : offset*d+n]
	forRows(n, batch, func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			var s float64
			for b := 0; b < batch; b++ {
				s += float64(dy[b*n+i])
			}
			dst[i] = float32(float64(dst[i]) + s)
		}
	})
}

// Backward adds the gradient of Forward(T, offset) into dWeight [MaxLen,
// D], from dpe [T, D], the gradient of Forward's output. dWeight must be
// contiguous.
func (p *LearnedPositionalEmbedding) Backward(dWeight, dpe *tensor.Tensor, offset int) error {
	if p.Weight == nil || p.Weight.Rank() != 2 {
		return fmt.Errorf("nn: positional embedding weight must be [max_len dim]")
	}
	maxLen, d := p.Weight.Dim(0), p.Weight.Dim(1)
	if dWeight == nil {
		return fmt.Errorf("nn: positional embedding gradient is missing")
	}
	gw, err := gradData("nn: positional embedding gradient", dWeight, []int{maxLen, d}, "max_len", "dim")
	if err != nil {
		return err
	}
	if err := tensor.CheckShape("nn: positions gradient", dpe, []int{-1, d}, "T", "D"); err != nil {
		return err
	}
	T := dpe.Dim(0)
	if offset < 0 || offset+T > maxLen {
		return fmt.Errorf("nn: positions [%d, %d) exceed the %d learned positions", offset, offset+T, maxLen)
	}
	LearnedPositionsBackward(gw, dpe.Contiguous().Values(), 1, T, offset, d)
	return nil
}

// AddPositionsBackward is the backward of AddPositions(x, pe): the gradient
// with respect to x is dy itself, and Σ_b dy[b] is added into dpe [T,D]
// (which must be contiguous), from dy [B,T,D].
func AddPositionsBackward(dpe, dy *tensor.Tensor) error {
	if err := tensor.CheckShape("nn: output gradient", dy, []int{-1, -1, -1}, "B", "T", "D"); err != nil {
		return err
	}
	if dpe == nil {
		return fmt.Errorf("nn: positional encoding gradient is missing")
	}
	g, err := gradData("nn: positional encoding gradient", dpe, []int{dy.Dim(1), dy.Dim(2)}, "T", "D")
	if err != nil {
		return err
	}
	LearnedPositionsBackward(g, dy.Contiguous().Values(), dy.Dim(0), dy.Dim(1), 0, dy.Dim(2))
	return nil
}
