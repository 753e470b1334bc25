package nn_test

import (
	"fmt"

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
