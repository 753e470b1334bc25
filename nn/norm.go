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
// It is LayerNormForward without saved statistics.
func LayerNormRows(y, x []float32, rows, d int, w, b []float32, eps float32) {
	LayerNormForward(y, nil, nil, x, w, b, rows, d, eps)
}

// RMSNormRows is RMSNorm on flat rows: y[r] = x[r] · rsqrt(mean(x[r]²) + eps)
// · w, accumulated in float64. y may be x. It is RMSNormForward without
// saved statistics.
func RMSNormRows(y, x []float32, rows, d int, w []float32, eps float32) {
	RMSNormForward(y, nil, x, w, rows, d, eps)
}

// Training forms. Saved state: LayerNorm keeps mean [rows] and rstd [rows]
// (1/sqrt(var + eps)), RMSNorm keeps rstd [rows] (1/sqrt(mean(x²) + eps));
// both backwards also read the forward's input x and weight w. When y is x
// the input is gone, so training calls need a separate y.

// LayerNormForward is LayerNormRows that also writes each row's mean and
// rstd = 1/sqrt(var + eps) (rounded to float32) into mean [rows] and rstd
// [rows] for LayerNormBackward. mean and rstd may be nil (inference).
func LayerNormForward(y, mean, rstd, x, w, b []float32, rows, d int, eps float32) {
	if rows == 0 || d == 0 {
		return
	}
	_ = y[rows*d-1]
	_ = x[rows*d-1]
	_ = w[d-1]
	if b != nil {
		_ = b[d-1]
	}
	if mean != nil {
		_ = mean[rows-1]
	}
	if rstd != nil {
		_ = rstd[rows-1]
	}
	forRows(rows, d, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			mu := sum64(xr) / float64(d)
			s := 1 / math.Sqrt(sqDev64(xr, mu)/float64(d)+float64(eps))
			if mean != nil {
				mean[r] = float32(mu)
			}
			if rstd != nil {
				rstd[r] = float32(s)
			}
			for i, v := range xr {
				o := (float64(v) - mu) * s * float64(w[i])
				if b != nil {
					o += float64(b[i])
				}
				yr[i] = float32(o)
			}
		}
	})
}

// LayerNormBackward adds the gradients of LayerNormForward into dx [rows,d],
// dw [d] and db [d], from dy [rows,d], the forward's input x and weight w and
// its saved mean and rstd. With x̂ = (x − mean)·rstd and g = dy·w:
//
//	dx += rstd · (g − mean(g) − x̂·mean(g·x̂))
//	dw += Σ_rows dy·x̂,   db += Σ_rows dy
//
// dx and db may be nil to skip them (db is nil for a layer without bias);
// w is required. Row sums and the dw/db column sums are accumulated in
// float64. Gradient buffers must not overlap the inputs.
func LayerNormBackward(dx, dw, db, dy, x, w, mean, rstd []float32, rows, d int) {
	if rows == 0 || d == 0 {
		return
	}
	_ = dy[rows*d-1]
	_ = x[rows*d-1]
	_ = w[d-1]
	_ = mean[rows-1]
	_ = rstd[rows-1]
	if dx != nil {
		_ = dx[rows*d-1]
		forRows(rows, d, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				xr, dyr, dxr := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
				mu, s := float64(mean[r]), float64(rstd[r])
				sg, sgx := gradSums64(dyr, w, xr, mu)
				sg /= float64(d)
				sgx *= s / float64(d)
				for i, v := range xr {
					g := float64(dyr[i]) * float64(w[i])
					xh := (float64(v) - mu) * s
					dxr[i] = float32(float64(dxr[i]) + s*(g-sg-xh*sgx))
				}
			}
		})
	}
	if dw != nil || db != nil {
		normParamGrads(dw, db, dy, x, mean, rstd, rows, d)
	}
}

