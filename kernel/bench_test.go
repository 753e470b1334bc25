package kernel

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/internal/parallel"
)

type benchShape struct {
	m, n, k int
	transB  bool
}

func (s benchShape) String() string {
	form := "NN"
	if s.transB {
		form = "NT"
	}
	return fmt.Sprintf("m=%d,n=%d,k=%d,%s", s.m, s.n, s.k, form)
}

// peakFor measures PeakGFLOPS once per thread count per benchmark process.
var (
	peakMu    sync.Mutex
	peakCache = map[int]float64{}
)

func peakFor(threads int) float64 {
	peakMu.Lock()
	defer peakMu.Unlock()
	if p, ok := peakCache[threads]; ok {
		return p
	}
	p := PeakGFLOPS(threads, 300*time.Millisecond)
	peakCache[threads] = p
	return p
}

// benchGemm times fn on one shape and reports GFLOP/s (flops.GEMM per call)
// and, with threads > 0, the percentage of PeakGFLOPS(threads) measured in
// the same process.
func benchGemm(b *testing.B, s benchShape, fn gemmFn, threads ...int) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := randSlice(rng, s.m*s.k)
	bm := randSlice(rng, s.k*s.n)
	c := make([]float32, s.m*s.n)
	ldb := s.n
	if s.transB {
		ldb = s.k
	}
	fn(false, s.transB, s.m, s.n, s.k, 1, a, s.k, bm, ldb, 0, c, s.n)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		fn(false, s.transB, s.m, s.n, s.k, 1, a, s.k, bm, ldb, 0, c, s.n)
	}
	gflops := flops.GEMM(s.m, s.n, s.k) * float64(b.N) / time.Since(start).Seconds() / 1e9
	b.ReportMetric(gflops, "GFLOP/s")
	if len(threads) > 0 {
		b.ReportMetric(100*gflops/peakFor(threads[0]), "%peak")
	}
}

// BenchmarkGemm: the shapes BENCHMARKS.md reports (1024³ NN and NT; the MHA packed
// projection x[1024,768]·W[2304,768]ᵀ) for every available blocked
// variant, parallel over all workers.
func BenchmarkGemm(b *testing.B) {
	for _, s := range []benchShape{{1024, 1024, 1024, false}, {1024, 1024, 1024, true}, {1024, 2304, 768, true}, {256, 256, 256, false}, {64, 2304, 768, true}, {1, 2304, 768, true}} {
		for _, v := range GemmVariants() {
			if !v.Available || v.Name == "ref" {
				continue
			}
			b.Run(s.String()+"/"+v.Name, func(b *testing.B) { benchGemm(b, s, v.Fn, parallel.Workers()) })
		}
	}
}

// BenchmarkGemmSerial: the fused attention kernel's tiles on one goroutine.
func BenchmarkGemmSerial(b *testing.B) {
	for _, s := range []benchShape{{64, 64, 64, false}, {64, 64, 64, true}, {128, 128, 64, true}, {256, 256, 256, false}, {64, 2304, 768, true}, {1024, 1024, 1024, false}} {
		for _, g := range gemmImpls {
			if g.spec == nil || !g.spec.available() {
				continue
			}
			spec := g.spec
			b.Run(s.String()+"/"+g.name, func(b *testing.B) {
				benchGemm(b, s, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
					gemmBlocked(spec, true, transA, transB, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
				}, 1)
			})
		}
	}
}

func BenchmarkPeak(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			var g float64
			for i := 0; i < b.N; i++ {
				g = PeakGFLOPS(th, 100*time.Millisecond)
			}
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}

func BenchmarkVec(b *testing.B) {
	const n = 1024
	rng := rand.New(rand.NewPCG(2, 2))
	x, y := randSlice(rng, n), randSlice(rng, n)
	for _, lv := range vecLevels() {
		name := levelNames[lv]
		b.Run("Dot/n=1024/"+name, func(b *testing.B) {
			b.SetBytes(8 * n)
			for i := 0; i < b.N; i++ {
				dotLevel(lv, x, y)
			}
		})
		b.Run("ExpShift/n=1024/"+name, func(b *testing.B) {
			b.SetBytes(4 * n)
			for i := 0; i < b.N; i++ {
				copy(y, x)
				expShiftLevel(lv, y, 4)
			}
		})
		b.Run("Softmax/n=1024/"+name, func(b *testing.B) {
			b.SetBytes(4 * n)
			for i := 0; i < b.N; i++ {
				copy(y, x)
				if lv == levelGo {
					SoftmaxRef(y)
				} else {
					softmaxLevel(lv, y)
				}
			}
		})
	}
}

