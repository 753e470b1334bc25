package main

// attn bench mha: MultiHeadAttention.Forward on x [B,T,D] with H heads.

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
	if err := cmp.Or(errX, errW); err != nil {
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
