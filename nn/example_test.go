package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/attn-go/attn/nn"
)

// The paper's positional encoding: sin on even dimensions, cos on odd ones.
func ExampleSinusoidalEncoding() {
	pe, err := nn.SinusoidalEncoding(3, 4, 0) // [T=3, D=4]
	if err != nil {
		panic(err)
	}
	for t := 0; t < 3; t++ {
		fmt.Printf("%.4f\n", pe.Row(t))
	}
	// Output:
	// [0.0000 1.0000 0.0000 1.0000]
	// [0.8415 0.5403 0.0100 0.9999]
	// [0.9093 -0.4161 0.0200 0.9998]
}

// One training step's gradients for the paper's Transformer: a padded
// batch, label smoothing, and the loss's gradient added into every
// parameter.
func ExampleTransformer_Loss() {
	cfg, err := nn.TransformerPreset("small", 12)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := nn.NewTransformer(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	batch := &nn.Seq2SeqBatch{
		B: 2, S: 3, T: 3,
		Src: []int{3, 4, 5, 6, 7, 0}, SrcLen: []int{3, 2}, // the second source is padded
		TgtIn:  []int{1, 5, 4, 1, 7, 6},
		TgtOut: []int{5, 4, 2, 7, 6, -1}, // -1: not counted
		Ignore: -1,
	}
	st, err := m.Loss(batch, nn.TrainOptions{Backward: true, Smoothing: 0.1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.Count, "labels;", len(m.Params()), "parameter tensors;", m.Params()[0].Name)
	// Output: 5 labels; 61 parameter tensors; embedding.weight
}
