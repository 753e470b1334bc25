package main

// attn bench peak (hidden): the FMA peak that "% of peak" divides by.

import (
	"fmt"
	"runtime"
	"time"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/spf13/cobra"
)

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
