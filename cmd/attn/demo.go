package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/attn-go/attn/tensor"
	"github.com/attn-go/attn/train"
	"github.com/attn-go/attn/viz"
	"github.com/spf13/cobra"
)

type demoFlags struct {
	steps    int
	seed     uint64
	out      string
	pictures string
	quiet    bool
}

func newDemoCmd() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Train a Transformer to reverse sequences, then show where it looks",
		Long: `demo trains the encoder-decoder Transformer of "Attention Is All You Need"
from scratch to reverse sequences of 8-16 digits (about a minute on two
cores), prints its held-out exact-match accuracy and a few predictions, then
shows the last decoder layer's cross-attention for one example: to write the
i-th output digit the model looks at the i-th input digit from the end, so
the weights line up on the anti-diagonal.

It is seeded: two runs print the same numbers. "attn train --task reverse"
is the same training with checkpoints; "attn explain" walks the six steps of
attention itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDemo(cmd, f) },
	}
	fs := cmd.Flags()
	fs.IntVar(&f.steps, "steps", 500, "training steps")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for initialisation, data and dropout")
	fs.StringVar(&f.out, "out", "", "keep the checkpoint in this folder (default: a temporary one, removed)")
	fs.StringVar(&f.pictures, "pictures", ".", "folder for attention.png and attention.html (\"\" for none)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	return cmd
}

func runDemo(cmd *cobra.Command, f demoFlags) error {
	w := cmd.OutOrStdout()
	rc, err := train.DefaultRunConfig("reverse")
	if err != nil {
		return err
	}
	if f.steps < 1 {
		return fmt.Errorf("--steps %d: want >= 1", f.steps)
	}
	rc.Steps, rc.Seed, rc.EvalEvery, rc.SaveEvery = f.steps, f.seed, 0, 0
	dir := f.out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "attn-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if _, err := os.Stat(dir + "/" + train.CheckpointFile); err == nil {
		return fmt.Errorf("%s already holds a checkpoint; choose another --out", dir)
	}
	m := rc.Model
	fmt.Fprintf(w, "Training a Transformer (post-LN, %d+%d layers, d_model %d, %d heads, d_ff %d) to reverse\nsequences of 8-16 digits: %d steps of %d examples, seed %d.\n\n",
		m.EncLayers, m.DecLayers, m.DModel, m.Heads, m.DFF, rc.Steps, rc.BatchSize, rc.Seed)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := newBar(cmd.ErrOrStderr(), f.quiet)
	var tokens int
	res, err := train.Train(ctx, rc, dir, false, train.Hooks{OnStep: func(s train.StepInfo) {
		tokens += s.Tokens
		if bar != nil {
			bar.ChangeMax(s.Steps)
			bar.Describe(fmt.Sprintf("loss %.3f acc %.3f %6.0f tok/s", s.Loss, s.Accuracy, float64(tokens)/s.Elapsed.Seconds()))
			_ = bar.Set(s.Step)
		}
	}})
	if bar != nil && bar.State().CurrentNum > 0 {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Trained in %s. Final training loss %.3f (label smoothing 0.1 keeps it above 0).\n",
		res.Elapsed.Round(100*time.Millisecond), res.Losses[len(res.Losses)-1])
	fmt.Fprintf(w, "Held-out exact match: %.1f%% of %d sequences reversed without a single wrong digit\n(token accuracy %.2f%%).\n\n",
		100*res.Eval.ExactMatch, res.Eval.Examples, 100*res.Eval.TokenAccuracy)

	loaded, _, _, err := train.LoadModel(dir)
	if err != nil {
		return err
	}
	model := loaded.(train.Seq2Seq) // the demo trains the encoder-decoder
	task, _ := train.NewTask("reverse")
	examples := []string{"31415926", "2718281828459045", "1234567890", "55501234"}
	var srcs [][]int
	for _, e := range examples {
		s, err := train.ParseInput(task, e)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
	}
	outs, cross, err := model.GreedyWithCross(srcs, train.BOS, train.EOS, task.MaxTgt()+1)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Predictions:")
	for i, e := range examples {
		got := task.Format(outs[i])
		mark := "ok"
		if got != reverseString(e) {
			mark = "WRONG, want " + reverseString(e)
		}
		fmt.Fprintf(w, "  %-18s -> %-18s %s\n", e, got, mark)
	}
	fmt.Fprintf(w, "\nCross-attention of the last decoder layer for %s (mean over heads; rows: output\ndigits, columns: input digits; darker = more weight):\n\n", examples[0])
	printHeatmap(w, cross[0], examples[0], task.Format(outs[0]))
	if f.pictures == "" {
		return nil
	}
	rows := make([]string, cross[0].Dim(1))
	for q := range rows {
		rows[q] = "EOS"
		if q < len(outs[0]) {
			if rows[q] = task.Format(outs[0][q : q+1]); rows[q] == "" {
				rows[q] = fmt.Sprintf("<%d>", outs[0][q])
			}
		}
	}
	png, html, err := demoPictures(f.pictures, cross[0], examples[0], rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nPictures: %s (the heads' mean) and %s (every head; open it in a browser).\n", png, html)
	return nil
}

// demoPictures writes the cross-attention weights [H, T, S] of one example
// (rows labelled by the output tokens) as a heatmap of the heads' mean and
// as an interactive page.
func demoPictures(dir string, cross *tensor.Tensor, src string, rows []string) (string, string, error) {
	H, T, S := cross.Dim(0), cross.Dim(1), cross.Dim(2)
	cols := strings.Split(src, "")
	mean := tensor.Must(tensor.New(T, S))
	for h := range H {
		for q := range T {
			for k := range S {
				mean.Data()[q*S+k] += cross.At(h, q, k) / float32(H)
			}
		}
	}
	png := filepath.Join(dir, "attention.png")
	if err := viz.WriteHeatmap(png, mean, viz.HeatmapOptions{Title: "Cross-attention, last decoder layer (mean of heads): reversing " + src, Rows: rows, Cols: cols}); err != nil {
		return "", "", err
	}
	page, err := viz.NewPage(rows, cols, viz.PageOptions{Title: "attn demo: reversing " + src, LayerNames: map[int]string{0: "decoder cross-attention (last layer)"}})
	if err != nil {
		return "", "", err
	}
	for h := range H {
		if err := page.Add(0, h, tensor.Must(cross.Select(0, h))); err != nil {
			return "", "", err
		}
	}
	html := filepath.Join(dir, "attention.html")
	if err := page.WriteFile(html); err != nil {
		return "", "", err
	}
	return png, html, nil
}

func reverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// printHeatmap draws the head-averaged weights w [H, T, S] as characters,
// one row per output position (the last row is EOS).
func printHeatmap(w io.Writer, weights *tensor.Tensor, src, out string) {
	H, T, S := weights.Dim(0), weights.Dim(1), weights.Dim(2)
	shades := []rune(" ░▒▓█")
	fmt.Fprintf(w, "        %s\n", strings.Join(strings.Split(src, ""), " "))
	for q := range T {
		label := "EOS"
		if q < len(out) {
			label = string(out[q])
		}
		var b strings.Builder
		for k := range S {
			var m float64
			for h := range H {
				m += float64(weights.At(h, q, k))
			}
			m /= float64(H)
			idx := min(int(m*float64(len(shades))), len(shades)-1)
			b.WriteRune(shades[idx])
			b.WriteRune(shades[idx])
		}
		fmt.Fprintf(w, "  %3s  %s\n", label, b.String())
	}
}
