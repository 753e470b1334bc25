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
// counts the work GFLOP/s divides. This file holds the flags and wiring.

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/models"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/tensor"
	"github.com/attn-go/attn/train"
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
			return fmt.Errorf("bench needs a subcommand: gemm, attention, mha, decode, encode, bandwidth or train (see attn bench --help)")
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
	cmd.AddCommand(newBenchGemmCmd(o), newBenchAttentionCmd(o), newBenchMHACmd(o), newBenchDecodeCmd(o), newBenchEncodeCmd(o), newBenchBandwidthCmd(o), newBenchTrainCmd(o), newBenchPeakCmd(o), newBenchPlotCmd())
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

// ---- gemm ----------------------------------------------------------------

type gemmFlags struct {
	m, n, k int
	transB  bool
}

func newBenchGemmCmd(o *benchOpts) *cobra.Command {
	var f gemmFlags
	cmd := &cobra.Command{
		Use:   "gemm --m M --n N --k K [--trans-b]",
		Short: "Time kernel.Gemm: C[m,n] = A[m,k]·B (B is [k,n], or [n,k] with --trans-b)",
		Long: `gemm times kernel.Gemm(false, transB, m, n, k, 1, A, k, B, ldb, 0, C, n): A is
[m,k]; B is [k,n], or [n,k] used transposed with --trans-b (the layout of
nn.Linear weights, y = x·Wᵀ). C is overwritten. FLOPs: 2·m·n·k.`,
		Example: "  attn bench gemm --m 1024 --n 2304 --k 768 --trans-b --threads 2 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchGemm(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.m, "m", 0, "rows of A and C (required)")
	fs.IntVar(&f.n, "n", 0, "columns of C (required)")
	fs.IntVar(&f.k, "k", 0, "inner dimension (required)")
	fs.BoolVar(&f.transB, "trans-b", false, "B is stored [n,k] and used transposed (NT)")
	for _, name := range []string{"m", "n", "k"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runBenchGemm(w io.Writer, o *benchOpts, f gemmFlags) error {
	if err := positiveFlags(intFlag{"m", f.m}, intFlag{"n", f.n}, intFlag{"k", f.k}); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	na, errA := tensor.NumElements(f.m, f.k)
	nb, errB := tensor.NumElements(f.k, f.n)
	nc, errC := tensor.NumElements(f.m, f.n)
	if err := errorsJoin(errA, errB, errC); err != nil {
		return fmt.Errorf("gemm m=%d n=%d k=%d: %v", f.m, f.n, f.k, err)
	}
	if err := checkBytes("gemm", na, nb, nc); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	rng := seedRand(o.seed)
	a, b, c := make([]float32, na), make([]float32, nb), make([]float32, nc)
	randFill(rng, a)
	randFill(rng, b)
	ldb := f.n
	if f.transB {
		ldb = f.k
	}
	t, err := benchrun.Measure(o.timing, func() error {
		kernel.Gemm(false, f.transB, f.m, f.n, f.k, 1, a, f.k, b, ldb, 0, c, f.n)
		return nil
	})
	if err != nil {
		return err
	}
	layout := "NN"
	if f.transB {
		layout = "NT"
	}
	return o.report(w, workers, benchrun.Report{
		Op:     "gemm",
		Shape:  benchrun.Fields("m", f.m, "n", f.n, "k", f.k, "trans_b", f.transB),
		Label:  fmt.Sprintf("m=%d n=%d k=%d %s", f.m, f.n, f.k, layout),
		FLOPs:  flops.GEMM(f.m, f.n, f.k),
		Timing: t,
	})
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ---- attention -----------------------------------------------------------

type attnFlags struct {
	batch, heads, kvHeads, headDim, seq, kvSeq int
	causal                                     bool
	align                                      string
	backward, memoryOnly                       bool
}

func newBenchAttentionCmd(o *benchOpts) *cobra.Command {
	var f attnFlags
	cmd := &cobra.Command{
		Use:   "attention --batch B --heads H --head-dim Dh --seq T [--kv-seq S] [--kv-heads G] [--causal]",
		Short: "Time attention.ScaledDotProduct on q [B,H,T,Dh], k and v [B,G,S,Dh]",
		Long: `attention times attention.ScaledDotProduct(out, q, k, v, opts) with contiguous
q [B,H,T,Dh], k and v [B,G,S,Dh] (G = --kv-heads, default H; G < H is
grouped-query attention) and out [B,H,T,Dh]: whatever path ScaledDotProduct
takes for this shape is what is timed.

--causal adds attention.Causal: top-left aligned by default (query i sees
keys 0..i, PyTorch's torch.ones(T,S).tril()), or --align bottom-right (query
i sees keys 0..i+S-T, for new queries after S-T cached keys). For decoding
one token against a cache, use --seq 1 --kv-seq S without --causal.

FLOPs: 4·Dh per allowed (query, key) pair, per batch and head: 4·B·H·T·S·Dh
without a mask; a causal mask's allowed pairs are counted exactly.

--backward times a training step's attention instead: the forward with
Options.LSE (the row log-sum-exp [B,H,T]) and then
attention.ScaledDotProductBackward into dq, dk, dv (zeroed before each run:
the backward adds into them) from a fixed random dout. Neither pass holds a
T×S matrix: the backward recomputes the weights tile by tile from q, k and
lse. FLOPs: the forward's count × 3.5 (the backward counted as 2.5 forwards,
FlashAttention's convention); forward_flops is the forward's alone.

--memory-only makes one run, without warm-up or repeats, and reports the
memory it needed: rss_before_bytes is the process's peak resident set once
every operand (inputs, outputs, gradients, lse) is allocated and written,
peak_rss_bytes the peak after the run, work_rss_bytes the difference (what
the operation itself took), operand_bytes the operands' size, and
scores_bytes = 4·B·H·T·S, what one float32 T×S score matrix per head would
take (3 GiB for 12 heads at T = S = 8192).`,
		Example: `  attn bench attention --batch 1 --heads 12 --head-dim 64 --seq 4096 --causal --threads 2 --json
  attn bench attention --batch 1 --heads 12 --head-dim 64 --seq 2048 --causal --backward --json
  attn bench attention --batch 1 --heads 12 --head-dim 64 --seq 8192 --causal --backward --memory-only --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchAttention(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.batch, "batch", 1, "batch size B")
	fs.IntVar(&f.heads, "heads", 0, "query heads H (required)")
	fs.IntVar(&f.kvHeads, "kv-heads", 0, "key/value heads G, dividing H (default H)")
	fs.IntVar(&f.headDim, "head-dim", 0, "head dimension Dh (required)")
	fs.IntVar(&f.seq, "seq", 0, "queries per head T (required)")
	fs.IntVar(&f.kvSeq, "kv-seq", 0, "keys per head S (default T)")
	fs.BoolVar(&f.causal, "causal", false, "causal mask (see --align)")
	fs.StringVar(&f.align, "align", "top-left", "causal alignment: top-left or bottom-right")
	fs.BoolVar(&f.backward, "backward", false, "time forward (with LSE) + ScaledDotProductBackward")
	fs.BoolVar(&f.memoryOnly, "memory-only", false, "one run, no warm-up: report the memory it took")
	for _, name := range []string{"heads", "head-dim", "seq"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runBenchAttention(w io.Writer, o *benchOpts, f attnFlags) error {
	if f.kvHeads == 0 {
		f.kvHeads = f.heads
	}
	if f.kvSeq == 0 {
		f.kvSeq = f.seq
	}
	if err := positiveFlags(intFlag{"batch", f.batch}, intFlag{"heads", f.heads}, intFlag{"kv-heads", f.kvHeads}, intFlag{"head-dim", f.headDim}, intFlag{"seq", f.seq}, intFlag{"kv-seq", f.kvSeq}); err != nil {
		return err
	}
	if f.heads%f.kvHeads != 0 {
		return fmt.Errorf("--kv-heads %d does not divide --heads %d", f.kvHeads, f.heads)
	}
	var align attention.Alignment
	switch f.align {
	case "top-left":
		align = attention.TopLeft
	case "bottom-right":
		align = attention.BottomRight
	default:
		return fmt.Errorf("--align is %q, want top-left or bottom-right", f.align)
	}
	if err := o.validate(); err != nil {
		return err
	}
	B, H, G, Dh, T, S := f.batch, f.heads, f.kvHeads, f.headDim, f.seq, f.kvSeq
	nq, errQ := tensor.NumElements(B, H, T, Dh)
	nk, errK := tensor.NumElements(B, G, S, Dh)
	if err := errorsJoin(errQ, errK); err != nil {
		return fmt.Errorf("attention B=%d H=%d G=%d T=%d S=%d Dh=%d: %v", B, H, G, T, S, Dh, err)
	}
	operands := []int{nq, nk, nk, nq}
	if f.backward {
		// dout, dq, dk, dv and lse.
		operands = append(operands, nq, nq, nk, nk, B*H*T)
	}
	if err := checkBytes("attention", operands...); err != nil {
		return err
	}
	if f.memoryOnly {
		// One run: the memory is the point, not the time.
		o.timing.Warmup, o.timing.WarmupReps, o.timing.MinTime, o.timing.MinReps, o.timing.MaxReps = 0, 0, 0, 1, 1
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	rng := seedRand(o.seed)
	q := tensor.Must(tensor.New(B, H, T, Dh))
	k := tensor.Must(tensor.New(B, G, S, Dh))
	v := tensor.Must(tensor.New(B, G, S, Dh))
	out := tensor.Must(tensor.New(B, H, T, Dh))
	for _, x := range []*tensor.Tensor{q, k, v} {
		randFill(rng, x.Data())
	}
	var dq, dk, dv, dout, lse *tensor.Tensor
	if f.backward {
		dq, dk, dv = tensor.Must(tensor.New(B, H, T, Dh)), tensor.Must(tensor.New(B, G, S, Dh)), tensor.Must(tensor.New(B, G, S, Dh))
		dout, lse = tensor.Must(tensor.New(B, H, T, Dh)), tensor.Must(tensor.New(B, H, T))
		randFill(rng, dout.Data())
	}
	// Write every operand once, so rss_before_bytes counts all their pages.
	for _, x := range []*tensor.Tensor{out, dq, dk, dv, lse} {
		if x != nil {
			clear(x.Data())
		}
	}
	rssBefore := benchrun.PeakRSS()
	var opt attention.Options
	pairs := flops.Pairs(T, S)
	mask := "none"
	if f.causal {
		c := attention.Causal{Align: align}
		opt.Masks = []attention.Mask{c}
		off := 0
		if align == attention.BottomRight {
			off = S - T
		}
		pairs = flops.CausalPairs(T, S, off)
		mask = c.String()
	}
	run := func() error { return attention.ScaledDotProduct(out, q, k, v, opt) }
	if f.backward {
		opt.LSE = lse
		run = func() error {
			if err := attention.ScaledDotProduct(out, q, k, v, opt); err != nil {
				return err
			}
			for _, g := range []*tensor.Tensor{dq, dk, dv} {
				clear(g.Data())
			}
			return attention.ScaledDotProductBackward(dq, dk, dv, dout, q, k, v, out, lse, opt)
		}
	}
	t, err := benchrun.Measure(o.timing, run)
	if err != nil {
		return err
	}
	fwd := flops.Attention(B, H, Dh, pairs)
	count, pass := fwd, "forward"
	if f.backward {
		count, pass = flops.AttentionForwardBackward(B, H, Dh, pairs), "forward+backward"
	}
	shape := benchrun.Fields("batch", B, "heads", H, "kv_heads", G, "head_dim", Dh, "seq", T, "kv_seq", S, "causal", f.causal, "align", f.align,
		"backward", f.backward, "pass", pass, "forward_flops", fwd)
	label := fmt.Sprintf("B=%d H=%d G=%d T=%d S=%d Dh=%d mask=%s %s", B, H, G, T, S, Dh, mask, pass)
	if f.memoryOnly {
		var ob float64
		for _, n := range operands {
			ob += 4 * float64(n)
		}
		rss := benchrun.PeakRSS()
		scores := 4 * float64(B) * float64(H) * float64(T) * float64(S)
		shape = append(shape, benchrun.Fields("memory_only", true, "operand_bytes", ob, "scores_bytes", scores,
			"rss_before_bytes", rssBefore, "work_rss_bytes", rss-rssBefore)...)
		label += fmt.Sprintf(", memory only: operands %.1f MiB, the run added %.1f MiB to the peak RSS (one T×S score matrix per head: %.2f GiB)",
			ob/(1<<20), float64(rss-rssBefore)/(1<<20), scores/(1<<30))
	}
	return o.report(w, workers, benchrun.Report{Op: "attention", Shape: shape, Label: label, FLOPs: count, Timing: t})
}

// ---- mha -----------------------------------------------------------------

type mhaBenchFlags struct {
	batch, seq, dim, heads int
	causal                 bool
}

func newBenchMHACmd(o *benchOpts) *cobra.Command {
	var f mhaBenchFlags
	cmd := &cobra.Command{
		Use:   "mha --batch B --seq T --dim D --heads H [--causal]",
		Short: "Time MultiHeadAttention.Forward (self-attention, biases, no weights returned)",
		Long: `mha times MultiHeadAttention.Forward(x, nil, nil, opts) on x [B,T,D] for a
module built by attention.New with biases (PyTorch's nn.MultiheadAttention
defaults), without returning attention weights (need_weights=False).
--causal adds a top-left causal mask.

FLOPs: the q, k, v and output projections (8·B·T·D²) plus the attention
(4·Dh per allowed (query, key) pair per head; a causal mask's pairs are
counted exactly). Biases and softmax are not counted.`,
		Example: "  attn bench mha --batch 1 --seq 512 --dim 768 --heads 12 --causal --threads 2 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchMHA(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.batch, "batch", 1, "batch size B")
	fs.IntVar(&f.seq, "seq", 0, "tokens T (required)")
	fs.IntVar(&f.dim, "dim", 0, "model width D (required)")
	fs.IntVar(&f.heads, "heads", 0, "heads H, dividing D (required)")
	fs.BoolVar(&f.causal, "causal", false, "causal mask (top-left)")
	for _, name := range []string{"seq", "dim", "heads"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runBenchMHA(w io.Writer, o *benchOpts, f mhaBenchFlags) error {
	if err := positiveFlags(intFlag{"batch", f.batch}, intFlag{"seq", f.seq}, intFlag{"dim", f.dim}, intFlag{"heads", f.heads}); err != nil {
		return err
	}
	if f.dim%f.heads != 0 {
		return fmt.Errorf("--heads %d does not divide --dim %d", f.heads, f.dim)
	}
	if err := o.validate(); err != nil {
		return err
	}
	B, T, D, H := f.batch, f.seq, f.dim, f.heads
	nx, errX := tensor.NumElements(B, T, D)
	nw, errW := tensor.NumElements(4, D, D)
	if err := errorsJoin(errX, errW); err != nil {
		return fmt.Errorf("mha B=%d T=%d D=%d: %v", B, T, D, err)
	}
	// x, q, k, v, the context and the output, plus the weights.
	if err := checkBytes("mha", 6*nx, nw); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	rng := seedRand(o.seed)
	m, err := attention.New(attention.Config{DModel: D, Heads: H, Bias: true}, rng)
	if err != nil {
		return err
	}
	x := tensor.Must(tensor.New(B, T, D))
	randFill(rng, x.Data())
	var opt attention.ForwardOptions
	pairs := flops.Pairs(T, T)
	if f.causal {
		opt.Masks = []attention.Mask{attention.Causal{}}
		pairs = flops.CausalPairs(T, T, 0)
	}
	t, err := benchrun.Measure(o.timing, func() error {
		_, _, err := m.Forward(x, nil, nil, opt)
		return err
	})
	if err != nil {
		return err
	}
	return o.report(w, workers, benchrun.Report{
		Op:     "mha",
		Shape:  benchrun.Fields("batch", B, "seq", T, "dim", D, "heads", H, "causal", f.causal),
		Label:  fmt.Sprintf("B=%d T=%d D=%d H=%d causal=%v", B, T, D, H, f.causal),
		FLOPs:  flops.MHA(B, T, D, H, pairs),
		Timing: t,
	})
}

// ---- peak (hidden) -------------------------------------------------------

func newBenchPeakCmd(o *benchOpts) *cobra.Command {
	var d time.Duration
	cmd := &cobra.Command{
		Use:    "peak [--threads N] [--duration D]",
		Short:  "Measure the machine's FMA peak GFLOP/s (kernel.PeakGFLOPS)",
		Long:   "peak runs kernel.PeakGFLOPS, a register-only FMA loop, on --threads goroutines for about --duration: the ceiling that \"% of peak\" in BENCHMARKS.md divides by.",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if d <= 0 {
				return fmt.Errorf("--duration is %v, want > 0", d)
			}
			if o.threads < 1 {
				return fmt.Errorf("--threads is %d, want >= 1", o.threads)
			}
			runtime.GOMAXPROCS(o.threads)
			g, err := gemmRegistry.peak(o.threads, d)
			if err != nil {
				return err
			}
			return o.emit(cmd.OutOrStdout(), benchrun.Fields(
				"impl", "attn", "op", "peak", "threads", o.threads,
				"duration_s", d.Seconds(), "gflops", benchrun.Round3(g),
				"go_version", runtime.Version(), "goarch", runtime.GOARCH,
			), fmt.Sprintf("FMA peak: %.1f GFLOP/s on %d threads (%v)", g, o.threads, d))
		},
	}
	cmd.Flags().DurationVar(&d, "duration", time.Second, "how long to run the FMA loop")
	return cmd
}

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

// ---- decode --------------------------------------------------------------

// randomModels are the --model values that build a model with random
// weights (from --seed) at a real checkpoint's shape: the same cost, no
// download.
var randomModels = map[string]func() models.DecoderConfig{
	"gpt2-small":  models.GPT2Small,
	"smollm-135m": models.SmolLM135M,
}

// gpt2SmallName is the default --model.
const gpt2SmallName = "gpt2-small"

type decodeFlags struct {
	model        string
	context      int
	bandwidthGBs float64
	// Hidden, for tests: shrink a random model (0 keeps its size).
	dim, layers, heads, kvHeads, vocab int
}

func newBenchDecodeCmd(o *benchOpts) *cobra.Command {
	var f decodeFlags
	cmd := &cobra.Command{
		Use:   "decode --model gpt2-small|smollm-135m|PATH --context N [--bandwidth-gbs G]",
		Short: "Time a decoder's prompt (prefill) and one-token decode step at context N",
		Long: `decode times a decoder model two ways at context N (--context):

  prompt  one Forward of N tokens on an empty state (Reset, then Forward):
          prompt_tokens_per_s = N / median time.
  decode  one Forward of a single token at position N-1, so that it attends
          to N positions (N-1 cached plus itself): the step that produces
          token N+1 of a sequence. The cache is filled with the first N-1
          tokens once; every run rewinds it to N-1 positions (State.Truncate,
          which only moves the length) and appends the last token again, so
          each run does exactly the same work. decode_median_ms is the time
          per token; decode_tokens_per_s = 1000 / decode_median_ms.

Both use the usual warm-up and repeat rules (see attn bench --help) and the
same N token ids, drawn from a seeded source. Two --model names build a
model with random weights from --seed, at the shape (and so the cost) of a
real checkpoint:

  gpt2-small   GPT-2 small: D 768, 12 layers, 12 heads, vocabulary 50257,
               context 1024, LayerNorm, GELU, learned positions, tied head;
               weights laid out as the checkpoint stores them (Conv1D).
  smollm-135m  SmolLM-135M, the Llama architecture: D 576, 30 layers, 9
               query heads sharing 3 key/value heads (Dh 64), SwiGLU 1536,
               vocabulary 49152, context 2048, RMSNorm, rotary positions,
               tied head.

Any other value is a checkpoint path for models.Load (a llama2.c .bin, or a
GPT-2/Llama Hugging Face folder).

Bandwidth floor: a decode step reads every weight once (weight_bytes, from
Decoder.WeightBytes) and the whole KV cache (kv_cache_bytes = 2 (K and V)
x 4 bytes x layers x N x kv_heads x head_dim). With --bandwidth-gbs G (the
machine's DRAM read bandwidth, from attn bench bandwidth), floor_tokens_per_s
= G·1e9 / (weight_bytes + kv_cache_bytes): the decode rate if memory
traffic were the only cost. It is a bound only for models much larger than
the caches.

The usual fields (reps, median_ms, min_ms, max_ms, ...) repeat the decode
step's, the headline number; prompt_* and decode_* hold each measurement.`,
		Example: `  attn bench decode --model gpt2-small --context 1024 --threads 2 --bandwidth-gbs 20 --json
  attn bench decode --model smollm-135m --context 512
  attn bench decode --model path/to/stories260K.bin --context 512`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchDecode(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", gpt2SmallName, "gpt2-small or smollm-135m (random weights from --seed), or a checkpoint path")
	fs.IntVar(&f.context, "context", 0, "context N: prompt length, and the positions the decode step attends to (required)")
	fs.Float64Var(&f.bandwidthGBs, "bandwidth-gbs", 0, "DRAM read bandwidth in GB/s for floor_tokens_per_s (0: no floor)")
	shrinkFlags(fs, intVar{&f.dim, "dim"}, intVar{&f.layers, "layers"}, intVar{&f.heads, "heads"}, intVar{&f.kvHeads, "kv-heads"}, intVar{&f.vocab, "vocab"})
	_ = cmd.MarkFlagRequired("context")
	return cmd
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

// decodeModel builds or loads the model --model names. The caller closes it.
func decodeModel(f decodeFlags, seed uint64) (*models.Decoder, error) {
	preset, random := randomModels[f.model]
	if !random {
		if f.dim != 0 || f.layers != 0 || f.heads != 0 || f.kvHeads != 0 || f.vocab != 0 {
			return nil, fmt.Errorf("--dim, --layers, --heads, --kv-heads and --vocab reshape only the random models (gpt2-small, smollm-135m)")
		}
		return models.LoadDecoder(f.model)
	}
	c := preset()
	if f.dim != 0 || f.heads != 0 || f.kvHeads != 0 {
		kv := f.kvHeads
		if kv == 0 {
			kv = f.heads
		}
		if f.dim < 1 || f.heads < 1 || f.dim%f.heads != 0 || kv < 1 || f.heads%kv != 0 {
			return nil, fmt.Errorf("--dim %d, --heads %d and --kv-heads %d: want all >= 1, heads dividing dim, kv-heads dividing heads", f.dim, f.heads, kv)
		}
		c.DModel, c.Heads, c.KVHeads, c.HeadDim, c.DFF = f.dim, f.heads, kv, f.dim/f.heads, 4*f.dim
		c.RoPE.Dim = c.HeadDim
	}
	if f.layers != 0 {
		c.Layers = f.layers
	}
	if f.vocab != 0 {
		c.Vocab, c.BOS, c.EOS = f.vocab, f.vocab-1, f.vocab-1
	}
	return models.NewRandomDecoder(c, seed)
}

func runBenchDecode(w io.Writer, o *benchOpts, f decodeFlags) error {
	if err := positiveFlags(intFlag{"context", f.context}); err != nil {
		return err
	}
	if !(f.bandwidthGBs >= 0) || math.IsInf(f.bandwidthGBs, 0) {
		return fmt.Errorf("--bandwidth-gbs is %v, want a finite number >= 0", f.bandwidthGBs)
	}
	if err := o.validate(); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	m, err := decodeModel(f, o.seed)
	if err != nil {
		return err
	}
	defer m.Close()
	c := m.Config
	N := f.context
	if N > c.Context {
		return fmt.Errorf("--context %d exceeds the model's context length %d", N, c.Context)
	}
	s, err := m.NewState(N)
	if err != nil {
		return err
	}
	rng := seedRand(o.seed)
	ids := make([]int, N)
	for i := range ids {
		ids[i] = rng.IntN(c.Vocab)
	}
	var fwd models.ForwardOptions
	prompt, err := benchrun.Measure(o.timing, func() error {
		s.Reset()
		_, err := m.Forward(s, ids, fwd)
		return err
	})
	if err != nil {
		return err
	}
	s.Reset()
	if N > 1 {
		if _, err := m.Forward(s, ids[:N-1], fwd); err != nil {
			return err
		}
	}
	dec, err := benchrun.Measure(o.timing, func() error {
		if err := s.Truncate(N - 1); err != nil {
			return err
		}
		_, err := m.Forward(s, ids[N-1:], fwd)
		return err
	})
	if err != nil {
		return err
	}

	promptRate, decRate := benchrun.PerSecond(float64(N), prompt.Median()), benchrun.PerSecond(1, dec.Median())
	weights := m.WeightBytes()
	kvBytes := int64(2*4*c.Layers*c.KVHeads*c.HeadDim) * int64(N)
	env, rss := o.env(workers), benchrun.PeakRSS()
	obj := benchrun.Fields("impl", "attn", "op", "decode", "model", f.model, "arch", c.Arch,
		"vocab", c.Vocab, "dim", c.DModel, "layers", c.Layers, "heads", c.Heads, "kv_heads", c.KVHeads,
		"head_dim", c.HeadDim, "hidden", c.DFF, "context", N)
	obj = append(obj, env.ThreadFields()...)
	obj = append(obj, dec.Fields("")...)
	obj = append(obj, benchrun.Fields("prompt_tokens", N)...)
	obj = append(obj, prompt.Fields("prompt_")...)
	obj = append(obj, benchrun.Fields("prompt_tokens_per_s", promptRate)...)
	obj = append(obj, dec.Fields("decode_")...)
	obj = append(obj, benchrun.Fields("decode_tokens_per_s", decRate,
		"weight_bytes", weights, "kv_cache_bytes", kvBytes, "bytes_per_token", weights+kvBytes)...)
	floor := ""
	if f.bandwidthGBs > 0 {
		ft := f.bandwidthGBs * 1e9 / float64(weights+kvBytes)
		obj = append(obj, benchrun.Fields("bandwidth_gbs", f.bandwidthGBs, "floor_tokens_per_s", benchrun.Round3(ft),
			"decode_pct_of_floor", math.Round(1000*decRate/ft)/10)...)
		floor = fmt.Sprintf(", bandwidth floor %.1f tokens/s at %.1f GB/s (decode at %.0f%%)", ft, f.bandwidthGBs, 100*decRate/ft)
	}
	obj = append(obj, env.TailFields(rss)...)
	summary := fmt.Sprintf("decode %s (%s) at context %d: prompt %.3f ms median (%.1f tokens/s, %d reps), decode %.3f ms/token median (%.1f tokens/s, min %.3f, max %.3f, %d reps); reads %.1f MB weights + %.1f MB KV cache per token%s; %s",
		f.model, c.Arch, N, benchrun.Ms(prompt.Median()), promptRate, len(prompt.Times), benchrun.Ms(dec.Median()), decRate,
		benchrun.Ms(dec.Min()), benchrun.Ms(dec.Max()), len(dec.Times),
		float64(weights)/1e6, float64(kvBytes)/1e6, floor, env.Summary(rss))
	return o.emit(w, obj, summary)
}

// ---- bandwidth -----------------------------------------------------------

func newBenchBandwidthCmd(o *benchOpts) *cobra.Command {
	var mib int
	cmd := &cobra.Command{
		Use:   "bandwidth [--threads T] [--mib M]",
		Short: "Measure sustained DRAM read bandwidth (GB/s) with a buffer far larger than the caches",
		Long: `bandwidth measures how fast --threads goroutines read memory: a float32
buffer of --mib MiB (default 1 GiB) is written once in full (so its pages are
resident), then each timed pass reads all of it, 1 MiB chunks handed out over
attn's worker pool, each reduced with kernel.Dot(chunk, chunk) (one DRAM read
per byte). Passes follow the usual warm-up and repeat rules (see attn bench
--help). bandwidth_gbs = buffer bytes / median pass time (GB = 1e9 bytes);
best_gbs uses the fastest pass.

It is the bandwidth that attn bench decode --bandwidth-gbs turns into a
decode floor (tokens/s = bandwidth / bytes read per token).`,
		Example: "  attn bench bandwidth --threads 2 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchBandwidth(cmd.OutOrStdout(), o, mib)
		},
	}
	cmd.Flags().IntVar(&mib, "mib", 1024, "buffer size in MiB (keep it far above the L3 size)")
	return cmd
}

func runBenchBandwidth(w io.Writer, o *benchOpts, mib int) error {
	if err := positiveFlags(intFlag{"mib", mib}); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	n := mib << 18 // float32s in mib MiB
	if err := checkBytes("bandwidth", n); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	probe := benchrun.NewReadProbe(n)
	t, err := benchrun.Measure(o.timing, func() error {
		probe.Pass()
		return nil
	})
	if err != nil {
		return err
	}
	bytes := float64(probe.Bytes())
	gbs := func(d time.Duration) float64 { return benchrun.Round3(bytes / d.Seconds() / 1e9) }
	med, best := gbs(t.Median()), gbs(t.Min())
	env, rss := o.env(workers), benchrun.PeakRSS()
	obj := benchrun.Fields("impl", "attn", "op", "bandwidth", "buffer_bytes", probe.Bytes(), "chunk_bytes", benchrun.ReadChunk)
	obj = append(obj, env.ThreadFields()...)
	obj = append(obj, t.Fields("")...)
	obj = append(obj, benchrun.Fields("bandwidth_gbs", med, "best_gbs", best)...)
	obj = append(obj, env.TailFields(rss)...)
	summary := fmt.Sprintf("bandwidth: %.2f GB/s median (best %.2f) reading %d MiB, pass %.3f ms median (%d reps after %d warm-up), %d threads, peak RSS %.1f MiB, %s",
		med, best, mib, benchrun.Ms(t.Median()), len(t.Times), t.WarmupReps, o.threads, float64(rss)/(1<<20), runtime.Version())
	return o.emit(w, obj, summary)
}

// ---- train ---------------------------------------------------------------

// The --model values of attn bench train.
const (
	trainDemo      = "demo"
	trainGPT2Layer = "gpt2-layer"
)

type trainBenchFlags struct {
	model string
	batch int // 0: the model's default (64 for demo, 1 for gpt2-layer)
	seq   int // gpt2-layer: tokens per sequence
	// Hidden, for tests: shrink the gpt2-layer model (0 keeps GPT-2's).
	dim, heads, vocab int
}

func newBenchTrainCmd(o *benchOpts) *cobra.Command {
	var f trainBenchFlags
	cmd := &cobra.Command{
		Use:   "train --model demo|gpt2-layer [--batch B] [--seq T]",
		Short: "Time one training step: forward, backward (and the optimizer for demo)",
		Long: `train times one full training step of a model, on a fixed batch.

--model demo is attn demo's and attn train's model on its task: the
encoder-decoder nn.Transformer of preset "small" (2 encoder and 2 decoder
layers, d_model 64, 4 heads, d_ff 256, post-LN, tied embedding, sinusoidal
positions) on a batch of --batch (default 64) "reverse" examples from
train.MakeBatch (8-16 symbols, padded: source length S, target length T).
One step is what attn train does per batch: ZeroGrads; Loss with backward
and label smoothing 0.1; ClipGradNorm(1); AdamW (β 0.9/0.98, ε 1e-9, weight
decay 0.01, lr 1e-3) Update. The weights change from run to run, as in
training. tokens_per_step = B·(S+T), every padded position the encoder and
decoder process; label_tokens counts the labels that enter the loss.

--model gpt2-layer is one GPT-2-small-shaped decoder block: nn.GPT with
vocabulary 256, context 1024, 1 layer, 12 heads, d_model 768 (pre-LN,
tanh-GELU MLP of 3072, learned positions, final LayerNorm, tied head) on
--batch 1 sequence of --seq 1024 random tokens with random labels. The
vocabulary is tiny so that the embedding and head (2·T·768·256 FLOPs each
way) are a few percent of the block's: the figure is the block's. One step
is ZeroGrads and Loss with backward (no optimizer). tokens_per_step = B·T.
FLOPs: the matrix products (24·N·D² per layer and 2·N·D·V for the head,
N = B·T) × 3 (forward, and a backward of twice that), plus causal attention
(4·D per allowed (query, key) pair per layer) × 3.5 (backward = 2.5
forwards, as attn bench attention --backward counts it).

tokens_per_s = tokens_per_step / median step time.`,
		Example: `  attn bench train --model demo --threads 2 --json
  attn bench train --model gpt2-layer --threads 2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchTrain(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", trainDemo, "demo or gpt2-layer")
	fs.IntVar(&f.batch, "batch", 0, "sequences per step (default 64 for demo, 1 for gpt2-layer)")
	fs.IntVar(&f.seq, "seq", 1024, "gpt2-layer: tokens per sequence T (at most 1024)")
	for _, h := range []struct {
		p    *int
		name string
	}{{&f.dim, "dim"}, {&f.heads, "heads"}, {&f.vocab, "vocab"}} {
		fs.IntVar(h.p, h.name, 0, "shrink the gpt2-layer model (tests)")
		_ = fs.MarkHidden(h.name)
	}
	return cmd
}

// trainStep is one model's training step and what the JSON says about it.
type trainStep struct {
	step   func() error
	shape  benchrun.Object // the model and batch
	tokens int             // tokens_per_step
	flops  float64
	loss   func() float64 // mean loss of the last step
	label  string
}

func runBenchTrain(w io.Writer, o *benchOpts, f trainBenchFlags) error {
	if f.batch < 0 {
		return fmt.Errorf("--batch is %d, want >= 1", f.batch)
	}
	if err := positiveFlags(intFlag{"seq", f.seq}); err != nil {
		return err
	}
	if f.model != trainDemo && f.model != trainGPT2Layer {
		return fmt.Errorf("--model is %q, want %s or %s", f.model, trainDemo, trainGPT2Layer)
	}
	if f.model != trainGPT2Layer && (f.dim != 0 || f.heads != 0 || f.vocab != 0) {
		return fmt.Errorf("--dim, --heads and --vocab reshape only --model %s", trainGPT2Layer)
	}
	if err := o.validate(); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	var ts *trainStep
	if f.model == trainDemo {
		ts, err = demoTrainStep(f, o.seed)
	} else {
		ts, err = gptTrainStep(f, o.seed)
	}
	if err != nil {
		return err
	}
	t, err := benchrun.Measure(o.timing, ts.step)
	if err != nil {
		return err
	}
	med := t.Median()
	rate := benchrun.PerSecond(float64(ts.tokens), med)
	var count, gflops any // null for a step without a FLOP count
	if ts.flops > 0 {
		count = ts.flops
		if med > 0 {
			gflops = benchrun.Round3(ts.flops / med.Seconds() / 1e9)
		}
	}
	env, rss := o.env(workers), benchrun.PeakRSS()
	obj := benchrun.Fields("impl", "attn", "op", "train", "model", f.model)
	obj = append(obj, ts.shape...)
	obj = append(obj, benchrun.Fields("tokens_per_step", ts.tokens)...)
	obj = append(obj, env.ThreadFields()...)
	obj = append(obj, t.Fields("")...)
	obj = append(obj, benchrun.Fields("tokens_per_s", rate, "flops", count, "gflops", gflops, "loss", benchrun.Round3(ts.loss()))...)
	obj = append(obj, env.TailFields(rss)...)
	gf := ""
	if g, ok := gflops.(float64); ok {
		gf = fmt.Sprintf(", %.2f GFLOP/s", g)
	}
	summary := fmt.Sprintf("train %s (%s): step %s, %.0f tokens/s (%d tokens per step)%s, loss %.3f, %s",
		f.model, ts.label, t.Summary(), rate, ts.tokens, gf, ts.loss(), env.Summary(rss))
	return o.emit(w, obj, summary)
}

// demoTrainStep is attn train's step on the demo model and a reverse batch.
func demoTrainStep(f trainBenchFlags, seed uint64) (*trainStep, error) {
	B := f.batch
	if B == 0 {
		B = 64
	}
	task, err := train.NewTask("reverse")
	if err != nil {
		return nil, err
	}
	cfg, err := nn.TransformerPreset("small", task.Vocab())
	if err != nil {
		return nil, err
	}
	m, err := nn.NewTransformer(cfg, seedRand(seed))
	if err != nil {
		return nil, err
	}
	b := train.MakeBatch(task, seed, 0, B)
	bt := &nn.Seq2SeqBatch{B: b.B, S: b.S, T: b.T, Src: b.Src, SrcLen: b.SrcLen, TgtIn: b.TgtIn, TgtOut: b.TgtOut, Ignore: train.Ignore}
	labels := 0
	for _, l := range b.TgtOut {
		if l != train.Ignore {
			labels++
		}
	}
	params := m.Params()
	var nparams int
	for _, p := range params {
		nparams += len(p.W)
	}
	adam := &train.Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-9, WeightDecay: 0.01, Decoupled: true}
	var last nn.LossStats
	step := func() error {
		train.ZeroGrads(params)
		st, err := m.Loss(bt, nn.TrainOptions{Backward: true, Smoothing: 0.1})
		if err != nil {
			return err
		}
		last = st
		train.ClipGradNorm(params, 1)
		return adam.Update(params, 1e-3)
	}
	shape := benchrun.Fields("task", task.Name(), "vocab", cfg.Vocab, "d_model", cfg.DModel, "heads", cfg.Heads, "d_ff", cfg.DFF, "enc_layers", cfg.EncLayers, "dec_layers", cfg.DecLayers, "norm_first", cfg.NormFirst, "params", nparams, "batch", B, "src_len", b.S, "tgt_len", b.T, "label_tokens", labels, "optimizer", "AdamW(0.9, 0.98, eps 1e-9, wd 0.01), clip 1, label smoothing 0.1")
	return &trainStep{
		step: step, shape: shape, tokens: B * (b.S + b.T),
		loss:  func() float64 { return last.Sum / float64(max(last.Count, 1)) },
		label: fmt.Sprintf("B=%d S=%d T=%d, %d params", B, b.S, b.T, nparams),
	}, nil
}

// gptTrainStep is the forward and backward of one GPT-2-small-shaped block.
func gptTrainStep(f trainBenchFlags, seed uint64) (*trainStep, error) {
	B := f.batch
	if B == 0 {
		B = 1
	}
	cfg := nn.GPTConfig{Vocab: 256, Context: 1024, Layers: 1, Heads: 12, DModel: 768, Eps: 1e-5}
	if f.dim != 0 || f.heads != 0 {
		if f.dim < 1 || f.heads < 1 || f.dim%f.heads != 0 {
			return nil, fmt.Errorf("--dim %d and --heads %d: want both >= 1, heads dividing dim", f.dim, f.heads)
		}
		cfg.DModel, cfg.Heads = f.dim, f.heads
	}
	if f.vocab != 0 {
		cfg.Vocab = f.vocab
	}
	T := f.seq
	if T > cfg.Context {
		return nil, fmt.Errorf("--seq %d exceeds the model's context length %d", T, cfg.Context)
	}
	N, D, V := B*T, cfg.DModel, cfg.Vocab
	// Activations: about 20 [N,D] tensors and 2 [N,4D] per layer, logits [N,V] twice.
	if err := checkBytes("train", 30*N*D, 2*N*V, 30*D*D); err != nil {
		return nil, err
	}
	rng := seedRand(seed)
	m, err := nn.NewGPT(cfg, rng)
	if err != nil {
		return nil, err
	}
	bt := &nn.LMBatch{B: B, T: T, IDs: make([]int, N), Labels: make([]int, N), Ignore: -1}
	for i := range bt.IDs {
		bt.IDs[i], bt.Labels[i] = rng.IntN(V), rng.IntN(V)
	}
	params := m.Params()
	var nparams int
	for _, p := range params {
		nparams += len(p.W)
	}
	var last nn.LossStats
	step := func() error {
		train.ZeroGrads(params)
		st, err := m.Loss(bt, nn.TrainOptions{Backward: true})
		last = st
		return err
	}
	shape := benchrun.Fields("vocab", V, "context", cfg.Context, "layers", cfg.Layers, "heads", cfg.Heads, "d_model", D, "params", nparams, "batch", B, "seq", T, "optimizer", nil)
	return &trainStep{
		step: step, shape: shape, tokens: N, flops: flops.GPTTrainStep(B, T, D, V, cfg.Layers),
		loss:  func() float64 { return last.Sum / float64(max(last.Count, 1)) },
		label: fmt.Sprintf("B=%d T=%d D=%d H=%d L=%d V=%d, %d params", B, T, D, cfg.Heads, cfg.Layers, V, nparams),
	}, nil
}
