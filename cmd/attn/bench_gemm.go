package main

// attn bench gemm: kernel.Gemm, C[m,n] = A[m,k]·op(B).

import (
	"cmp"
	"fmt"
	"io"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/kernel"
	"github.com/attn-go/attn/tensor"
	"github.com/spf13/cobra"
)

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
	if err := cmp.Or(errA, errB, errC); err != nil {
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