// normParamGrads adds Σ_rows dy·x̂ into dw and Σ_rows dy into db (either may
// be nil), with x̂ = (x − mean)·rstd and mean nil meaning zero (RMSNorm).
// Blocks of columns are the parallel items, so no two tasks write the same
// element; each column is summed in float64.
func normParamGrads(dw, db, dy, x, mean, rstd []float32, rows, d int) {
	const block = 64
	if dw != nil {
		_ = dw[d-1]
	}
	if db != nil {
		_ = db[d-1]
	}
	nb := (d + block - 1) / block
	forRows(nb, rows*block, func(b0, b1 int) {
		for blk := b0; blk < b1; blk++ {
			c0, c1 := blk*block, min(d, (blk+1)*block)
			var aw, ab [block]float64
			w := c1 - c0
			mu := func(r int) float64 {
				if mean == nil {
					return 0
				}
				return float64(mean[r])
			}
			r := 0
			// Four rows per pass over the accumulators (a quarter of
			// their loads and stores), as in colSums.
			for ; r+4 <= rows; r += 4 {
				m0, m1, m2, m3 := mu(r), mu(r+1), mu(r+2), mu(r+3)
				s0, s1, s2, s3 := float64(rstd[r]), float64(rstd[r+1]), float64(rstd[r+2]), float64(rstd[r+3])
				x0, g0 := x[r*d+c0:][:w], dy[r*d+c0:][:w]
				x1, g1 := x[(r+1)*d+c0:][:w], dy[(r+1)*d+c0:][:w]
				x2, g2 := x[(r+2)*d+c0:][:w], dy[(r+2)*d+c0:][:w]
				x3, g3 := x[(r+3)*d+c0:][:w], dy[(r+3)*d+c0:][:w]
				for j := range aw[:w] {
					a0, a1, a2, a3 := float64(g0[j]), float64(g1[j]), float64(g2[j]), float64(g3[j])
					aw[j] += (a0*(float64(x0[j])-m0)*s0 + a1*(float64(x1[j])-m1)*s1) + (a2*(float64(x2[j])-m2)*s2 + a3*(float64(x3[j])-m3)*s3)
					ab[j] += (a0 + a1) + (a2 + a3)
				}
			}
			for ; r < rows; r++ {
				m, s := mu(r), float64(rstd[r])
				xr := x[r*d+c0 : r*d+c1]
				for j, g := range dy[r*d+c0 : r*d+c1] {
					aw[j] += float64(g) * (float64(xr[j]) - m) * s
					ab[j] += float64(g)
				}
			}
			for j := c0; j < c1; j++ {
				if dw != nil {
					dw[j] = float32(float64(dw[j]) + aw[j-c0])
				}
				if db != nil {
					db[j] = float32(float64(db[j]) + ab[j-c0])
				}
			}
		}
	})
}

// RMSNormForward is RMSNormRows that also writes each row's rstd =
// 1/sqrt(mean(x²) + eps) (rounded to float32) into rstd [rows] for
// RMSNormBackward. rstd may be nil (inference).
func RMSNormForward(y, rstd, x, w []float32, rows, d int, eps float32) {
	if rows == 0 || d == 0 {
		return
	}
	_ = y[rows*d-1]
	_ = x[rows*d-1]
	_ = w[d-1]
	if rstd != nil {
		_ = rstd[rows-1]
	}
	forRows(rows, d, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			s := 1 / math.Sqrt(sqDev64(xr, 0)/float64(d)+float64(eps))
			if rstd != nil {
				rstd[r] = float32(s)
			}
			for i, v := range xr {
				yr[i] = float32(float64(v) * s * float64(w[i]))
			}
		}
	})
}

