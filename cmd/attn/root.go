package main

import (
	"fmt"
	"io"

	"github.com/attn-go/attn/tensor"
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
	root.PersistentFlags().String("memory-budget", "", "refuse any single buffer larger than this (e.g. 2GiB; default: ATTN_MEMORY_BUDGET, else no limit)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		s, _ := cmd.Flags().GetString("memory-budget")
		if s == "" {
			return nil
		}
		b, err := tensor.ParseBytes(s)
		if err != nil {
			return fmt.Errorf("--memory-budget: %v", err)
		}
		tensor.SetMemoryBudget(b)
		return nil
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newDemoCmd(), newExplainCmd(), newMHACmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newInspectCmd(), newRunCmd(), newGenerateCmd(), newEmbedCmd(), newTokenizeCmd())
	root.AddCommand(newTrainCmd(), newEvalCmd(), newPredictCmd())
	root.AddCommand(newVizCmd())
	return root
}
