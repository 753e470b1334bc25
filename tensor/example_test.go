package tensor_test

import (
	"fmt"

	"github.com/attn-go/attn/tensor"
)

// Viewing a [B,T,D] activation as heads [B,H,T,Dh] without copying.
func ExampleTensor_Permute() {
	B, T, H, Dh := 1, 2, 2, 3
	x := tensor.Must(tensor.New(B, T, H*Dh))
	for i := range x.Data() {
		x.Data()[i] = float32(i)
	}
	split, _ := x.Reshape(B, T, H, Dh)
	heads, _ := split.Permute(0, 2, 1, 3)
	fmt.Println(heads.Shape(), heads.Strides())
	fmt.Println("head 1, token 0:", heads.Row(0, 1, 0))
	// Output:
	// [1 2 2 3] [12 3 6 1]
	// head 1, token 0: [3 4 5]
}
