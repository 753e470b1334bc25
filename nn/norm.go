package nn

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/tensor"
)

// Shapes in this file: x and y are [rows, D] with row stride D; weight and
// bias are [D].

// LayerNorm normalises the last dimension (PyTorch nn.LayerNorm):
// y = (x − mean) / sqrt(var + Eps) · Weight + Bias, with the biased variance.
// Bias may be nil.
type LayerNorm struct {
	Weight *tensor.Tensor
	Bias   *tensor.Tensor
	Eps    float32
}

// Forward applies the layer to x [..., D].
func (l *LayerNorm) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	var bias []float32
	if l.Bias != nil {
		bias = l.Bias.Contiguous().Values()
	}
	return normForward("layer norm", x, l.Weight, l.Bias, l.Eps, func(y, x []float32, rows, d int, w []float32) {
		LayerNormRows(y, x, rows, d, w, bias, l.Eps)
	})
}

// RMSNorm scales the last dimension by its root mean square (Zhang and
// Sennrich, 2019; Llama): y = x / sqrt(mean(x²) + Eps) · Weight.
type RMSNorm struct {
	Weight *tensor.Tensor
	Eps    float32
}

// Forward applies the layer to x [..., D].
func (l *RMSNorm) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	return normForward("rms norm", x, l.Weight, nil, l.Eps, func(y, x []float32, rows, d int, w []float32) {
		RMSNormRows(y, x, rows, d, w, l.Eps)
	})
}

func normForward(name string, x, weight, bias *tensor.Tensor, eps float32, run func(y, x []float32, rows, d int, w []float32)) (*tensor.Tensor, error) {
	if weight == nil || weight.Rank() != 1 {
		return nil, fmt.Errorf("nn: %s weight must be [D]", name)
	}
	D := weight.Dim(0)
	if x == nil || x.Rank() < 1 || x.Dim(x.Rank()-1) != D {
		var got []int
		if x != nil {
			got = x.Shape()
		}
		return nil, fmt.Errorf("nn: %s input has shape %v, want [... D=%d]", name, got, D)
	}
	if bias != nil {
		if err := tensor.CheckShape("nn: "+name+" bias", bias, []int{D}, "D"); err != nil {
			return nil, err
		}
	}
	if e := float64(eps); !(e >= 0) || math.IsInf(e, 0) {
		return nil, fmt.Errorf("nn: %s eps is %v, want a finite number >= 0", name, eps)
	}
	y, err := tensor.New(x.Shape()...)
	if err != nil {
		return nil, err
	}
	run(y.Data(), x.Contiguous().Values(), x.Len()/max(D, 1), D, weight.Contiguous().Values())
	return y, nil
}

// rowsPerTask keeps each parallel item at a few thousand elements or more, so
// the pool's hand-off stays small next to the work.
func rowsPerTask(d int) int { return max(1, 4096/max(d, 1)) }

// forRows runs f over [0, rows) in chunks, in parallel when there is enough
// work to pay for it.
func forRows(rows, d int, f func(r0, r1 int)) {
	step := rowsPerTask(d)
	if rows <= step {
		f(0, rows)
		return
	}
	n := (rows + step - 1) / step
	parallel.Run(n, parallel.Func(func(i int) {
		f(i*step, min(rows, (i+1)*step))
	}))
}

// LayerNormRows is LayerNorm on flat rows: y[r] = (x[r] − mean) ·
// rsqrt(var + eps) · w + b for each of rows rows of d values (b may be nil).
// Mean and variance are accumulated in float64 (two passes), so the result
// is within a rounding or two of the exact value whatever d is. y may be x.
func LayerNormRows(y, x []float32, rows, d int, w, b []float32, eps float32) {
	if rows == 0 || d == 0 {
		return
	}
	_ = y[rows*d-1]
	_ = x[rows*d-1]
	_ = w[d-1]
	forRows(rows, d, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			var sum float64
			for _, v := range xr {
				sum += float64(v)
			}
			mean := sum / float64(d)
			var ss float64
			for _, v := range xr {
				dv := float64(v) - mean
				ss += dv * dv
			}
			rstd := 1 / math.Sqrt(ss/float64(d)+float64(eps))
			for i, v := range xr {
				o := (float64(v) - mean) * rstd * float64(w[i])
				if b != nil {
					o += float64(b[i])
				}
				yr[i] = float32(o)
			}
		}
	})
}

// RMSNormRows is RMSNorm on flat rows: y[r] = x[r] · rsqrt(mean(x[r]²) + eps)
// · w, accumulated in float64. y may be x.
func RMSNormRows(y, x []float32, rows, d int, w []float32, eps float32) {
	if rows == 0 || d == 0 {
		return
	}
	_ = y[rows*d-1]
	_ = x[rows*d-1]
	_ = w[d-1]
	forRows(rows, d, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			s := 1 / math.Sqrt(ss/float64(d)+float64(eps))
			for i, v := range xr {
				yr[i] = float32(float64(v) * s * float64(w[i]))
			}
		}
	})
}
