package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/tensor"
	"github.com/spf13/cobra"
)

const defaultSentence = "the cat sat on the mat because it was tired"

type explainFlags struct {
	sentence   string
	dim, heads int
	head       int
	seed       uint64
	causal     bool
}

func newExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Walk the six steps of multi-head self-attention on a sentence",
		Long: `explain runs multi-head self-attention on a short sentence and prints what each
of the paper's six steps produces: token vectors, per-head queries, keys and
values, scaled scores, softmax weights, the weighted sum of values, and the
concatenated heads after the output projection. Weights are random (seeded),
so the pattern shows the mechanism, not a trained model's knowledge.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(cmd.OutOrStdout(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.sentence, "sentence", defaultSentence, "space-separated words to attend over (at most 32)")
	fs.IntVar(&f.dim, "dim", 16, "model width D")
	fs.IntVar(&f.heads, "heads", 2, "number of heads H (must divide --dim)")
	fs.IntVar(&f.head, "show-head", 0, "which head's matrices to print")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for the random weights and embeddings")
	fs.BoolVar(&f.causal, "causal", false, "mask future words (decoder-style self-attention)")
	return cmd
}

func runExplain(w io.Writer, f explainFlags) error {
	words := strings.Fields(f.sentence)
	switch {
	case len(words) == 0:
		return fmt.Errorf("--sentence has no words")
	case len(words) > 32:
		return fmt.Errorf("--sentence has %d words; explain prints T×T tables, keep it to 32", len(words))
	case f.dim < 1 || f.dim > 1024:
		return fmt.Errorf("--dim is %d, want 1..1024", f.dim)
	case f.heads < 1 || f.dim%f.heads != 0:
		return fmt.Errorf("--heads %d must be >= 1 and divide --dim %d", f.heads, f.dim)
	case f.head < 0 || f.head >= f.heads:
		return fmt.Errorf("--show-head %d is outside [0, %d)", f.head, f.heads)
	}
	D, H, T := f.dim, f.heads, len(words)
	Dh := D / H
	rng := rand.New(rand.NewPCG(f.seed, 0x61747465))

	// Step 1: input representation.
	vocab := vocabulary(words)
	ids := make([]int, T)
	for i, word := range words {
		ids[i] = vocab[word]
	}
	emb, err := nn.NewEmbedding(len(vocab), D, rng)
	if err != nil {
		return err
	}
	// Draw the table N(0, 1/D), as transformer codebases do, so that after
	// the paper's ×sqrt(D) the token vectors have unit scale like the
	// positional encodings they are added to.
	for i := range emb.Weight.Data() {
		emb.Weight.Data()[i] /= float32(math.Sqrt(float64(D)))
	}
	emb.ScaleBySqrtDim = true
	x, err := emb.Forward(ids, 1, T)
	if err != nil {
		return err
	}
	pe, err := nn.SinusoidalEncoding(T, D, 0)
	if err != nil {
		return err
	}
	if err := nn.AddPositions(x, pe); err != nil {
		return err
	}
	fmt.Fprintf(w, "Multi-head self-attention, step by step: D=%d, H=%d heads of Dh=%d, T=%d tokens, seed %d\n\n", D, H, Dh, T, f.seed)
	fmt.Fprintf(w, "1. Input representation: token embedding × sqrt(D) + sinusoidal position -> x %v\n", x.Shape())
	fmt.Fprintf(w, "   tokens %v -> ids %v\n", words, ids)
	fmt.Fprintf(w, "   x[0, 0, :6] (%q) = %s\n\n", words[0], vec(x.Row(0, 0)[:min(6, D)]))

	// Step 2: projections. The module holds W_Q, W_K, W_V packed as
	// in_proj_weight [3D, D]; head h uses rows h·Dh..(h+1)·Dh of each.
	m, err := attention.New(attention.Config{DModel: D, Heads: H, Bias: true}, rng)
	if err != nil {
		return err
	}
	sd := m.StateDict()
	proj := make([]*tensor.Tensor, 3)
	for p := range proj {
		wp, _ := sd[attention.InProjWeight].Narrow(0, p*D, D)
		bp, _ := sd[attention.InProjBias].Narrow(0, p*D, D)
		l := nn.Linear{Weight: wp, Bias: bp}
		if proj[p], err = l.Forward(x); err != nil {
			return err
		}
	}
	heads := func(t *tensor.Tensor) *tensor.Tensor { // [1,T,D] -> [1,H,T,Dh] view
		r, _ := t.Reshape(1, T, H, Dh)
		v, _ := r.Permute(0, 2, 1, 3)
		return v
	}
	q, k, v := heads(proj[0]), heads(proj[1]), heads(proj[2])
	fmt.Fprintf(w, "2. Linear projections: Q = x·W_Qᵀ, K = x·W_Kᵀ, V = x·W_Vᵀ, split into heads -> %v each\n", q.Shape())
	fmt.Fprintf(w, "   head %d, q[%q] = %s\n\n", f.head, words[0], vec(q.Row(0, f.head, 0)))

	// Step 3: scaled scores for the shown head.
	var masks []attention.Mask
	if f.causal {
		masks = []attention.Mask{attention.Causal{}}
	}
	scale := 1 / math.Sqrt(float64(Dh))
	scores := make([]float32, T*T)
	for i := 0; i < T; i++ {
		for j := 0; j < T; j++ {
			var s float64
			for c, a := range q.Row(0, f.head, i) {
				s += float64(a) * float64(k.Row(0, f.head, j)[c])
			}
			scores[i*T+j] = float32(s * scale)
			if f.causal && j > i {
				scores[i*T+j] = float32(math.Inf(-1))
			}
		}
	}
	maskNote := ""
	if f.causal {
		maskNote = " + causal mask (-Inf above the diagonal)"
	}
	fmt.Fprintf(w, "3. Scores, head %d: q·kᵀ / sqrt(%d)%s  (row = query, column = key)\n", f.head, Dh, maskNote)
	table(w, words, scores, "%.2f")

	// Steps 4-5: softmax and weighted sum (attn's reference kernel).
	ctxBuf := tensor.Must(tensor.New(1, T, D))
	ctx := heads(ctxBuf)
	wts := tensor.Must(tensor.New(1, H, T, T))
	if err := attention.ScaledDotProduct(ctx, q, k, v, attention.Options{Masks: masks, Weights: wts}); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n4. Softmax over each row (max subtracted first): weights >= 0, each row sums to 1\n")
	hw, _ := wts.Select(1, f.head)
	hw, _ = hw.Select(0, 0)
	table(w, words, hw.Values(), "%.2f")
	fmt.Fprintln(w, "   most attended word per query:")
	for i, word := range words {
		row := hw.Row(i)
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		fmt.Fprintf(w, "     %-10s -> %-10s (%.0f%%)\n", word, words[best], 100*row[best])
	}
	fmt.Fprintf(w, "\n5. Weighted sum of values: context = weights·V -> %v per head\n", ctx.Shape())
	fmt.Fprintf(w, "   head %d, context[%q] = %s\n\n", f.head, words[0], vec(ctx.Row(0, f.head, 0)))

	// Step 6: heads are already concatenated in ctxBuf [1,T,D]; project.
	outProj := nn.Linear{Weight: sd[attention.OutProjWeight], Bias: sd[attention.OutProjBias]}
	y, err := outProj.Forward(ctxBuf)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "6. Concatenate the %d heads -> %v, project with W_O -> output %v\n", H, ctxBuf.Shape(), y.Shape())
	fmt.Fprintf(w, "   output[%q, :6] = %s\n", words[0], vec(y.Row(0, 0)[:min(6, D)]))

	// The module does all six steps in one call; it must agree exactly.
	whole, _, err := m.Forward(x, nil, nil, attention.ForwardOptions{Masks: masks})
	if err != nil {
		return err
	}
	var worst float64
	for i, a := range whole.Data() {
		worst = math.Max(worst, math.Abs(float64(a-y.Data()[i])))
	}
	fmt.Fprintf(w, "\nMultiHeadAttention.Forward in one call: max |difference| from the steps above = %g\n", worst)
	if worst != 0 {
		return fmt.Errorf("the step-by-step result differs from Forward by %g", worst)
	}
	return nil
}

// vocabulary gives each distinct word an id, in sorted order.
func vocabulary(words []string) map[string]int {
	uniq := map[string]bool{}
	for _, w := range words {
		uniq[w] = true
	}
	sorted := make([]string, 0, len(uniq))
	for w := range uniq {
		sorted = append(sorted, w)
	}
	sort.Strings(sorted)
	ids := make(map[string]int, len(sorted))
	for i, w := range sorted {
		ids[w] = i
	}
	return ids
}

func vec(v []float32) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%+.3f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// table prints a T×T matrix with the words as row and column labels.
func table(w io.Writer, words []string, m []float32, format string) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, word := range words {
		fmt.Fprintf(tw, "%s\t", word)
	}
	fmt.Fprintln(tw)
	T := len(words)
	for i, word := range words {
		fmt.Fprintf(tw, "%s\t", word)
		for j := 0; j < T; j++ {
			x := m[i*T+j]
			if math.IsInf(float64(x), -1) {
				fmt.Fprint(tw, "-inf\t")
				continue
			}
			fmt.Fprintf(tw, format+"\t", x)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
