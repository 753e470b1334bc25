package kernel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/internal/parallel"
)

type gemmFn = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

type namedGemm struct {
	name string
	fn   gemmFn
}

// availableGemms lists every variant this machine can run, each in its
// parallel (Gemm) form and, for the blocked ones, its GemmSerial form (which
// takes the unpacked paths on small operands).
func availableGemms() []namedGemm {
	var out []namedGemm
	for _, v := range GemmVariants() {
		if !v.Available {
			continue
		}
		out = append(out, namedGemm{v.Name, v.Fn})
		for _, g := range gemmImpls {
			if g.name == v.Name && g.spec != nil {
				spec := g.spec
				out = append(out, namedGemm{v.Name + "/serial", func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
					checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
					gemmBlocked(spec, true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				}})
			}
		}
	}
	return out
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            [3]int // lda-cols(A), ldb-cols(B), ldc-n
}

func (c gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%v,beta=%v,pad=%v", c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.beta, c.pad)
}

// gemmTol is the error allowed in one element of C. An element is a k-term
// float32 dot product (summed in k order by FMA in the blocked kernels, in
// 8 lanes by GemmRef, split at kc by the blocking) plus alpha/beta scaling.
// Rounding error is at most k·2^-24·mag and in practice (random signs) near
// sqrt(k)·2^-24·mag, where mag = Σ|alpha·a·b| + |beta·c| is the float64 sum
// of magnitudes; we allow 4·2^-24·(sqrt(k)+2)·mag. An indexing mistake (a
// wrong, missing or extra term) is off by O(|a·b|) ≈ mag/k ≫ tol for
// every k tested here.
func gemmTol(k int, mag float64) float64 {
	return 4 * 0x1p-24 * (math.Sqrt(float64(k)) + 2) * mag
}

// checkGemmCase runs fn on one case with NaN guard bands in the padding of
// A, B and C (reading A or B padding turns the result NaN; writing C padding
// is caught) and compares with the float64 definition.
func checkGemmCase(t *testing.T, rng *rand.Rand, g namedGemm, tc gemmCase) {
	t.Helper()
	nan := float32(math.NaN())
	m, n, k := tc.m, tc.n, tc.k
	ar, ac := m, k
	if tc.transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tc.transB {
		br, bc = n, k
	}
	lda, ldb, ldc := max(ac+tc.pad[0], 1), max(bc+tc.pad[1], 1), max(n+tc.pad[2], 1)
	a := nanMatrix(rng, ar, ac, lda)
	b := nanMatrix(rng, br, bc, ldb)
	c := make([]float32, m*ldc+5)
	for i := range c {
		c[i] = nan
	}
	if tc.beta != 0 {
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				c[i*ldc+j] = float32(rng.NormFloat64())
			}
		}
	}
	want, mag := gemm64Mag(tc, a, lda, b, ldb, c, ldc)
	g.fn(tc.transA, tc.transB, m, n, k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if !math.IsNaN(float64(got)) {
					t.Fatalf("%s %v: guard C[%d,%d] overwritten with %v", g.name, tc, i, j, got)
				}
				continue
			}
			w := want[i*n+j]
			tol := gemmTol(k, mag[i*n+j])
			if d := math.Abs(float64(got) - w); numcheck.Exceeds(d, tol) {
				t.Fatalf("%s %v: C[%d,%d] = %v, want %v (tol %g)", g.name, tc, i, j, got, w, tol)
			}
		}
	}
	for _, v := range c[m*ldc:] {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("%s %v: guard after C overwritten", g.name, tc)
		}
	}
}

// nanMatrix is a rows×cols random matrix with leading dimension ld whose
// padding columns hold NaN.
func nanMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	x := make([]float32, rows*ld)
	for i := range x {
		if i%ld < cols {
			x[i] = float32(rng.NormFloat64())
		} else {
			x[i] = float32(math.NaN())
		}
	}
	return x
}

