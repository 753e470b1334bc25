package main

// attn bench: time one operation on one shape and print one JSON object.
//
// Shape legend: gemm m,n,k (C[m,n] = A[m,k]·op(B)); attention B batch,
// H query heads, Hkv key/value heads, T queries, S keys, Dh head dim;
// mha B batch, T tokens, D model width, H heads; decode N context (prompt
// length, and the positions the one-token step attends to).
//
// Method: package internal/benchrun times every operation (warm-up, repeats,
// the median with the min and max) and writes the result; internal/flops
// counts the work GFLOP/s divides. This file holds the root command and the
// flags every subcommand shares; each subcommand is in bench_<name>.go.

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/kernel"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// gemmRegistry is the seam to package kernel's GEMM variant registry and
// FMA peak probe (tests swap in fakes).
var gemmRegistry = struct {
	// variants lists the names --kernel accepts (nil: no registry).
	variants func() []string
	// set selects a variant by name.
	set func(name string) error
	// current names the variant Gemm uses now ("" when unknown).
	current func() string
	// peak measures the FMA peak in GFLOP/s with the given goroutines for
	// about d.
	peak func(threads int, d time.Duration) (float64, error)
}{
	variants: func() []string {
		names := []string{"auto"}
		for _, v := range kernel.GemmVariants() {
			if v.Available {
				names = append(names, v.Name)
			}
		}
		return names
	},
	set:     kernel.SetGemmVariant,
	current: kernel.GemmVariantName,
	peak: func(threads int, d time.Duration) (float64, error) {
		return kernel.PeakGFLOPS(threads, d), nil
	},
}

// maxBenchBytes bounds what one bench run may allocate for its operands, so
// a typo cannot take the shared machine's memory.
const maxBenchBytes = 16 << 30

// benchOpts are the flags every bench subcommand shares.
type benchOpts struct {
	threads int
	kernel  string
	json    bool
	seed    uint64
	timing  benchrun.Options
}

