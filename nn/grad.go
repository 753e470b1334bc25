package nn

import (
	"fmt"

	"github.com/attn-go/attn/tensor"
)

// gradData returns the elements of a gradient tensor that a backward adds
// into: nil for a nil tensor, an error when its shape is not want or it is
// not contiguous (a copy would drop the additions).
func gradData(arg string, g *tensor.Tensor, want []int, names ...string) ([]float32, error) {
	if g == nil {
		return nil, nil
	}
	if err := tensor.CheckShape(arg, g, want, names...); err != nil {
		return nil, err
	}
	if !g.IsContiguous() {
		return nil, fmt.Errorf("%s must be contiguous to receive gradients", arg)
	}
	return g.Values(), nil
}

// sameShape reports an error naming arg when t's shape is not want.
func sameShape(arg string, t *tensor.Tensor, want []int) error {
	if t == nil {
		return fmt.Errorf("%s is missing, want shape %v", arg, want)
	}
	if !tensor.SameShape(t.Shape(), want) {
		return fmt.Errorf("%s has shape %v, want %v", arg, t.Shape(), want)
	}
	return nil
}

// leadingRows is the number of rows of x viewed as [rows, last dimension].
func leadingRows(x *tensor.Tensor) int {
	n := 1
	for _, d := range x.Shape()[:x.Rank()-1] {
		n *= d
	}
	return n
}