// gemm64Mag is the float64 definition of Gemm and, per element, Σ|terms|.
func gemm64Mag(tc gemmCase, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (out, mag []float64) {
	m, n, k := tc.m, tc.n, tc.k
	out, mag = make([]float64, m*n), make([]float64, m*n)
	alpha, beta := float64(tc.alpha), float64(tc.beta)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tc.transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tc.transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			out[i*n+j], mag[i*n+j] = alpha*s, math.Abs(alpha)*sa
			if beta != 0 {
				out[i*n+j] += beta * float64(c[i*ldc+j])
				mag[i*n+j] += math.Abs(beta * float64(c[i*ldc+j]))
			}
		}
	}
	return out, mag
}

// Sizes around every micro-tile edge (mr 4, 6, 14; nr 4, 16, 32) and a
// large one.
var edgeSizes = []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000}

var transForms = [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}

// TestGemmEdges sweeps each dimension over edgeSizes with the others held
// at awkward values, for every variant and transpose form, with padded
// leading dimensions.
func TestGemmEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, g := range availableGemms() {
		big := 1000
		if g.name == "ref" || testing.Short() || raceEnabled {
			big = 300
		}
		sz := func(s int) int { return min(s, big) }
		for _, tr := range transForms {
			for _, s := range edgeSizes {
				s = sz(s)
				for _, o := range []int{1, 17, 33} {
					checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: s, n: o, k: 19, alpha: 1.5, beta: 0, pad: [3]int{2, 3, 1}})
					checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: o, n: s, k: 9, alpha: -0.5, beta: 0.25, pad: [3]int{0, 1, 3}})
					checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: o, n: 7, k: s, alpha: 1, beta: 1, pad: [3]int{1, 0, 0}})
				}
				checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: s, n: s, k: min(s, 70), alpha: 0.75, beta: -1, pad: [3]int{5, 2, 4}})
			}
		}
	}
}

// TestGemmBlockEdges crosses the cache-block boundaries: k around kc (256,
// 512, several blocks of balanced depth: 1030 is three blocks of 344), m
// around and beyond mc (144, 252; several row blocks, uneven split), n
// beyond nc (several column blocks).
func TestGemmBlockEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, g := range availableGemms() {
		if g.name == "ref" || (raceEnabled && g.name != "purego") {
			// Under the race detector one blocked variant covers the
			// driver's block logic (the kernels are not instrumented).
			continue
		}
		for _, tr := range transForms {
			for _, k := range []int{191, 192, 193, 255, 256, 257, 511, 512, 513, 600, 1030} {
				checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: 23, n: 37, k: k, alpha: 1.5, beta: 0.5, pad: [3]int{1, 1, 1}})
			}
			for _, m := range []int{143, 144, 145, 251, 252, 253, 335, 337, 700} {
				checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: m, n: 41, k: 260, alpha: 1, beta: 0, pad: [3]int{0, 0, 2}})
			}
			checkGemmCase(t, rng, g, gemmCase{transA: tr[0], transB: tr[1], m: 9, n: 4100, k: 13, alpha: 2, beta: 0.5, pad: [3]int{3, 1, 1}})
		}
	}
}

// TestGemmScalars covers alpha and beta special values and k = 0.
func TestGemmScalars(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, g := range availableGemms() {
		for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-1, 1}, {0.5, -2}, {0, 0}, {0, 0.5}, {3, float32(math.Copysign(0, -1))}} {
			for _, k := range []int{0, 1, 40} {
				checkGemmCase(t, rng, g, gemmCase{m: 13, n: 35, k: k, alpha: ab[0], beta: ab[1], pad: [3]int{1, 2, 3}})
				checkGemmCase(t, rng, g, gemmCase{transB: true, m: 64, n: 64, k: k, alpha: ab[0], beta: ab[1], pad: [3]int{0, 0, 0}})
			}
		}
	}
}

