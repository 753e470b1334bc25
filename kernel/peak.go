package kernel

import (
	"runtime"
	"sync"
	"time"
)

// PeakGFLOPS measures the machine's fused multiply-add throughput: threads
// goroutines each run a register-only loop of independent FMA chains (the
// widest vectors this CPU and build support: AVX-512, else AVX2, else a
// scalar Go loop) for about d, and the total is returned in GFLOP/s,
// counting 2 flops per FMA lane. It is the ceiling benchmarks divide by to
// report "% of peak".
func PeakGFLOPS(threads int, d time.Duration) float64 {
	threads = max(threads, 1)
	level := vecLevel
	counts := make([]float64, threads)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var flops float64
			for time.Now().Before(deadline) {
				flops += peakChunk(level)
			}
			counts[t] = flops
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	var total float64
	for _, c := range counts {
		total += c
	}
	return total / el / 1e9
}

// peakChunk runs one timed slice of the FMA loop (a few tens of
// microseconds) and returns the flops it performed.
func peakChunk(level int) float64 {
	const iters = 1 << 12
	if level == levelGo {
		return peakGo(iters)
	}
	return 2 * float64(iters) * float64(fmaPeakAsm(level, iters))
}

// peakGo is the scalar fallback: 8 independent multiply-add chains.
func peakGo(iters int) float64 {
	var c0, c1, c2, c3, c4, c5, c6, c7 float32
	const x, y = 0.999, 1e-3
	for i := 0; i < iters; i++ {
		c0 = c0*x + y
		c1 = c1*x + y
		c2 = c2*x + y
		c3 = c3*x + y
		c4 = c4*x + y
		c5 = c5*x + y
		c6 = c6*x + y
		c7 = c7*x + y
	}
	runtime.KeepAlive(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7)
	return 2 * 8 * float64(iters)
}
