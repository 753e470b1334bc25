package main

// attn bench tokenize: encode throughput of a tokenizer.

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/tokenizer"
	"github.com/spf13/cobra"
)

func newBenchTokenizeCmd(o *benchOpts) *cobra.Command {
	var path, text string
	var vocab int
	cmd := &cobra.Command{
		Use:   "tokenize --tokenizer PATH --text FILE",
		Short: "Measure encode throughput (MB/s) of a tokenizer on a text file",
		Long: `tokenize encodes the whole of --text (UTF-8, read once) with the tokenizer
of --tokenizer, as attn tokenize does (special-token strings recognised, no
special tokens added), on one goroutine. Each timed run is one Encode of the
whole text; the tokenizer's word cache is warm after the warm-up, as it is for
a long-running service. mb_per_s = text bytes / 1e6 / median run time.

scripts/bench/tokenizers.sh runs it for every tokenizer next to Hugging Face
tokenizers.js on the same text.`,
		Example: "  attn bench tokenize --tokenizer ../shared/tokenizers/llama3 --text /tmp/bench.txt --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" || text == "" {
				return fmt.Errorf("--tokenizer and --text are required")
			}
			if err := o.validate(); err != nil {
				return err
			}
			data, err := os.ReadFile(text)
			if err != nil {
				return fmt.Errorf("--text: %w", err)
			}
			tok, err := tokenizer.Load(path, tokenizer.LoadOptions{VocabSize: vocab})
			if err != nil {
				return err
			}
			workers, err := o.setup()
			if err != nil {
				return err
			}
			return runBenchTokenize(cmd.OutOrStdout(), o, workers, path, tok, string(data))
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "tokenizer", "", "tokenizer file or model folder")
	f.StringVar(&text, "text", "", "text file to encode")
	f.IntVar(&vocab, "vocab-size", 0, "vocab size of a llama2.c tokenizer.bin")
	return cmd
}

func runBenchTokenize(w io.Writer, o *benchOpts, workers int, path string, tok tokenizer.Tokenizer, text string) error {
	var n int
	t, err := benchrun.Measure(o.timing, func() error {
		ids, err := encodeForCLI(tok, text, false)
		n = len(ids)
		return err
	})
	if err != nil {
		return err
	}
	mbs := benchrun.Round3(float64(len(text)) / 1e6 / t.Median().Seconds())
	env, rss := o.env(workers), benchrun.PeakRSS()
	obj := benchrun.Fields("impl", "attn", "op", "tokenize", "tokenizer", path, "bytes", len(text), "ids", n)
	obj = append(obj, t.Fields("")...)
	obj = append(obj, benchrun.Fields("mb_per_s", mbs)...)
	obj = append(obj, env.TailFields(rss)...)
	summary := fmt.Sprintf("tokenize: %.1f MB/s median, %d bytes into %d ids, run %.1f ms median (%d reps), %s",
		mbs, len(text), n, benchrun.Ms(t.Median()), len(t.Times), runtime.Version())
	return o.emit(w, obj, summary)
}