// The fused attention kernel's shapes: 64×64×64 tiles, NT with alpha =
// scale and NN accumulating (beta = 1), rows of a wider [T, H·Dh] buffer.
func TestGemmAttentionTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, g := range availableGemms() {
		for _, mnk := range [][3]int{{64, 64, 64}, {64, 64, 128}, {17, 64, 64}, {64, 33, 64}, {1, 64, 64}} {
			checkGemmCase(t, rng, g, gemmCase{transB: true, m: mnk[0], n: mnk[1], k: mnk[2], alpha: 0.125, beta: 0, pad: [3]int{704, 704, 0}})
			checkGemmCase(t, rng, g, gemmCase{m: mnk[0], n: mnk[2], k: mnk[1], alpha: 1, beta: 1, pad: [3]int{0, 704, 704}})
		}
	}
}

// After warm-up, Gemm and GemmSerial allocate nothing.
func TestGemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	for _, g := range availableGemms() {
		for _, tc := range []gemmCase{{m: 200, n: 300, k: 150}, {transB: true, m: 64, n: 64, k: 64}, {m: 64, n: 64, k: 64}, {transA: true, m: 31, n: 500, k: 70}, {transB: true, m: 1, n: 2304, k: 768}, {transB: true, m: 64, n: 2304, k: 768}, {transA: true, m: 3, n: 700, k: 64}} {
			a := randSlice(rng, tc.m*tc.k)
			b := randSlice(rng, tc.k*tc.n)
			c := make([]float32, tc.m*tc.n)
			lda, ldb := tc.k, tc.n
			if tc.transA {
				lda = tc.m
			}
			if tc.transB {
				ldb = tc.k
			}
			run := func() { g.fn(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c, tc.n) }
			run()
			if n := testing.AllocsPerRun(20, run); n != 0 {
				t.Errorf("%s %v: %v allocations per call", g.name, tc, n)
			}
		}
	}
}

// GemmSerial from many goroutines at once, and Gemm nested inside parallel
// tasks: each result must match a lone call (run with -race).
func TestGemmConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const m, n, k = 96, 80, 72
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	want := make([]float32, m*n)
	Gemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
	const tasks = 8
	out := make([][]float32, tasks)
	var wg sync.WaitGroup
	for i := range out {
		out[i] = make([]float32, m*n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			GemmSerial(false, true, m, n, k, 1, a, k, b, k, 0, out[i], n)
		}()
	}
	wg.Wait()
	parallel.Run(tasks, parallel.Func(func(i int) {
		c := make([]float32, m*n)
		Gemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
		for j := range c {
			if c[j] != want[j] {
				panic(fmt.Sprintf("nested Gemm differs at %d", j))
			}
		}
	}))
	for i := range out {
		for j := range want {
			if out[i][j] != want[j] {
				t.Fatalf("goroutine %d: C[%d] = %v, want %v", i, j, out[i][j], want[j])
			}
		}
	}
}

func TestGemmVariantRegistry(t *testing.T) {
	names := map[string]bool{}
	for _, v := range GemmVariants() {
		names[v.Name] = true
		if v.Fn == nil {
			t.Errorf("%s: nil Fn", v.Name)
		}
		err := SetGemmVariant(v.Name)
		if v.Available != (err == nil) {
			t.Errorf("%s: Available %v but SetGemmVariant: %v", v.Name, v.Available, err)
		}
		if err == nil && GemmVariantName() != v.Name {
			t.Errorf("%s: GemmVariantName = %s", v.Name, GemmVariantName())
		}
	}
	for _, want := range []string{"ref", "purego", "avx2", "avx512"} {
		if !names[want] {
			t.Errorf("variant %s missing", want)
		}
	}
	if SetGemmVariant("nope") == nil {
		t.Error("unknown variant accepted")
	}
	if err := SetGemmVariant(""); err != nil {
		t.Fatal(err)
	}
	t.Logf("default Gemm variant on this machine: %s", GemmVariantName())
}