// BenchmarkGemmSmallM: the decoding-attention tiles GemmSerial runs per
// 256-key tile with one query row: scores s = scale·q·Kᵀ (m=1, n=256, k=64,
// NT) and o += p·V (m=1, n=64, k=256, NN, beta=1), K and V rows 768 floats
// apart (12 heads of 64 interleaved), for the purego and assembly variants.
func BenchmarkGemmSmallM(b *testing.B) {
	const ld = 768
	for _, s := range []benchShape{{1, 256, 64, true}, {1, 64, 256, false}} {
		for _, v := range GemmVariants() {
			if !v.Available || v.Name == "ref" {
				continue
			}
			b.Run(s.String()+"/"+v.Name, func(b *testing.B) {
				if err := SetGemmVariant(v.Name); err != nil {
					b.Fatal(err)
				}
				defer SetGemmVariant("")
				rng := rand.New(rand.NewPCG(1, 1))
				a := randSlice(rng, s.k)
				rows := s.k
				if s.transB {
					rows = s.n
				}
				bm := randSlice(rng, rows*ld)
				c := make([]float32, s.n)
				beta := float32(1)
				if s.transB {
					beta = 0
				}
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					GemmSerial(false, s.transB, 1, s.n, s.k, 0.125, a, s.k, bm, ld, beta, c, s.n)
				}
				b.ReportMetric(flops.GEMM(1, s.n, s.k)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkTiles: the fused attention forward's two products on one
// 66-query × 256-key tile through Tiles.Run with operands in L1/L2:
// scores (A = queries in place, B = packed keys, k = Dh = 64) and the
// weighted sum of values (A = the weights, B = values in place, k = 256
// keys). GFLOP/s against one core's FMA peak shows the micro-kernel's
// efficiency at these short depths.
func BenchmarkTiles(b *testing.B) {
	tl := CurrentTiles()
	mr, nr := tl.MR(), tl.NR()
	const dh, keys = 64, 256
	mt := (64 + mr - 1) / mr
	rng := rand.New(rand.NewPCG(3, 3))
	q := randSlice(rng, mt*mr*dh)
	k := randSlice(rng, keys*dh)
	kp := make([]float32, tl.PackedLen(keys, dh))
	tl.PackTrans(kp, k, dh, keys, dh)
	s := make([]float32, mt*mr*keys)
	v := randSlice(rng, keys*dh)
	o := make([]float32, mt*mr*dh)
	count := flops.GEMM(mt*mr, keys, dh) // either product: k·n is keys·dh
	b.Run("scores", func(b *testing.B) {
		for b.Loop() {
			tl.Run(mt, keys/nr, dh, 0.125, q, 1, dh, kp, nr, dh*nr, 0, s, keys)
		}
		b.ReportMetric(count*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("values", func(b *testing.B) {
		for b.Loop() {
			tl.Run(mt, dh/nr, keys, 1, s, 1, keys, v, dh, nr, 1, o, dh)
		}
		b.ReportMetric(count*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkGemmSmallN: products with few columns (the demo model's layers
// and their weight gradients), with A read in place (the default for
// n ≤ directAMaxN) and packed as before (directAMaxN = 0), on all workers.
func BenchmarkGemmSmallN(b *testing.B) {
	for _, s := range []struct {
		m, n, k        int
		transA, transB bool
	}{{64, 64, 1024, true, false}, {256, 64, 1024, true, false}, {1024, 64, 256, false, true}} {
		rng := rand.New(rand.NewPCG(4, 4))
		a := randSlice(rng, s.m*s.k)
		bb := randSlice(rng, s.n*s.k)
		c := make([]float32, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		for _, mode := range []struct {
			name string
			maxN int
		}{{"in-place", directAMaxN}, {"packed", 0}} {
			b.Run(fmt.Sprintf("m=%d,n=%d,k=%d,tA=%v,tB=%v/%s", s.m, s.n, s.k, s.transA, s.transB, mode.name), func(b *testing.B) {
				old := directAMaxN
				directAMaxN = mode.maxN
				defer func() { directAMaxN = old }()
				for b.Loop() {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				b.ReportMetric(flops.GEMM(s.m, s.n, s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemmWideB: products of few rows against a wide B (a prompt's
// tokens through a Linear layer: x·Wᵀ, and GPT-2's x·W), with B read in
// place (the default, see wideB) and packed.
func BenchmarkGemmWideB(b *testing.B) {
	for _, s := range []benchShape{{16, 2304, 768, true}, {64, 2304, 768, true}, {128, 2304, 768, true}, {16, 2304, 768, false}, {64, 2304, 768, false}, {128, 2304, 768, false}, {128, 3072, 768, false}} {
		for _, inPlace := range []bool{true, false} {
			name := s.String() + "/packed"
			if inPlace {
				name = s.String() + "/in-place"
			}
			b.Run(name, func(b *testing.B) {
				defer func(s, d bool) { swapNT, directWideB = s, d }(swapNT, directWideB)
				swapNT, directWideB = inPlace, inPlace
				benchGemm(b, s, Gemm, parallel.Workers())
			})
		}
	}
}

// BenchmarkGemmPacked: GPT-2's projections (one decoding row, a 128-token
// prompt) with the weight as stored, [in, out] (NN, Conv1D) or [out, in]
// (NT, nn.Linear), through Gemm and through GemmPacked on the weight
// packed once.
func BenchmarkGemmPacked(b *testing.B) {
	for _, s := range []benchShape{{1, 2304, 768, false}, {1, 768, 3072, false}, {128, 2304, 768, false}, {128, 3072, 768, false}, {128, 768, 3072, false}, {128, 3072, 768, true}} {
		b.Run(s.String()+"/gemm", func(b *testing.B) { benchGemm(b, s, Gemm, parallel.Workers()) })
		b.Run(s.String()+"/packed", func(b *testing.B) {
			var p *PackedB
			benchGemm(b, s, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
				if p == nil {
					p = PackB(k, BPart{Trans: transB, N: n, B: bm, Ld: ldb})
				}
				GemmPacked(m, alpha, a, lda, p, beta, c, ldc)
			}, parallel.Workers())
		})
	}
}
