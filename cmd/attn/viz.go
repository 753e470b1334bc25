package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/attn-go/attn/models"
	"github.com/attn-go/attn/tensor"
	"github.com/attn-go/attn/tokenizer"
	"github.com/attn-go/attn/train"
	"github.com/attn-go/attn/viz"
	"github.com/spf13/cobra"
)

type vizFlags struct {
	model, tok, prompt, ids, out string
	rows, cols, title            string
	layer, head, topK, maxLabels int
	grid, maxLabelsSet           bool
}

func newVizCmd() *cobra.Command {
	var f vizFlags
	cmd := &cobra.Command{
		Use:   "viz --model PATH (--prompt TEXT | --ids 1,2,3) [--layer L] [--head H] --out FILE.{html,png,svg}",
		Short: "Draw a checkpoint's attention: heatmaps (PNG/SVG) or an interactive HTML page",
		Long: `viz runs a checkpoint once on the input and draws its attention weights.

The output format follows --out's extension:
  .png, .svg  one head as a heatmap (--layer, default the last; --head,
              default 0), or with --head -1 or --grid every head of the
              layer as small multiples on one colour scale;
  .html       one self-contained page (no network access needed) with a
              head view of all layers and heads (lines from each query token
              to the keys it attends to; layer selector, head checkboxes,
              hover a token) and a model view (thumbnails of every layer and
              head; click one to enlarge it).

--model is a decoder-only checkpoint (GPT-2, Llama, Qwen2, Mistral,
llama2.c; the tokenizer is found beside it as for generate), whose
self-attention is drawn, or a folder written by "attn train", whose last
decoder layer's cross-attention is drawn for the decoded output (rows: the
output symbols then EOS; columns: the input symbols; --prompt is the input
as the task writes it, e.g. 31415926).

Long inputs: --rows a:b and --cols c:d draw only a window of positions;
heatmaps show at most --max-labels labels per axis; the page keeps each
query's --top-k largest weights once a head has more than 64×64 cells.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runViz(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", "", "decoder checkpoint (Hugging Face folder or llama2.c .bin) or attn train folder (required)")
	fs.StringVar(&f.tok, "tokenizer", "", "tokenizer file or folder (default: found beside the model)")
	fs.StringVar(&f.prompt, "prompt", "", "input text")
	fs.StringVar(&f.ids, "ids", "", "input as comma-separated token ids")
	fs.StringVar(&f.out, "out", "", "output file: .html, .png or .svg (required)")
	fs.IntVar(&f.layer, "layer", -1, "layer to draw in a PNG/SVG (-1: the last)")
	fs.IntVar(&f.head, "head", 0, "head to draw in a PNG/SVG (-1: all heads of the layer as a grid)")
	fs.BoolVar(&f.grid, "grid", false, "draw all heads of the layer (same as --head -1)")
	fs.StringVar(&f.rows, "rows", "", "window of query positions a:b (b excluded; either end may be left out)")
	fs.StringVar(&f.cols, "cols", "", "window of key positions c:d")
	fs.IntVar(&f.topK, "top-k", viz.DefaultTopK, "HTML: weights kept per query row when a head has more than 64×64 cells")
	fs.IntVar(&f.maxLabels, "max-labels", viz.DefaultMaxLabels, "PNG/SVG: most tick labels per axis (grid tiles: 10 unless given)")
	fs.StringVar(&f.title, "title", "", "title (default: the model and what is drawn)")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// parseSpan reads a window "a:b" (either end may be empty) into [lo, hi),
// hi = 0 meaning the end.
func parseSpan(flag, s string) (lo, hi int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("--%s %q: want a:b (positions a to b-1)", flag, s)
	}
	if a != "" {
		if lo, err = strconv.Atoi(a); err != nil || lo < 0 {
			return 0, 0, fmt.Errorf("--%s %q: %q is not a position", flag, s, a)
		}
	}
	if b != "" {
		if hi, err = strconv.Atoi(b); err != nil || hi <= lo {
			return 0, 0, fmt.Errorf("--%s %q: want a:b with b > a", flag, s)
		}
	}
	return lo, hi, nil
}

// checkWritable fails early, before the model runs, when out cannot be
// created.
func checkWritable(out string) error {
	dir := filepath.Dir(out)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--out %s: folder %s does not exist", out, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("--out %s: %s is not a folder", out, dir)
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s is a folder", out)
	}
	f, err := os.CreateTemp(dir, ".attn-viz-check-*")
	if err != nil {
		return fmt.Errorf("--out %s: cannot write in %s", out, dir)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// vizSink gathers what the chosen output needs from the heads as they
// come, copying from the caller's (reused) buffers.
type vizSink struct {
	format      viz.Format
	layer, head int // the PNG/SVG selection; head -1 for the grid
	page        *viz.Page
	one         *tensor.Tensor
	grid        []*tensor.Tensor
}

func (s *vizSink) add(layer, head int, w *tensor.Tensor) error {
	if s.page != nil {
		return s.page.Add(layer, head, w)
	}
	if layer != s.layer {
		return nil
	}
	if s.head < 0 {
		for len(s.grid) <= head {
			s.grid = append(s.grid, nil)
		}
		s.grid[head] = w.Clone()
	} else if head == s.head {
		s.one = w.Clone()
	}
	return nil
}

func (s *vizSink) write(path, title string, queries, keys []string, f vizFlags, win viz.Window) error {
	switch {
	case s.page != nil:
		return s.page.WriteFile(path)
	case s.head < 0:
		for h, w := range s.grid {
			if w == nil {
				return fmt.Errorf("internal error: no weights for layer %d head %d", s.layer, h)
			}
		}
		maxLabels := 0 // the grid's own default, unless --max-labels is given
		if f.maxLabelsSet {
			maxLabels = f.maxLabels
		}
		return viz.WriteGrid(path, s.grid, viz.GridOptions{Title: title, Rows: queries, Cols: keys, Window: win, MaxLabels: maxLabels})
	default:
		if s.one == nil {
			return fmt.Errorf("internal error: no weights for layer %d head %d", s.layer, s.head)
		}
		return viz.WriteHeatmap(path, s.one, viz.HeatmapOptions{Title: title, Rows: queries, Cols: keys, Window: win, MaxLabels: f.maxLabels})
	}
}

// newSink checks --layer and --head against a model with L layers of H
// heads (only layer onlyLayer when it is >= 0) and prepares the output.
func newSink(f vizFlags, format viz.Format, L, H, onlyLayer int, queries, keys []string, win viz.Window, title string, names map[int]string) (*vizSink, error) {
	s := &vizSink{format: format, layer: f.layer, head: f.head}
	if f.grid {
		s.head = -1
	}
	if format == viz.HTML {
		p, err := viz.NewPage(queries, keys, viz.PageOptions{Title: title, TopK: f.topK, Window: win, LayerNames: names})
		if err != nil {
			return nil, err
		}
		s.page = p
		return s, nil
	}
	if s.layer == -1 {
		s.layer = L - 1
	}
	if s.layer < 0 || s.layer >= L {
		return nil, fmt.Errorf("--layer %d: the model has %d layers (0 to %d, or -1 for the last)", f.layer, L, L-1)
	}
	if onlyLayer >= 0 && s.layer != onlyLayer {
		return nil, fmt.Errorf("--layer %d: only layer %d (the last decoder layer's cross-attention) is available from a train checkpoint", f.layer, onlyLayer)
	}
	if s.head < -1 || s.head >= H {
		return nil, fmt.Errorf("--head %d: the model has %d heads (0 to %d, or -1 for all)", f.head, H, H-1)
	}
	return s, nil
}

func runViz(cmd *cobra.Command, f vizFlags) error {
	hasPrompt := cmd.Flags().Changed("prompt")
	f.maxLabelsSet = cmd.Flags().Changed("max-labels")
	if hasPrompt == (f.ids != "") {
		return errors.New("give exactly one of --prompt and --ids")
	}
	format, err := viz.FormatOf(f.out)
	if err != nil {
		return fmt.Errorf("--out %s: unknown extension %q (want .html, .png or .svg)", f.out, filepath.Ext(f.out))
	}
	if f.topK < 1 {
		return fmt.Errorf("--top-k %d: want >= 1", f.topK)
	}
	if f.maxLabels < 1 {
		return fmt.Errorf("--max-labels %d: want >= 1", f.maxLabels)
	}
	var win viz.Window
	if win.Row0, win.Row1, err = parseSpan("rows", f.rows); err != nil {
		return err
	}
	if win.Col0, win.Col1, err = parseSpan("cols", f.cols); err != nil {
		return err
	}
	if abs, _ := filepath.Abs(f.out); abs != "" {
		if mabs, _ := filepath.Abs(f.model); mabs == abs {
			return fmt.Errorf("--out %s would overwrite the model", f.out)
		}
	}
	if err := checkWritable(f.out); err != nil {
		return err
	}
	if rc, _, err := train.ReadRunConfig(f.model); err == nil && rc.Arch != train.ArchGPT {
		return vizTrainCheckpoint(cmd, f, format, win)
	}
	m, err := models.LoadDecoder(f.model)
	if err != nil {
		return fmt.Errorf("%w (viz needs a decoder-only checkpoint or a folder written by attn train)", err)
	}
	defer m.Close()
	return vizDecoder(cmd, f, m, format, win)
}

// vizDecoder draws a decoder's self-attention, one head at a time from
// Forward's callback.
func vizDecoder(cmd *cobra.Command, f vizFlags, m *models.Decoder, format viz.Format, win viz.Window) error {
	var tok tokenizer.Tokenizer
	var ids []int
	var err error
	if f.ids != "" {
		if ids, err = parseIDs("ids", f.ids); err != nil {
			return err
		}
		if t, terr := tokenizerFor(f.model, f.tok, m.Config.Vocab); terr == nil {
			tok = t
		} else if f.tok != "" {
			return terr
		}
	} else {
		if tok, err = tokenizerFor(f.model, f.tok, m.Config.Vocab); err != nil {
			return err
		}
		if ids, err = m.EncodePrompt(tok, f.prompt); err != nil {
			return err
		}
	}
	if len(ids) > m.Config.Context {
		return fmt.Errorf("the input is %d tokens, longer than the model's context of %d", len(ids), m.Config.Context)
	}
	labels := make([]string, len(ids))
	for i, id := range ids {
		labels[i] = strconv.Itoa(id)
		if tok != nil && id >= 0 && id < tok.VocabSize() {
			if s, err := tok.Decode([]int{id}); err == nil {
				labels[i] = s
			}
		}
	}
	L, H := m.Config.Layers, m.Config.Heads
	title := f.title
	if title == "" {
		title = fmt.Sprintf("%s (%s), %d tokens", filepath.Base(f.model), m.Arch(), len(ids))
		if format != viz.HTML {
			layer := f.layer
			if layer == -1 {
				layer = L - 1
			}
			if f.head < 0 || f.grid {
				title += fmt.Sprintf(": layer %d", layer)
			} else {
				title += fmt.Sprintf(": layer %d, head %d", layer, f.head)
			}
		}
	}
	sink, err := newSink(f, format, L, H, -1, labels, labels, win, title, nil)
	if err != nil {
		return err
	}
	st, err := m.NewState(len(ids))
	if err != nil {
		return err
	}
	if _, err := m.Forward(st, ids, models.ForwardOptions{OnAttention: sink.add}); err != nil {
		return err
	}
	if err := sink.write(f.out, title, labels, labels, f, win); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s attention for %d tokens\n", f.out, m.Arch(), len(ids))
	return nil
}

// vizTrainCheckpoint draws the last decoder layer's cross-attention of a
// model saved by attn train, for the greedy output on one input.
func vizTrainCheckpoint(cmd *cobra.Command, f vizFlags, format viz.Format, win viz.Window) error {
	loaded, rc, _, err := train.LoadModel(f.model)
	if err != nil {
		return err
	}
	model, ok := loaded.(train.Seq2Seq)
	if !ok {
		return fmt.Errorf("%s is a %s checkpoint; pictures of trained models show the encoder-decoder's cross-attention", f.model, rc.Arch)
	}
	task, err := train.NewTask(rc.Task)
	if err != nil {
		return err
	}
	var src []int
	if f.ids != "" {
		src, err = parseIDs("ids", f.ids)
	} else {
		src, err = train.ParseInput(task, f.prompt)
	}
	if err != nil {
		return err
	}
	outs, cross, err := model.GreedyWithCross([][]int{src}, train.BOS, train.EOS, task.MaxTgt()+1)
	if err != nil {
		return err
	}
	if len(outs) != 1 || len(cross) != 1 || cross[0].Rank() != 3 {
		return fmt.Errorf("internal error: cross-attention for one input came back as %d outputs, %d tensors", len(outs), len(cross))
	}
	w := cross[0] // [H, T, S]
	H, T, S := w.Dim(0), w.Dim(1), w.Dim(2)
	symbol := func(id int) string {
		if s := task.Format([]int{id}); s != "" {
			return s
		}
		switch id {
		case train.EOS:
			return "EOS"
		case train.BOS:
			return "BOS"
		case train.PAD:
			return "PAD"
		}
		return fmt.Sprintf("<%d>", id)
	}
	queries := make([]string, T)
	for q := range T {
		queries[q] = "EOS"
		if q < len(outs[0]) {
			queries[q] = symbol(outs[0][q])
		}
	}
	if S != len(src) {
		return fmt.Errorf("internal error: cross-attention has %d key positions for an input of %d", S, len(src))
	}
	keys := make([]string, S)
	for k, id := range src {
		keys[k] = symbol(id)
	}
	layer := rc.Model.DecLayers - 1
	name := fmt.Sprintf("decoder layer %d cross-attention", layer)
	title := f.title
	if title == "" {
		title = fmt.Sprintf("%s %s → %s: %s", rc.Task, task.Format(src), task.Format(outs[0]), name)
		if format != viz.HTML && !f.grid && f.head >= 0 {
			title += fmt.Sprintf(", head %d", f.head)
		}
	}
	sink, err := newSink(f, format, layer+1, H, layer, queries, keys, win, title, map[int]string{layer: name})
	if err != nil {
		return err
	}
	heads, err := viz.Heads(w)
	if err != nil {
		return err
	}
	for h, hw := range heads {
		if err := sink.add(layer, h, hw); err != nil {
			return err
		}
	}
	if err := sink.write(f.out, title, queries, keys, f, win); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s cross-attention, %d outputs × %d inputs, %d heads\n", f.out, rc.Task, T, S, H)
	return nil
}
