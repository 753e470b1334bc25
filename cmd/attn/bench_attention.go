package main

// attn bench attention: attention.ScaledDotProduct on q [B,H,T,Dh], k and v
// [B,Hkv,S,Dh], forward or forward and backward.

import (
	"cmp"
	"fmt"
	"io"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/tensor"
	"github.com/spf13/cobra"
)

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
	if err := cmp.Or(errQ, errK); err != nil {
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