// RMSNormBackward adds the gradients of RMSNormForward into dx [rows,d] and
// dw [d], from dy [rows,d], the forward's input x and weight w and its saved
// rstd. With s = rstd and g = dy·w:
//
//	dx += s · (g − x·s²·mean(g·x))
//	dw += Σ_rows dy·x·s
//
// dx or dw may be nil to skip it. Gradient buffers must not overlap the
// inputs.
func RMSNormBackward(dx, dw, dy, x, w, rstd []float32, rows, d int) {
	if rows == 0 || d == 0 {
		return
	}
	_ = dy[rows*d-1]
	_ = x[rows*d-1]
	_ = w[d-1]
	_ = rstd[rows-1]
	if dx != nil {
		_ = dx[rows*d-1]
		forRows(rows, d, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				xr, dyr, dxr := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
				s := float64(rstd[r])
				_, sgx := gradSums64(dyr, w, xr, 0)
				c := s * s * sgx / float64(d)
				for i, v := range xr {
					g := float64(dyr[i]) * float64(w[i])
					dxr[i] = float32(float64(dxr[i]) + s*(g-float64(v)*c))
				}
			}
		})
	}
	if dw != nil {
		normParamGrads(dw, nil, dy, x, nil, rstd, rows, d)
	}
}

// Backward adds the gradients of Forward(x) into dx (the shape of x),
// dWeight [D] and dBias [D], from dy, the gradient of Forward's output. The
// statistics are recomputed from x. Any gradient tensor may be nil; the
// others must be contiguous. It is LayerNormBackward on tensors.
func (l *LayerNorm) Backward(dx, dWeight, dBias, dy, x *tensor.Tensor) error {
	if l.Bias == nil && dBias != nil {
		return fmt.Errorf("nn: layer norm has no bias to take a gradient")
	}
	return normBackward("layer norm", dx, dWeight, dBias, dy, x, l.Weight, l.Eps, func(gx, gw, gb, dy, x, w []float32, rows, d int) {
		y, mean, rstd := make([]float32, rows*d), make([]float32, rows), make([]float32, rows)
		LayerNormForward(y, mean, rstd, x, w, nil, rows, d, l.Eps)
		LayerNormBackward(gx, gw, gb, dy, x, w, mean, rstd, rows, d)
	})
}

// Backward adds the gradients of Forward(x) into dx (the shape of x) and
// dWeight [D], from dy, the gradient of Forward's output. The statistics are
// recomputed from x. Either gradient tensor may be nil; the others must be
// contiguous. It is RMSNormBackward on tensors.
func (l *RMSNorm) Backward(dx, dWeight, dy, x *tensor.Tensor) error {
	return normBackward("rms norm", dx, dWeight, nil, dy, x, l.Weight, l.Eps, func(gx, gw, _, dy, x, w []float32, rows, d int) {
		y, rstd := make([]float32, rows*d), make([]float32, rows)
		RMSNormForward(y, rstd, x, w, rows, d, l.Eps)
		RMSNormBackward(gx, gw, dy, x, w, rstd, rows, d)
	})
}

func normBackward(name string, dx, dWeight, dBias, dy, x, weight *tensor.Tensor, eps float32, run func(gx, gw, gb, dy, x, w []float32, rows, d int)) error {
	if weight == nil || weight.Rank() != 1 {
		return fmt.Errorf("nn: %s weight must be [D]", name)
	}
	D := weight.Dim(0)
	if x == nil || x.Rank() < 1 || x.Dim(x.Rank()-1) != D {
		var got []int
		if x != nil {
			got = x.Shape()
		}
		return fmt.Errorf("nn: %s input has shape %v, want [... D=%d]", name, got, D)
	}
	if e := float64(eps); !(e >= 0) || math.IsInf(e, 0) {
		return fmt.Errorf("nn: %s eps is %v, want a finite number >= 0", name, eps)
	}
	if err := sameShape("nn: "+name+" output gradient", dy, x.Shape()); err != nil {
		return err
	}
	gx, err := gradData("nn: "+name+" input gradient", dx, x.Shape())
	if err != nil {
		return err
	}
	gw, err := gradData("nn: "+name+" weight gradient", dWeight, []int{D}, "D")
	if err != nil {
		return err
	}
	gb, err := gradData("nn: "+name+" bias gradient", dBias, []int{D}, "D")
	if err != nil {
		return err
	}
	run(gx, gw, gb, dy.Contiguous().Values(), x.Contiguous().Values(), weight.Contiguous().Values(), leadingRows(x), D)
	return nil
}
