package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
)

// LinearForward against the float64 twin. A k-term float32 dot product has
// relative error about k·2^-24 in the worst case; 1e-6 norm-wise is wide at
// k ≤ 37. An empty contraction (in = 0) must give exactly the bias.
func TestLinearForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range []struct {
		m, in, out int
		bias       bool
	}{{1, 1, 1, true}, {3, 7, 5, false}, {6, 37, 11, true}, {2, 0, 3, true}, {2, 0, 3, false}} {
		x, w := randSlice(rng, s.m*s.in, 1, 0), randSlice(rng, s.out*s.in, 1, 0)
		var b []float32
		var b64 []float64
		if s.bias {
			b = randSlice(rng, s.out, 1, 0)
			b64 = to64(b)
		}
		y := randSlice(rng, s.m*s.out, 1, 0) // overwritten
		LinearForward(y, x, w, b, s.m, s.in, s.out)
		want := linear64(to64(x), to64(w), b64, s.m, s.in, s.out)
		if err := gradErr(y, want, 1e-6, 0); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

// Any of LinearBackward's outputs may be nil; the others must be exactly
// what the full call computes.
func TestLinearBackwardNil(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const m, in, out = 5, 6, 7
	x, w, dy := randSlice(rng, m*in, 1, 0), randSlice(rng, out*in, 1, 0), randSlice(rng, m*out, 1, 0)
	dx, dw, db := make([]float32, m*in), make([]float32, out*in), make([]float32, out)
	LinearBackward(dx, dw, db, dy, x, w, m, in, out)
	for _, keep := range [][3]bool{{true, false, false}, {false, true, false}, {false, false, true}, {false, false, false}} {
		var gx, gw, gb []float32
		if keep[0] {
			gx = make([]float32, m*in)
		}
		if keep[1] {
			gw = make([]float32, out*in)
		}
		if keep[2] {
			gb = make([]float32, out)
		}
		LinearBackward(gx, gw, gb, dy, x, w, m, in, out)
		if keep[0] && !slices.Equal(gx, dx) || keep[1] && !slices.Equal(gw, dw) || keep[2] && !slices.Equal(gb, db) {
			t.Errorf("keep %v: partial backward differs from the full one", keep)
		}
	}
}

// The saved statistics are the float64 values rounded once: within half a
// float32 ulp (2^-24 relative) of the float64 formula.
func TestNormSavedStatistics(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	const rows, d, eps = 5, 9, 1e-5
	x, w := randSlice(rng, rows*d, 2, 1), randSlice(rng, d, 1, 0)
	y, yRef := make([]float32, rows*d), make([]float32, rows*d)
	mean, rstd, rms := make([]float32, rows), make([]float32, rows), make([]float32, rows)
	LayerNormForward(y, mean, rstd, x, w, nil, rows, d, eps)
	LayerNormRows(yRef, x, rows, d, w, nil, eps)
	if !slices.Equal(y, yRef) {
		t.Error("LayerNormForward and LayerNormRows differ")
	}
	RMSNormForward(y, rms, x, w, rows, d, eps)
	RMSNormRows(yRef, x, rows, d, w, eps)
	if !slices.Equal(y, yRef) {
		t.Error("RMSNormForward and RMSNormRows differ")
	}
	for r := range rows {
		var mu, ms, v float64
		for _, e := range x[r*d : (r+1)*d] {
			mu += float64(e)
			ms += float64(e) * float64(e)
		}
		mu /= d
		ms /= d
		for _, e := range x[r*d : (r+1)*d] {
			v += (float64(e) - mu) * (float64(e) - mu)
		}
		v /= d
		check := func(name string, got float32, want float64) {
			if numcheck.Exceeds(math.Abs(float64(got)-want), math.Abs(want)*0x1p-24) {
				t.Errorf("row %d %s = %v, want %v", r, name, got, want)
			}
		}
		check("mean", mean[r], mu)
		check("layer norm rstd", rstd[r], 1/math.Sqrt(v+eps))
		check("rms norm rstd", rms[r], 1/math.Sqrt(ms+eps))
	}
}

// Inputs large enough to be split over the worker pool must give the same
// numbers as the serial path. Per-row and per-element results are computed
// by the same code either way and must match exactly; column sums over rows
// (dw, db) are compared with the float64 sum of the one-row results, within
// 1e-6 norm-wise (each one-row result carries one float32 rounding, 2^-24,
// and the sums here have at most 300 terms of mixed sign).
func TestBackwardParallelMatchesSerial(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))

	t.Run("norms", func(t *testing.T) {
		const rows, d, eps = 300, 70, 1e-5
		x, w, b, dy := randSlice(rng, rows*d, 1, 0.5), randSlice(rng, d, 1, 1), randSlice(rng, d, 1, 0), randSlice(rng, rows*d, 1, 0)
		y, mean, rstd, rms := make([]float32, rows*d), make([]float32, rows), make([]float32, rows), make([]float32, rows)
		LayerNormForward(y, mean, rstd, x, w, b, rows, d, eps)
		dx, dw, db := make([]float32, rows*d), make([]float32, d), make([]float32, d)
		LayerNormBackward(dx, dw, db, dy, x, w, mean, rstd, rows, d)
		RMSNormForward(y, rms, x, w, rows, d, eps)
		rx, rw := make([]float32, rows*d), make([]float32, d)
		RMSNormBackward(rx, rw, dy, x, w, rms, rows, d)

		sx, sr := make([]float32, rows*d), make([]float32, rows*d)
		sw, sb, srw := make([]float64, d), make([]float64, d), make([]float64, d)
		for r := range rows {
			o := r * d
			gw, gb, grw := make([]float32, d), make([]float32, d), make([]float32, d)
			LayerNormBackward(sx[o:o+d], gw, gb, dy[o:o+d], x[o:o+d], w, mean[r:r+1], rstd[r:r+1], 1, d)
			RMSNormBackward(sr[o:o+d], grw, dy[o:o+d], x[o:o+d], w, rms[r:r+1], 1, d)
			for i := range d {
				sw[i] += float64(gw[i])
				sb[i] += float64(gb[i])
				srw[i] += float64(grw[i])
			}
		}
		if !slices.Equal(dx, sx) || !slices.Equal(rx, sr) {
			t.Error("parallel dx differs from row-by-row dx")
		}
		for name, c := range map[string]struct {
			got  []float32
			want []float64
		}{"layer norm dw": {dw, sw}, "layer norm db": {db, sb}, "rms norm dw": {rw, srw}} {
			if err := gradErr(c.got, c.want, 1e-6, 0); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("linear bias", func(t *testing.T) {
		const m, in, out = 100, 3, 200 // four column blocks, the last partial
		dy := randSlice(rng, m*out, 1, 0)
		db := make([]float32, out)
		LinearBackward(nil, nil, db, dy, nil, nil, m, in, out)
		want := make([]float64, out)
		for r := range m {
			for o := range out {
				want[o] += float64(dy[r*out+o])
			}
		}
		for o := range out {
			if db[o] != float32(want[o]) {
				t.Fatalf("db[%d] = %v, want %v", o, db[o], float32(want[o]))
			}
		}
	})

	t.Run("embedding and positions", func(t *testing.T) {
		const num, dim, n = 9, 600, 100 // three column blocks
		ids := make([]int, n)
		for i := range ids {
			ids[i] = rng.IntN(num)
		}
		dy := randSlice(rng, n*dim, 1, 0)
		got, want := make([]float32, num*dim), make([]float32, num*dim)
		EmbeddingBackward(got, dy, ids, dim)
		for i, id := range ids {
			for c := range dim {
				want[id*dim+c] += dy[i*dim+c]
			}
		}
		if !slices.Equal(got, want) {
			t.Error("embedding backward differs from the serial scatter")
		}
		const batch, T, off, d = 3, 2000, 5, 5
		dp := randSlice(rng, batch*T*d, 1, 0)
		gotP, wantP := make([]float32, (T+off)*d), make([]float32, (T+off)*d)
		LearnedPositionsBackward(gotP, dp, batch, T, off, d)
		for i := range T * d {
			var s float64
			for b := range batch {
				s += float64(dp[b*T*d+i])
			}
			wantP[off*d+i] = float32(s)
		}
		if !slices.Equal(gotP, wantP) {
			t.Error("positions backward differs from the serial sum")
		}
	})

	t.Run("activations", func(t *testing.T) {
		const n = 10007
		x, up, dy := randSlice(rng, n, 3, 0), randSlice(rng, n, 1, 0), randSlice(rng, n, 1, 0)
		// Every form takes its exp from the vector kernel (about 1.2e-7
		// relative), which moves each term of the derivative by at most
		// twice that: allowed 2 ulps of the result or 4e-7 of the terms'
		// sizes (near the derivative's zero crossing an ulp count alone
		// means nothing; see TestRatioGradients).
		near := func(got float32, want, scale float64) bool {
			w32 := float32(want)
			return ulpDist(got, w32) <= 2 || math.Abs(float64(got)-want) <= 4e-7*math.Abs(scale)
		}
		terms := map[GELUKind]func(float64) float64{GELUErf: geluErfGradTerms, GELUTanh: geluGradTerms}
		for _, kind := range []GELUKind{GELUErf, GELUTanh} {
			dx := make([]float32, n)
			GELUBackward(dx, dy, x, kind)
			for i := range n {
				want := float64(dy[i]) * geluGrad(float64(x[i]), kind)
				if !near(dx[i], want, float64(dy[i])*terms[kind](float64(x[i]))) {
					t.Fatalf("%v backward [%d] = %v, want %v", kind, i, dx[i], want)
				}
			}
		}
		dg, du := make([]float32, n), make([]float32, n)
		SwiGLUBackward(dg, du, dy, x, up)
		for i := range n {
			g, u, d := float64(x[i]), float64(up[i]), float64(dy[i])
			if !near(dg[i], d*u*siluGrad(g), d*u*siluGradTerms(g)) || !near(du[i], d*g/(1+math.Exp(-g)), 0) {
				t.Fatalf("swiglu backward [%d] = %v, %v", i, dg[i], du[i])
			}
		}
	})

	t.Run("cross-entropy", func(t *testing.T) {
		const rows, V, ignore = 3000, 7, -1
		logits := randSlice(rng, rows*V, 2, 0)
		targets := make([]int, rows)
		for i := range targets {
			targets[i] = rng.IntN(V+1) - 1 // about one row in eight ignored
		}
		dl := make([]float32, rows*V)
		sum, count := CrossEntropy(dl, logits, targets, rows, V, 0.1, ignore, 1)
		one := make([]float32, rows*V)
		var ref float64
		var refCount int
		for r := range rows {
			s, c := CrossEntropy(one[r*V:(r+1)*V], logits[r*V:(r+1)*V], targets[r:r+1], 1, V, 0.1, ignore, 1)
			ref += s
			refCount += c
		}
		if !slices.Equal(dl, one) || count != refCount || numcheck.Exceeds(math.Abs(sum-ref), 1e-12*ref) {
			t.Errorf("parallel cross-entropy (%v, %d) differs from row-by-row (%v, %d)", sum, count, ref, refCount)
		}
	})
}

// Zero sizes do nothing, even with nil buffers.
func TestTrainingZeroSizes(t *testing.T) {
	LinearForward(nil, nil, nil, nil, 0, 3, 4)
	LinearBackward(nil, nil, nil, nil, nil, nil, 0, 3, 4)
	LinearBackward(nil, nil, nil, nil, nil, nil, 3, 4, 0)
	LayerNormForward(nil, nil, nil, nil, nil, nil, 0, 5, 1e-5)
	LayerNormBackward(nil, nil, nil, nil, nil, nil, nil, nil, 3, 0)
	RMSNormForward(nil, nil, nil, nil, 0, 5, 1e-5)
	RMSNormBackward(nil, nil, nil, nil, nil, nil, 0, 5)
	EmbeddingForward(nil, nil, nil, 4)
	EmbeddingBackward(nil, nil, nil, 4)
	LearnedPositionsForward(nil, nil, 0, 3, 0, 4)
	LearnedPositionsBackward(nil, nil, 2, 0, 0, 4)
	GELUBackward(nil, nil, nil, GELUErf)
	ReLUBackward(nil, nil, nil)
	SiLUBackward(nil, nil, nil)
	SwiGLUBackward(nil, nil, nil, nil, nil)
	DropoutForward(nil, nil, 0.5, 1, 0)
	DropoutBackward(nil, nil, 0.5, 1, 0)
	if s, c := CrossEntropy(nil, nil, nil, 0, 5, 0.1, -1, 1); s != 0 || c != 0 {
		t.Errorf("empty cross-entropy = %v, %d", s, c)
	}
	// A linear layer with no inputs: y = b, and only db has a gradient.
	y := []float32{9, 9, 9, 9}
	LinearForward(y, nil, nil, []float32{1, 2}, 2, 0, 2)
	db := make([]float32, 2)
	LinearBackward(nil, nil, db, []float32{1, 2, 3, 4}, nil, nil, 2, 0, 2)
	if !slices.Equal(y, []float32{1, 2, 1, 2}) || !slices.Equal(db, []float32{4, 6}) {
		t.Errorf("in=0: y = %v, db = %v", y, db)
	}
}

// The slice-level forwards match the tensor-level layers.
func TestEmbeddingAndPositionsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	e, _ := NewEmbedding(10, 4, rng)
	ids := []int{3, 0, 9, 3, 1, 2}
	want, _ := e.Forward(ids, 2, 3)
	y := make([]float32, len(ids)*4)
	EmbeddingForward(y, e.Weight.Data(), ids, 4)
	if !slices.Equal(y, want.Data()) {
		t.Error("EmbeddingForward differs from Embedding.Forward")
	}
	p, _ := NewLearnedPositionalEmbedding(8, 4, rng)
	pe, _ := p.Forward(3, 2)
	x := randSlice(rng, 2*3*4, 1, 0)
	wantX := append([]float32(nil), x...)
	for b := range 2 {
		for i := range 3 * 4 {
			wantX[b*12+i] += pe.Values()[i]
		}
	}
	LearnedPositionsForward(x, p.Weight.Data(), 2, 3, 2, 4)
	if !slices.Equal(x, wantX) {
		t.Error("LearnedPositionsForward differs from adding Forward's rows")
	}
}
