package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "attn",
		Short: "Transformer multi-head attention in pure Go",
		Long: `attn computes the multi-head self-attention of "Attention Is All You Need"
(Vaswani et al., 2017) in pure Go, matching PyTorch to float32 rounding.

Start with "attn demo", which trains a Transformer to reverse sequences and shows
where it looks, or "attn explain", which walks the six steps of attention.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().Bool("debug", false, "print stack traces for internal errors")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newDemoCmd(), newExplainCmd(), newMHACmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newInspectCmd(), newRunCmd(), newGenerateCmd(), newEmbedCmd())
	root.AddCommand(newTrainCmd(), newEvalCmd(), newPredictCmd())
	root.AddCommand(newVizCmd())
	return root
}
