package nn

// Float64 reductions of float32 rows for the norms, each with four
// independent accumulators: one accumulator makes every element wait for the
// previous addition (a 3–4 cycle chain), four let the additions overlap.
// The order of the additions differs from a plain loop only in float64
// rounding, far below the float32 results' ulp.

// sum64 is Σ x[i].
func sum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	for len(x) >= 4 {
		s0 += float64(x[0])
		s1 += float64(x[1])
		s2 += float64(x[2])
		s3 += float64(x[3])
		x = x[4:]
	}
	for _, v := range x {
		s0 += float64(v)
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDev64 is Σ (x[i] − mu)².
func sqDev64(x []float32, mu float64) float64 {
	var s0, s1, s2, s3 float64
	for len(x) >= 4 {
		d0, d1, d2, d3 := float64(x[0])-mu, float64(x[1])-mu, float64(x[2])-mu, float64(x[3])-mu
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		x = x[4:]
	}
	for _, v := range x {
		d := float64(v) - mu
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// gradSums64 is Σ g[i] and Σ g[i]·(x[i] − mu) for g = dy·w (mu = 0 for
// RMSNorm); the three slices have the same length.
func gradSums64(dy, w, x []float32, mu float64) (sg, sgx float64) {
	n := len(x)
	dy, w = dy[:n], w[:n]
	var g0, g1, g2, g3, h0, h1, h2, h3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		a0 := float64(dy[i]) * float64(w[i])
		a1 := float64(dy[i+1]) * float64(w[i+1])
		a2 := float64(dy[i+2]) * float64(w[i+2])
		a3 := float64(dy[i+3]) * float64(w[i+3])
		g0 += a0
		g1 += a1
		g2 += a2
		g3 += a3
		h0 += a0 * (float64(x[i]) - mu)
		h1 += a1 * (float64(x[i+1]) - mu)
		h2 += a2 * (float64(x[i+2]) - mu)
		h3 += a3 * (float64(x[i+3]) - mu)
	}
	for ; i < n; i++ {
		a := float64(dy[i]) * float64(w[i])
		g0 += a
		h0 += a * (float64(x[i]) - mu)
	}
	return (g0 + g1) + (g2 + g3), (h0 + h1) + (h2 + h3)
}
