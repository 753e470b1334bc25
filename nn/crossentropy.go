package nn

import (
	"fmt"
	"math"

	"github.com/attn-go/attn/internal/parallel"
)

// Shapes in this file: logits and dlogits are [rows, V] with row stride V;
// targets is [rows].

// CrossEntropy computes the softmax cross-entropy of each row of logits
// against its target class, with label smoothing eps as PyTorch defines it
// (nn.CrossEntropyLoss(label_smoothing=eps)):
//
//	loss_r = (1−eps)·(−log p_r[t]) + eps·mean_c(−log p_r[c])
//	       = lse_r − (1−eps)·logits_r[t] − eps·mean_c(logits_r[c])
//
// where p_r = softmax(logits_r) and lse_r = log Σ_c exp(logits_r[c]). A row
// whose target equals ignore counts for nothing. It returns the sum of the
// counted rows' losses and how many rows were counted; PyTorch's "mean"
// reduction is sum/count (and 0/0 when every row is ignored).
//
// When dlogits is not nil it is overwritten with the gradient of sum/scale:
//
//	dlogits_r[c] = (p_r[c] − eps/V − (1−eps)·[c = t]) / scale
//
// and zero on ignored rows. Pass scale = count for the mean reduction (count
// is known before the call: the rows whose target is not ignore), 1 for the
// sum. dlogits may be logits itself, turning the logits into their gradient
// in place.
//
// The row maximum is subtracted before exponentiation, and the log-sum-exp,
// the row means and the loss are accumulated in float64, so every row loss
// is within a few float64 roundings of the exact value for the float32
// logits. A target outside [0, V) other than ignore panics (callers validate
// targets).
func CrossEntropy(dlogits, logits []float32, targets []int, rows, V int, smoothing float32, ignore int, scale float32) (sum float64, count int) {
	if rows == 0 {
		return 0, 0
	}
	_ = targets[rows-1]
	for r, t := range targets[:rows] {
		if t == ignore {
			continue
		}
		if t < 0 || t >= V {
			panic(fmt.Sprintf("nn: cross-entropy target %d in row %d is outside [0, %d) and not the ignore index %d", t, r, V, ignore))
		}
		count++
	}
	if V > 0 {
		_ = logits[rows*V-1]
		if dlogits != nil {
			_ = dlogits[rows*V-1]
		}
	}
	eps := float64(smoothing)
	inv := 1 / float64(scale)
	step := rowsPerTask(V)
	parts := make([]float64, (rows+step-1)/step)
	parallel.Run(len(parts), parallel.Func(func(p int) {
		var s float64
		for r := p * step; r < min(rows, (p+1)*step); r++ {
			s += crossEntropyRow(dlogits, logits, r, targets[r], V, eps, ignore, inv)
		}
		parts[p] = s
	}))
	for _, s := range parts {
		sum += s
	}
	return sum, count
}

// crossEntropyRow returns row r's loss (0 when ignored) and, when dlogits
// is not nil, writes its gradient scaled by inv.
func crossEntropyRow(dlogits, logits []float32, r, t, V int, eps float64, ignore int, inv float64) float64 {
	var dl []float32
	if dlogits != nil {
		dl = dlogits[r*V : (r+1)*V]
	}
	if t == ignore {
		clear(dl)
		return 0
	}
	l := logits[r*V : (r+1)*V]
	m := math.Inf(-1)
	var total float64
	for _, v := range l {
		m = math.Max(m, float64(v))
		total += float64(v)
	}
	lt := float64(l[t])
	var z float64
	if dl == nil {
		for _, v := range l {
			z += math.Exp(float64(v) - m)
		}
	} else {
		// Keep exp(l − m) in dl (it may be l itself: l is no longer
		// needed once its maximum, sum and target value are known).
		for c, v := range l {
			e := math.Exp(float64(v) - m)
			z += e
			dl[c] = float32(e)
		}
		// A float64 1/z and ε/V, then one rounding per element.
		rz, off := 1/z, eps/float64(V)
		for c, e := range dl {
			g := float64(e)*rz - off
			if c == t {
				g -= 1 - eps
			}
			dl[c] = float32(g * inv)
		}
	}
	lse := m + math.Log(z)
	return lse - (1-eps)*lt - eps*total/float64(V)
}
