package nn

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/attn-go/attn/tensor"
)

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	n, _ := tensor.NumElements(shape...)
	return tensor.Must(tensor.FromSlice(randSlice(rng, n, 1, 0), shape...))
}

// The tensor-level backwards are the slice-level ones plus validation: the
// results must be bit-identical.
func TestTensorBackwards(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))

	l, _ := NewLinear(7, 5, true, rng)
	x, dy := randTensor(rng, 2, 3, 7), randTensor(rng, 2, 3, 5)
	dx, dw, db := tensor.Must(tensor.New(2, 3, 7)), tensor.Must(tensor.New(5, 7)), tensor.Must(tensor.New(5))
	if err := l.Backward(dx, dw, db, dy, x); err != nil {
		t.Fatal(err)
	}
	gx, gw, gb := make([]float32, 42), make([]float32, 35), make([]float32, 5)
	LinearBackward(gx, gw, gb, dy.Data(), x.Data(), l.Weight.Data(), 6, 7, 5)
	if !slices.Equal(dx.Data(), gx) || !slices.Equal(dw.Data(), gw) || !slices.Equal(db.Data(), gb) {
		t.Error("Linear.Backward differs from LinearBackward")
	}
	if err := l.Backward(nil, nil, nil, randTensor(rng, 2, 3, 4), x); err == nil || !strings.Contains(err.Error(), "want [2 3 5]") {
		t.Errorf("bad dy: err = %v", err)
	}
	if err := l.Backward(nil, tensor.Must(tensor.New(7, 5)), nil, dy, x); err == nil || !strings.Contains(err.Error(), "weight gradient") {
		t.Errorf("bad dWeight: err = %v", err)
	}
	notContig := tensor.Must(tensor.Must(tensor.New(7, 5)).Permute(1, 0))
	if err := l.Backward(nil, notContig, nil, dy, x); err == nil || !strings.Contains(err.Error(), "contiguous") {
		t.Errorf("strided dWeight: err = %v", err)
	}

	const eps = 1e-5
	w, b := randTensor(rng, 7), randTensor(rng, 7)
	x, dy = randTensor(rng, 4, 7), randTensor(rng, 4, 7)
	ln := &LayerNorm{Weight: w, Bias: b, Eps: eps}
	dx, dw, db = tensor.Must(tensor.New(4, 7)), tensor.Must(tensor.New(7)), tensor.Must(tensor.New(7))
	if err := ln.Backward(dx, dw, db, dy, x); err != nil {
		t.Fatal(err)
	}
	y, mean, rstd := make([]float32, 28), make([]float32, 4), make([]float32, 4)
	LayerNormForward(y, mean, rstd, x.Data(), w.Data(), b.Data(), 4, 7, eps)
	gx, gw, gb = make([]float32, 28), make([]float32, 7), make([]float32, 7)
	LayerNormBackward(gx, gw, gb, dy.Data(), x.Data(), w.Data(), mean, rstd, 4, 7)
	if !slices.Equal(dx.Data(), gx) || !slices.Equal(dw.Data(), gw) || !slices.Equal(db.Data(), gb) {
		t.Error("LayerNorm.Backward differs from LayerNormBackward")
	}
	if err := (&LayerNorm{Weight: w, Eps: eps}).Backward(nil, nil, db, dy, x); err == nil || !strings.Contains(err.Error(), "no bias") {
		t.Errorf("bias gradient without bias: err = %v", err)
	}
	if err := ln.Backward(nil, nil, nil, dy, randTensor(rng, 4, 6)); err == nil || !strings.Contains(err.Error(), "want [... D=7]") {
		t.Errorf("bad x: err = %v", err)
	}

	rms := &RMSNorm{Weight: w, Eps: eps}
	dx, dw = tensor.Must(tensor.New(4, 7)), tensor.Must(tensor.New(7))
	if err := rms.Backward(dx, dw, dy, x); err != nil {
		t.Fatal(err)
	}
	gx, gw = make([]float32, 28), make([]float32, 7)
	RMSNormForward(y, rstd, x.Data(), w.Data(), 4, 7, eps)
	RMSNormBackward(gx, gw, dy.Data(), x.Data(), w.Data(), rstd, 4, 7)
	if !slices.Equal(dx.Data(), gx) || !slices.Equal(dw.Data(), gw) {
		t.Error("RMSNorm.Backward differs from RMSNormBackward")
	}

	e, _ := NewEmbedding(6, 4, rng)
	e.ScaleBySqrtDim = true
	ids := []int{5, 1, 1}
	dy = randTensor(rng, 3, 4)
	dw = tensor.Must(tensor.New(6, 4))
	if err := e.Backward(dw, dy, ids); err != nil {
		t.Fatal(err)
	}
	scaled := make([]float32, 12)
	for i, v := range dy.Data() {
		scaled[i] = 2 * v // sqrt(4)
	}
	gw = make([]float32, 24)
	EmbeddingBackward(gw, scaled, ids, 4)
	if !slices.Equal(dw.Data(), gw) {
		t.Error("Embedding.Backward differs from EmbeddingBackward of the scaled gradient")
	}
	if err := e.Backward(dw, dy, []int{5, 6, 1}); err == nil || !strings.Contains(err.Error(), "token id 6 at index 1") {
		t.Errorf("bad id: err = %v", err)
	}

	p, _ := NewLearnedPositionalEmbedding(8, 3, rng)
	dpe := randTensor(rng, 4, 3)
	dw = tensor.Must(tensor.New(8, 3))
	if err := p.Backward(dw, dpe, 2); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 24)
	copy(want[6:], dpe.Data())
	if !slices.Equal(dw.Data(), want) {
		t.Errorf("positional backward = %v, want %v", dw.Data(), want)
	}
	if err := p.Backward(dw, dpe, 5); err == nil || !strings.Contains(err.Error(), "exceed the 8 learned positions") {
		t.Errorf("bad offset: err = %v", err)
	}
	dyB := randTensor(rng, 2, 4, 3)
	dpeSum := tensor.Must(tensor.New(4, 3))
	if err := AddPositionsBackward(dpeSum, dyB); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if want := float32(float64(dyB.Data()[i]) + float64(dyB.Data()[12+i])); dpeSum.Data()[i] != want {
			t.Fatalf("AddPositionsBackward [%d] = %v, want %v", i, dpeSum.Data()[i], want)
		}
	}
}