func newBenchCmd() *cobra.Command {
	o := &benchOpts{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time attn's kernels on one shape and print the result as JSON",
		Long: `bench times one operation on one shape: a GEMM, scaled dot-product attention
(forward, or forward+backward with --backward), a multi-head attention
module's forward pass, a decoder model's prompt and one-token decode step
(decode), a BERT encoder's forward pass (encode), or one training step of a
whole model (train); bandwidth measures
the DRAM read bandwidth that bounds decoding. It prints one JSON object
(--json) or a readable summary.

Inputs are allocated once from a seeded source. Warm-up runs until both
--warmup-reps runs and --warmup time have passed (one run is enough when it
alone takes longer than --warmup). Timed runs then repeat until both
--min-reps runs and --min-time have passed, stopping early at --max-reps, or
before a run that would end after --max-time. The median is reported.

GFLOP/s counts useful work: 2mnk for a GEMM; 4·Dh per allowed (query, key)
pair per head for attention (a causal mask allows about half the pairs; they
are counted exactly), × 3.5 with its backward; for mha, the four projections
(8·B·T·D²) plus the attention; train counts tokens_per_s. peak_rss_bytes is
the process's peak resident set (getrusage).

scripts/bench/run.sh runs these next to PyTorch and writes BENCHMARKS.md.`,
		Example: `  attn bench gemm --m 1024 --n 1024 --k 1024 --trans-b --threads 2 --json
  attn bench attention --batch 1 --heads 12 --head-dim 64 --seq 2048 --causal --json
  attn bench attention --batch 1 --heads 12 --kv-heads 4 --head-dim 64 --seq 1 --kv-seq 4096
  attn bench mha --batch 1 --seq 512 --dim 768 --heads 12 --causal --json
  attn bench decode --model gpt2-small --context 1024 --bandwidth-gbs 17 --json
  attn bench encode --model bert-base --batch 8 --seq 128 --json
  attn bench bandwidth --threads 2 --json
  attn bench attention --batch 1 --heads 12 --head-dim 64 --seq 2048 --causal --backward --json
  attn bench train --model gpt2-layer --threads 2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("bench needs a subcommand: gemm, attention, mha, decode, encode, train, bandwidth, peak, plot or tokenize (see attn bench --help)")
		},
	}
	pf := cmd.PersistentFlags()
	pf.IntVar(&o.threads, "threads", runtime.GOMAXPROCS(0), "goroutines to use (sets GOMAXPROCS before anything runs)")
	pf.StringVar(&o.kernel, "kernel", "", "GEMM variant to use, e.g. ref, purego, avx2, avx512 (default: auto, the fastest this CPU runs)")
	pf.BoolVar(&o.json, "json", false, "print only the JSON object")
	pf.Uint64Var(&o.seed, "seed", 1, "seed for the random inputs and weights")
	pf.DurationVar(&o.timing.Warmup, "warmup", 500*time.Millisecond, "minimum warm-up time")
	pf.IntVar(&o.timing.WarmupReps, "warmup-reps", 2, "minimum warm-up runs")
	pf.DurationVar(&o.timing.MinTime, "min-time", time.Second, "minimum total time of the timed runs")
	pf.DurationVar(&o.timing.MaxTime, "max-time", 60*time.Second, "do not start a timed run that would end after this (caps huge shapes)")
	pf.IntVar(&o.timing.MinReps, "min-reps", 5, "minimum timed runs (unless --max-time stops earlier)")
	pf.IntVar(&o.timing.MaxReps, "max-reps", 10000, "maximum timed runs")
	cmd.AddCommand(newBenchGemmCmd(o), newBenchAttentionCmd(o), newBenchMHACmd(o), newBenchDecodeCmd(o), newBenchEncodeCmd(o), newBenchBandwidthCmd(o), newBenchTrainCmd(o), newBenchPeakCmd(o), newBenchPlotCmd(), newBenchTokenizeCmd(o))
	return cmd
}

// validate checks the shared flags.
func (o *benchOpts) validate() error {
	t := o.timing
	switch {
	case o.threads < 1:
		return fmt.Errorf("--threads is %d, want >= 1", o.threads)
	case t.Warmup < 0:
		return fmt.Errorf("--warmup is %v, want >= 0", t.Warmup)
	case t.WarmupReps < 0:
		return fmt.Errorf("--warmup-reps is %d, want >= 0", t.WarmupReps)
	case t.MinTime < 0:
		return fmt.Errorf("--min-time is %v, want >= 0", t.MinTime)
	case t.MaxTime <= 0:
		return fmt.Errorf("--max-time is %v, want > 0", t.MaxTime)
	case t.MinReps < 1:
		return fmt.Errorf("--min-reps is %d, want >= 1", t.MinReps)
	case t.MaxReps < t.MinReps:
		return fmt.Errorf("--max-reps %d is below --min-reps %d", t.MaxReps, t.MinReps)
	}
	if o.kernel != "" {
		names := gemmRegistry.variants()
		if names != nil && !slices.Contains(names, o.kernel) {
			return fmt.Errorf("--kernel %q is not a GEMM variant available here; choose one of %s", o.kernel, strings.Join(names, ", "))
		}
	}
	return nil
}

// setup applies the shared flags. It runs after every flag is validated and
// before any input is allocated: GOMAXPROCS first (attn's worker pool sizes
// itself from it), then the GEMM variant. It returns the pool's size.
func (o *benchOpts) setup() (workers int, err error) {
	runtime.GOMAXPROCS(o.threads)
	if parallel.Workers() != o.threads {
		// The pool was started earlier in this process (tests run many
		// commands in one process): restart it at the new size.
		parallel.Shutdown()
	}
	workers = parallel.Workers()
	if o.kernel != "" {
		if err := gemmRegistry.set(o.kernel); err != nil {
			return 0, err
		}
	}
	return workers, nil
}

// env is what the results say about this run, read when they are printed.
func (o *benchOpts) env(workers int) benchrun.Env {
	return benchrun.Env{Threads: o.threads, Workers: workers, Kernel: gemmRegistry.current(), Seed: o.seed}
}

// emit prints obj as one line of JSON with --json, else the summary line.
func (o *benchOpts) emit(w io.Writer, obj benchrun.Object, summary string) error {
	return benchrun.Emit(w, o.json, obj, summary)
}

// report prints the result of an operation with a FLOP count, with this
// run's environment and peak RSS.
func (o *benchOpts) report(w io.Writer, workers int, r benchrun.Report) error {
	e, rss := o.env(workers), benchrun.PeakRSS()
	return o.emit(w, r.Object(e, rss), r.Summary(e, rss))
}

// randFill fills x with uniform values in [-1, 1).
func randFill(rng *rand.Rand, x []float32) {
	for i := range x {
		x[i] = float32(2*rng.Float64() - 1)
	}
}

// checkBytes refuses operands larger than maxBenchBytes.
func checkBytes(what string, floats ...int) error {
	var n float64
	for _, f := range floats {
		n += float64(f)
	}
	if b := 4 * n; b > maxBenchBytes {
		return fmt.Errorf("%s would need %.1f GB of operands, over the %d GB limit of attn bench", what, b/1e9, maxBenchBytes>>30)
	}
	return nil
}

func seedRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x62656e63)) }

// intFlag is an integer flag's name and value.
type intFlag struct {
	name string
	v    int
}

// positiveFlags returns an error naming the first flag below 1.
func positiveFlags(flags ...intFlag) error {
	for _, f := range flags {
		if f.v < 1 {
			return fmt.Errorf("--%s is %d, want >= 1", f.name, f.v)
		}
	}
	return nil
}

// intVar is an int flag's variable and name.
type intVar struct {
	p    *int
	name string
}

// shrinkFlags adds hidden int flags, 0 by default, that tests use to
// shrink a random benchmark model.
func shrinkFlags(fs *pflag.FlagSet, vars ...intVar) {
	for _, v := range vars {
		fs.IntVar(v.p, v.name, 0, "shrink the random model (tests)")
		_ = fs.MarkHidden(v.name)
	}
}