// TestGemmSmallM covers the small-m path (m < mr: rowsDot with Bᵀ,
// rowsAxpy with B; see small.go): m 1-5, n and k around the 8-column and
// 8-deep vector steps and the 64-column rowsAxpy block, padded and unpadded
// leading dimensions, beta 0 (C holds NaN) and 1, NaN guard bands.
func TestGemmSmallM(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	dims := []int{1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 256, 257}
	if testing.Short() || raceEnabled {
		dims = []int{1, 7, 8, 9, 17, 64, 65, 257}
	}
	for _, g := range availableGemms() {
		if g.name == "ref" {
			continue
		}
		for _, transB := range []bool{true, false} {
			for m := 1; m <= 5; m++ {
				for _, n := range dims {
					for _, k := range dims {
						for _, beta := range []float32{0, 1} {
							pad := [3]int{(n + k) % 3, 5 * (m % 2), m % 2}
							checkGemmCase(t, rng, g, gemmCase{transB: transB, m: m, n: n, k: k, alpha: 0.75, beta: beta, pad: pad})
						}
					}
				}
			}
			// Transposed A (gathered into rows first) and a wide stride.
			for _, n := range []int{9, 64, 200} {
				checkGemmCase(t, rng, g, gemmCase{transA: true, transB: transB, m: 3, n: n, k: 33, alpha: -1.25, beta: 1, pad: [3]int{2, 704, 3}})
				checkGemmCase(t, rng, g, gemmCase{transB: transB, m: 1, n: n, k: 200, alpha: 0.125, beta: 0, pad: [3]int{0, 704, 0}})
			}
		}
	}
}

// The small-m kernels against their Go twins directly, every level.
func TestRowsKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, lv := range vecLevels() {
		for _, n := range []int{1, 8, 9, 63, 64, 65, 130} {
			for _, k := range []int{1, 5, 8, 13, 64, 100} {
				for _, beta := range []float32{0, 1, -0.5} {
					ld := k + 3
					a := randSlice(rng, k)
					b := randSlice(rng, n*ld)
					c0 := randSlice(rng, n)
					got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
					rowsDot(lv, a, b, ld, got, 1.5, beta)
					rowsDotGo(a, b, ld, want, 1.5, beta)
					cmpRows(t, "rowsDot", lv, n, k, got, want)

					ld = n + 2
					b = randSlice(rng, k*ld)
					got, want = append([]float32(nil), c0...), append([]float32(nil), c0...)
					rowsAxpy(lv, a, b, ld, got, 1.5, beta)
					rowsAxpyGo(a, b, ld, want, 1.5, beta)
					cmpRows(t, "rowsAxpy", lv, n, k, got, want)
				}
			}
		}
	}
}

func cmpRows(t *testing.T, name string, lv, n, k int, got, want []float32) {
	t.Helper()
	for j := range got {
		tol := 1e-5 * float64(k+2) * (1 + math.Abs(float64(want[j])))
		if d := math.Abs(float64(got[j] - want[j])); numcheck.Exceeds(d, tol) {
			t.Fatalf("%s level %s n=%d k=%d: c[%d] = %v, twin %v", name, levelNames[lv], n, k, j, got[j], want[j])
		}
	}
}

// blockDepth splits k into the fewest blocks of at most kcMax, of equal
// depth rounded up to 8, so that the last block is not a sliver.
func TestBlockDepth(t *testing.T) {
	for _, tc := range []struct{ k, kcMax, want int }{
		{1, 512, 1}, {7, 512, 7}, {512, 512, 512}, {513, 512, 264}, {768, 512, 384},
		{1000, 512, 504}, {1024, 512, 512}, {1030, 512, 344}, {3072, 512, 512}, {768, 256, 256}, {300, 256, 152},
	} {
		got := blockDepth(tc.k, tc.kcMax)
		if got != tc.want {
			t.Errorf("blockDepth(%d, %d) = %d, want %d", tc.k, tc.kcMax, got, tc.want)
		}
		if blocks := (tc.k + got - 1) / got; got > tc.kcMax || blocks != (tc.k+tc.kcMax-1)/tc.kcMax {
			t.Errorf("blockDepth(%d, %d) = %d: %d blocks, not the fewest", tc.k, tc.kcMax, got, blocks)
		}
	}
}

