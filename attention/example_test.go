package attention_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/tensor"
)

// Self-attention over a batch of two sequences with a causal mask, asking
// for the attention weights averaged over heads.
func ExampleMultiHeadAttention_Forward() {
	m, err := attention.New(attention.Config{DModel: 8, Heads: 2, Bias: true}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	x := tensor.Must(tensor.New(2, 3, 8)) // [B,T,D]
	for i := range x.Data() {
		x.Data()[i] = float32(i%7) / 7
	}
	y, w, err := m.Forward(x, nil, nil, attention.ForwardOptions{
		Masks:       []attention.Mask{attention.Causal{}},
		NeedWeights: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("output", y.Shape(), "weights", w.Shape())
	fmt.Printf("first query attends only to itself: %.2f %.2f %.2f\n", w.At(0, 0, 0), w.At(0, 0, 1), w.At(0, 0, 2))
	// Output:
	// output [2 3 8] weights [2 3 3]
	// first query attends only to itself: 1.00 0.00 0.00
}

// Heads are strided views of one [B,T,H,Dh] buffer: no transpose copies.
func ExampleScaledDotProduct() {
	B, T, H, Dh := 1, 4, 2, 3
	qkv := tensor.Must(tensor.New(B, T, 3, H, Dh)) // a packed projection output
	for i := range qkv.Data() {
		qkv.Data()[i] = float32(i%5) - 2
	}
	view := func(p int) *tensor.Tensor {
		s, _ := qkv.Select(2, p)      // [B,T,H,Dh]
		v, _ := s.Permute(0, 2, 1, 3) // [B,H,T,Dh]
		return v
	}
	out := tensor.Must(tensor.New(B, H, T, Dh))
	lengths := attention.KeyLengths{2} // only the first two keys are real
	err := attention.ScaledDotProduct(out, view(0), view(1), view(2), attention.Options{Masks: []attention.Mask{lengths}})
	fmt.Println(out.Shape(), err)
	// Output:
	// [1 2 4 3] <nil>
}

// PyTorch's boolean attn_mask marks what is NOT allowed; the adapter's name
// says so, and the mask it returns speaks attn's "allowed" polarity.
func ExampleTorchAttnMask() {
	maskedOut := []bool{
		false, true,
		false, false,
	}
	m, err := attention.TorchAttnMask(maskedOut, 2, 2) // [T,S]
	fmt.Println(m, err)
	// Output:
	// attn_mask[2 2] <nil>
}
