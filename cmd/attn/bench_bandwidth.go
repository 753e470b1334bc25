package main

// attn bench bandwidth: sustained DRAM read bandwidth.

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/spf13/cobra"
)

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