// TestGemmSwapped covers the products of few rows and a wide B that Gemm
// computes with B in place (wideB): A·Bᵀ as (B·Aᵀ)ᵀ (gemmSwapped) and A·B
// reading B's panels in place; m from one micro-tile to 128, n from 16m up,
// odd k, padded leading dimensions, the transpose's tails (m or n not a
// multiple of 8) and B's partial last panel.
func TestGemmSwapped(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, g := range availableGemms() {
		if g.name == "ref" || g.name == "purego" {
			continue // Gemm takes the in-place paths with the assembly kernels only
		}
		for _, m := range []int{14, 15, 16, 17, 31, 64, 65, 127, 128} {
			for _, n := range []int{16 * m, 16*m + 7, 2304} {
				if !wideB(m, n) {
					t.Fatalf("m=%d n=%d no longer takes the in-place path: update the cases", m, n)
				}
				for _, k := range []int{1, 7, 64, 300} {
					if (testing.Short() || raceEnabled) && k == 300 {
						continue
					}
					for _, tb := range []bool{true, false} {
						checkGemmCase(t, rng, g, gemmCase{transB: tb, m: m, n: n, k: k, alpha: 1, beta: 0, pad: [3]int{m % 3, 2, 5}})
					}
				}
			}
		}
	}
}

