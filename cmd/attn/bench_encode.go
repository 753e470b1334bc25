package main

import (
	"fmt"
	"io"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/models"
	"github.com/spf13/cobra"
)

// bertBaseName is the --model value for the random bert-base-shaped encoder.
const bertBaseName = "bert-base"

type encodeFlags struct {
	model      string
	batch, seq int
	// Hidden, for tests: shrink the random model (0 keeps its size).
	dim, layers, heads, vocab int
}

func newBenchEncodeCmd(o *benchOpts) *cobra.Command {
	var f encodeFlags
	cmd := &cobra.Command{
		Use:   "encode --model bert-base|PATH --batch B --seq T",
		Short: "Time a BERT encoder's forward pass over B sequences of T tokens",
		Long: `encode times models.Bert.Forward on B sequences of T tokens (ids drawn from a
seeded source, every token real, token type 0), the work of attn embed or of
any BERT feature extractor: embeddings, L encoder layers and the pooler.

--model bert-base builds a bert-base-uncased-shaped encoder (D 768, 12
layers, 12 heads, feed-forward 3072, vocabulary 30522, 512 positions, erf
GELU) with random weights from --seed: the same cost as the real checkpoint.
Any other value is a BERT checkpoint folder for models.Load.

GFLOP/s counts the projections, 2·B·T·(4·D² + 2·D·F) per layer, the
attention, 4·B·T²·D per layer, and the pooler; tokens_per_s = B·T / median.`,
		Example: `  attn bench encode --model bert-base --batch 8 --seq 128 --threads 2 --json
  attn bench encode --model path/to/bert-folder --seq 512`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchEncode(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", bertBaseName, "bert-base (random weights from --seed) or a BERT checkpoint folder")
	fs.IntVar(&f.batch, "batch", 1, "sequences B")
	fs.IntVar(&f.seq, "seq", 0, "tokens per sequence T (required)")
	shrinkFlags(fs, intVar{&f.dim, "dim"}, intVar{&f.layers, "layers"}, intVar{&f.heads, "heads"}, intVar{&f.vocab, "vocab"})
	_ = cmd.MarkFlagRequired("seq")
	return cmd
}

// encodeModel builds or loads the encoder --model names. The caller closes it.
func encodeModel(f encodeFlags, seed uint64) (*models.Bert, error) {
	if f.model != bertBaseName {
		if f.dim != 0 || f.layers != 0 || f.heads != 0 || f.vocab != 0 {
			return nil, fmt.Errorf("--dim, --layers, --heads and --vocab reshape only --model %s", bertBaseName)
		}
		return models.LoadBert(f.model)
	}
	c := models.BertBase()
	if f.dim != 0 || f.heads != 0 {
		if f.dim < 1 || f.heads < 1 || f.dim%f.heads != 0 {
			return nil, fmt.Errorf("--dim %d and --heads %d: want both >= 1, heads dividing dim", f.dim, f.heads)
		}
		c.DModel, c.Heads, c.DFF = f.dim, f.heads, 4*f.dim
	}
	if f.layers != 0 {
		c.Layers = f.layers
	}
	if f.vocab != 0 {
		c.Vocab = f.vocab
	}
	return models.NewRandomBert(c, seed)
}

func runBenchEncode(w io.Writer, o *benchOpts, f encodeFlags) error {
	if err := positiveFlags(intFlag{"batch", f.batch}, intFlag{"seq", f.seq}); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if mp := models.BertBase().Context; f.model == bertBaseName && f.seq > mp {
		return fmt.Errorf("--seq %d exceeds the model's %d positions", f.seq, mp) // before drawing its weights
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	m, err := encodeModel(f, o.seed)
	if err != nil {
		return err
	}
	defer m.Close()
	c := m.Config
	B, T := f.batch, f.seq
	if T > c.Context {
		return fmt.Errorf("--seq %d exceeds the model's %d positions", T, c.Context)
	}
	if err := checkBytes("encode activations", B*T*(2*c.DFF+6*c.DModel)); err != nil {
		return err
	}
	rng := seedRand(o.seed)
	in := models.BertInput{B: B, T: T, IDs: make([]int, B*T)}
	for i := range in.IDs {
		in.IDs[i] = rng.IntN(c.Vocab)
	}
	t, err := benchrun.Measure(o.timing, func() error {
		_, err := m.Forward(in, false)
		return err
	})
	if err != nil {
		return err
	}
	shape := benchrun.Fields("model", f.model, "batch", B, "seq", T, "tokens", B*T, "vocab", c.Vocab, "dim", c.DModel,
		"layers", c.Layers, "heads", c.Heads, "hidden", c.DFF)
	if med := t.Median(); med > 0 {
		shape = append(shape, benchrun.Fields("tokens_per_s", benchrun.PerSecond(float64(B*T), med))...)
	}
	label := fmt.Sprintf("%s B=%d T=%d (D %d, %d layers)", f.model, B, T, c.DModel, c.Layers)
	return o.report(w, workers, benchrun.Report{Op: "encode", Shape: shape, Label: label, FLOPs: flops.BERT(B, T, c.DModel, c.DFF, c.Layers), Timing: t})
}
