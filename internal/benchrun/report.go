package benchrun

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"time"
)

// Ms is d in milliseconds, rounded to the microsecond.
func Ms(d time.Duration) float64 { return math.Round(float64(d.Nanoseconds())/1e3) / 1e3 }

// Round3 rounds x to three decimals.
func Round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// PerSecond is n per d, rounded to three decimals (tokens/s, say); 0 when d
// is not positive.
func PerSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return Round3(n / d.Seconds())
}

// Env is what every result says about the run it came from.
type Env struct {
	Threads int    // goroutines asked for (GOMAXPROCS)
	Workers int    // the size of attn's worker pool
	Kernel  string // the GEMM variant in use; "" when unknown
	Seed    uint64 // the seed of the inputs and weights
}

// ThreadFields are threads and workers.
func (e Env) ThreadFields() Object { return Fields("threads", e.Threads, "workers", e.Workers) }

// kernel is the GEMM variant for JSON: null when unknown.
func (e Env) kernel() any {
	if e.Kernel == "" {
		return nil
	}
	return e.Kernel
}

// TailFields end every result: the peak RSS rss, the Go version and
// architecture, the GEMM variant (null when unknown) and the seed.
func (e Env) TailFields(rss int64) Object {
	return Fields(
		"peak_rss_bytes", rss,
		"go_version", runtime.Version(),
		"goarch", runtime.GOARCH,
		"kernel", e.kernel(),
		"seed", e.Seed,
	)
}

// KernelLabel names the GEMM variant for a summary line: "kernel avx2", or
// "kernel unknown".
func (e Env) KernelLabel() string {
	if e.Kernel == "" {
		return "kernel unknown"
	}
	return "kernel " + e.Kernel
}

// Summary ends a summary line: "2 threads, kernel avx2, peak RSS 12.3 MiB,
// go1.26.0".
func (e Env) Summary(rss int64) string {
	return fmt.Sprintf("%d threads, %s, peak RSS %.1f MiB, %s", e.Threads, e.KernelLabel(), float64(rss)/(1<<20), runtime.Version())
}

// Report is the result of timing an operation with a FLOP count.
type Report struct {
	Op     string  // the operation: gemm, attention ...
	Shape  Object  // its shape and settings, the fields after impl and op
	Label  string  // the shape for the summary line
	FLOPs  float64 // one run's count (package internal/flops)
	Timing Timing
}

// GFLOPS is the rate at the median run; 0 when the median is 0.
func (r Report) GFLOPS() float64 {
	med := r.Timing.Median()
	if med == 0 {
		return 0
	}
	return r.FLOPs / med.Seconds() / 1e9
}

// Object is the result as JSON: impl "attn", op, the shape, threads and
// workers, the timing, flops and gflops, then the tail fields with rss.
func (r Report) Object(e Env, rss int64) Object {
	obj := Fields("impl", "attn", "op", r.Op)
	obj = append(obj, r.Shape...)
	obj = append(obj, e.ThreadFields()...)
	obj = append(obj, r.Timing.Fields("")...)
	obj = append(obj, Fields("flops", r.FLOPs, "gflops", Round3(r.GFLOPS()))...)
	return append(obj, e.TailFields(rss)...)
}

// Summary is the result as one readable line.
func (r Report) Summary(e Env, rss int64) string {
	return fmt.Sprintf("%s %s: %s, %.2f GFLOP/s, %s", r.Op, r.Label, r.Timing.Summary(), r.GFLOPS(), e.Summary(rss))
}

// Emit writes obj as one line of JSON when asJSON, else the summary line.
func Emit(w io.Writer, asJSON bool, obj Object, summary string) error {
	if asJSON {
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(w, summary)
	return err
}