// With B read in place (swapped or not) every element is summed over k in
// the same order and the same kc blocks as with B packed, so the two agree
// bit for bit: models give the same logits whichever path a layer takes.
func TestGemmSwappedBitwise(t *testing.T) {
	if !haveAVX2 || GemmVariantName() == "purego" || GemmVariantName() == "ref" {
		t.Skip("the swap needs the assembly kernels")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	defer func(s, d bool) { swapNT, directWideB = s, d }(swapNT, directWideB)
	for _, s := range [][3]int{{14, 224, 9}, {64, 2304, 768}, {100, 1700, 1030}, {128, 3072, 768}} {
		m, n, k := s[0], s[1], s[2]
		if !wideB(m, n) {
			t.Fatalf("m=%d n=%d no longer takes the in-place path: update the cases", m, n)
		}
		a, b := randSlice(rng, m*k), randSlice(rng, n*k)
		for _, tb := range []bool{true, false} {
			ldb := k
			if !tb {
				ldb = n
			}
			var got [2][]float32
			for i, inPlace := range []bool{true, false} {
				swapNT, directWideB = inPlace, inPlace
				got[i] = make([]float32, m*n)
				Gemm(false, tb, m, n, k, 1, a, k, b, ldb, 0, got[i], n)
			}
			for i := range got[0] {
				if math.Float32bits(got[0][i]) != math.Float32bits(got[1][i]) {
					t.Fatalf("transB=%v m=%d n=%d k=%d: element %d: B in place %v, packed %v", tb, m, n, k, i, got[0][i], got[1][i])
				}
			}
		}
	}
}

// TestGemmBlockOrder runs the parallel driver with tiny blocks (two
// micro-tiles per row block, three micro-panels per column block, depth 24)
// so that one product has dozens of (column, depth) blocks, packed-B slots
// reused many times over and items that wait on each other, and compares it
// bit for bit with the same blocks on one goroutine: any item run before
// the one it depends on (the same C elements one depth block earlier)
// changes the sums (removing that wait fails the test). The wait before a
// packed-B slot is reused cannot be overtaken with two goroutines (an item
// of block t+2 would first wait for its region in block t+1); it guards
// pools of three or more. It runs alone,
// from four goroutines at once (the pool busy: Run then hands few items or
// none to workers) and nested in a parallel task; then again with waiters
// that sleep at once instead of spinning first.
func TestGemmBlockOrder(t *testing.T) {
	t.Run("spin", testGemmBlockOrder)
	saved := waitSpins
	defer func() { waitSpins = saved }()
	waitSpins = 0
	t.Run("sleep", testGemmBlockOrder)
}

func testGemmBlockOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	shapes := []gemmCase{
		{m: 61, n: 200, k: 100, alpha: 1, beta: 0.5},
		{transB: true, m: 61, n: 200, k: 100, alpha: 1, beta: 0},
		{transA: true, m: 75, n: 130, k: 97, alpha: -2, beta: 1},
		{transA: true, transB: true, m: 43, n: 150, k: 121, alpha: 0.5, beta: 0},
		{m: 14, n: 450, k: 100, alpha: 1, beta: 0},   // wideB: B in place, partial last panel packed
		{m: 30, n: 640, k: 50, alpha: 1, beta: 0.25}, // wideB, no partial panel
	}
	for _, g := range gemmImpls {
		if g.spec == nil || !g.spec.available() {
			continue
		}
		tiny := *g.spec
		tiny.mc, tiny.kc, tiny.nc = 2*tiny.mr, 24, 3*tiny.nr
		for _, tc := range shapes {
			lda, ldb := tc.k+1, tc.n+2
			if tc.transA {
				lda = tc.m + 1
			}
			if tc.transB {
				ldb = tc.k + 2
			}
			ldc := tc.n + 3
			a := randSlice(rng, tc.m*tc.k*2+64)
			b := randSlice(rng, tc.n*tc.k*2+64)
			c0 := randSlice(rng, tc.m*ldc)
			run := func(serial bool) []float32 {
				c := append([]float32(nil), c0...)
				gemmBlocked(&tiny, serial, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				return c
			}
			want := run(true)
			check := func(how string, got []float32) error {
				for i := range want {
					if got[i] != want[i] {
						return fmt.Errorf("%s %s %v: C[%d] = %v, one goroutine gives %v", g.name, how, tc, i, got[i], want[i])
					}
				}
				return nil
			}
			if err := check("parallel", run(false)); err != nil {
				t.Fatal(err)
			}
			errs := make([]error, 4)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := 0; r < 5 && errs[i] == nil; r++ {
						errs[i] = check("concurrent", run(false))
					}
				}()
			}
			wg.Wait()
			parallel.Run(len(errs), parallel.Func(func(i int) { errs[i] = errors.Join(errs[i], check("nested", run(false))) }))
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestPackA checks the A-block packing against its definition, element
// (q·mr+r, p) at q·mr·kc + p·mr + r with zeros past mc, for the three
// kernels' panel heights, depths around the transposes' multiple of 8 and
// blocks whose last panel is full, partial or needs the 6-row fallback; A
// is a view with a padded stride and the buffer's tail must stay untouched.
func TestPackA(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, mr := range []int{4, 6, 14} {
		for _, mc := range []int{mr, mr + 1, 2 * mr, 2*mr + 2, 5*mr - 3, 7 * mr} {
			for _, kc := range []int{1, 7, 8, 9, 16, 37, 64} {
				for _, transA := range []bool{false, true} {
					const i0, p0, pad = 3, 5, 4
					rowsA, colsA := i0+mc+pad, p0+kc+pad
					if transA {
						rowsA, colsA = colsA, rowsA
					}
					lda := colsA + 3
					a := randSlice(rng, rowsA*lda)
					at := func(i, p int) float32 {
						if transA {
							return a[p*lda+i]
						}
						return a[i*lda+p]
					}
					panels := (mc + mr - 1) / mr
					dst := make([]float32, panels*mr*kc+16)
					guard := float32(math.Inf(-1))
					for i := range dst {
						dst[i] = guard
					}
					packA(dst, a, lda, transA, i0, mc, p0, kc, mr)
					for q := 0; q < panels; q++ {
						for p := 0; p < kc; p++ {
							for r := 0; r < mr; r++ {
								var want float32
								if i := q*mr + r; i < mc {
									want = at(i0+i, p0+p)
								}
								if got := dst[q*mr*kc+p*mr+r]; got != want {
									t.Fatalf("mr=%d mc=%d kc=%d transA=%v: panel %d (p=%d, r=%d) = %v, want %v", mr, mc, kc, transA, q, p, r, got, want)
								}
							}
						}
					}
					for i := panels * mr * kc; i < len(dst); i++ {
						if dst[i] != guard {
							t.Fatalf("mr=%d mc=%d kc=%d transA=%v: wrote past the block at %d", mr, mc, kc, transA, i)
						}
					}
				}
			}
		}
	}
}
