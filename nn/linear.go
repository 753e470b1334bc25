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
	kernel.Linear(y.Data(), out, x.Contiguous().Values(), in, l.Weight.Contiguous().Values(), in, bias, rows, in, out)
	return y, nil
}

// Training form of the layer on flat row-major buffers. Shapes: x [m,in],
// y and dy [m,out], w and dw [out,in] (PyTorch layout), b and db [out].
// The forward saves nothing beyond its input: backward needs x and w.

// LinearForward computes y = x·Wᵀ + b for m rows (b may be nil). y is
// overwritten and must not overlap x or w.
func LinearForward(y, x, w, b []float32, m, in, out int) {
	if m == 0 || out == 0 {
		return
	}
	_ = y[m*out-1]
	if b != nil {
		_ = b[out-1]
	}
	if in == 0 {
		// An empty contraction: every row is the bias (or zero).
		for r := 0; r < m; r++ {
			yr := y[r*out : (r+1)*out]
			if b != nil {
				copy(yr, b[:out])
			} else {
				clear(yr)
			}
		}
		return
	}
	kernel.Linear(y, out, x, in, w, in, b, m, in, out)
}

// LinearBackward adds the gradients of LinearForward into dx [m,in]
// (dy·W), dw [out,in] (dyᵀ·x) and db [out] (the column sums of dy). Any of
// dx, dw and db may be nil to skip that gradient. The products run on
// kernel.Gemm with beta = 1; the bias sums are accumulated in float64.
func LinearBackward(dx, dw, db, dy, x, w []float32, m, in, out int) {
	if m == 0 || out == 0 {
		return
	}
	_ = dy[m*out-1]
	if in > 0 {
		if dx != nil {
			kernel.Gemm(false, false, m, in, out, 1, dy, out, w, in, 1, dx, in)
		}
		if dw != nil {
			kernel.Gemm(true, false, out, in, m, 1, dy, out, x, in, 1, dw, in)
		}
	}
	if db != nil {
		colSums(db, dy, m, out)
	}
}

// colSums adds the column sums of a [rows,cols] matrix into dst [cols],
// accumulating each in float64. Blocks of columns are independent, so they
// are the parallel items; each block walks every row.
func colSums(dst, a []float32, rows, cols int) {
	const block = 64
	_ = dst[cols-1]
	_ = a[rows*cols-1]
	nb := (cols + block - 1) / block
	forRows(nb, rows*block, func(b0, b1 int) {
		for blk := b0; blk < b1; blk++ {
			c0, c1 := blk*block, min(cols, (blk+1)*block)
			var acc [block]float64
			w := c1 - c0
			r := 0
			// Four rows per pass over the accumulators: a quarter of
			// their loads and stores.
			for ; r+4 <= rows; r += 4 {
				a0 := a[r*cols+c0:][:w]
				a1 := a[(r+1)*cols+c0:][:w]
				a2 := a[(r+2)*cols+c0:][:w]
				a3 := a[(r+3)*cols+c0:][:w]
				for j := range acc[:w] {
					acc[j] += (float64(a0[j]) + float64(a1[j])) + (float64(a2[j]) + float64(a3[j]))
				}
			}
			for ; r < rows; r++ {
				for j, v := range a[r*cols+c0 : r*cols+c1] {
					acc[j] += float64(v)
				}
			}
			for j := c0; j < c1; j++ {
				dst[j] = float32(float64(dst[j]) + acc[j-c0])
			}
		}
	})
}

// Backward adds the gradients of Forward(x) into dx (the shape of x),
// dWeight [Out,In] and dBias [Out], from dy, the gradient of Forward's
// output. Any gradient tensor may be nil to skip it; the others must be
// contiguous. It is LinearBackward on tensors.
func (l *Linear) Backward(dx, dWeight, dBias, dy, x *tensor.Tensor) error {
	if l.Weight == nil || l.Weight.Rank() != 2 {
		return fmt.Errorf("nn: linear weight must be [out in]")
	}
	out, in := l.Weight.Dim(0), l.Weight.Dim(1)
	if x == nil || x.Rank() < 1 || x.Dim(x.Rank()-1) != in {
		var got []int
		if x != nil {
			got = x.Shape()
		}
		return fmt.Errorf("nn: linear input has shape %v, want [... in=%d]", got, in)
	}
	yShape := x.Shape()
	yShape[len(yShape)-1] = out
	if err := sameShape("nn: linear output gradient", dy, yShape); err != nil {
		return err
	}
	gx, err := gradData("nn: linear input gradient", dx, x.Shape())
	if err != nil {
		return err
	}
	gw, err := gradData("nn: linear weight gradient", dWeight, []int{out, in}, "out", "in")
	if err != nil {
		return err
	}
	gb, err := gradData("nn: linear bias gradient", dBias, []int{out}, "out")
	if err != nil {
		return err
	}
	LinearBackward(gx, gw, gb, dy.Contiguous().Values(), x.Contiguous().Values(), l.Weight.Contiguous().Values(), leadingRows(x), in, out)
	return nil
}
