package main

// attn bench train: one training step of the demo model or a GPT-2 layer.

import (
	"fmt"
	"io"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/nn"
	"github.com/attn-go/attn/train"
	"github.com/spf13/cobra"
)

// The --model values of attn bench train.
const (
	trainDemo      = "demo"
	trainGPT2Layer = "gpt2-layer"
)

type trainBenchFlags struct {
	model string
	batch int // 0: the model's default (64 for demo, 1 for gpt2-layer)
	seq   int // gpt2-layer: tokens per sequence
	// Hidden, for tests: shrink the gpt2-layer model (0 keeps GPT-2's).
	dim, heads, vocab int
}

func newBenchTrainCmd(o *benchOpts) *cobra.Command {
	var f trainBenchFlags
	cmd := &cobra.Command{
		Use:   "train --model demo|gpt2-layer [--batch B] [--seq T]",
		Short: "Time one training step: forward, backward (and the optimizer for demo)",
		Long: `train times one full training step of a model, on a fixed batch.

--model demo is attn demo's and attn train's model on its task: the
encoder-decoder nn.Transformer of preset "small" (2 encoder and 2 decoder
layers, d_model 64, 4 heads, d_ff 256, post-LN, tied embedding, sinusoidal
positions) on a batch of --batch (default 64) "reverse" examples from
train.MakeBatch (8-16 symbols, padded: source length S, target length T).
One step is what attn train does per batch: ZeroGrads; Loss with backward
and label smoothing 0.1; ClipGradNorm(1); AdamW (β 0.9/0.98, ε 1e-9, weight
decay 0.01, lr 1e-3) Update. The weights change from run to run, as in
training. tokens_per_step = B·(S+T), every padded position the encoder and
decoder process; label_tokens counts the labels that enter the loss.

--model gpt2-layer is one GPT-2-small-shaped decoder block: nn.GPT with
vocabulary 256, context 1024, 1 layer, 12 heads, d_model 768 (pre-LN,
tanh-GELU MLP of 3072, learned positions, final LayerNorm, tied head) on
--batch 1 sequence of --seq 1024 random tokens with random labels. The
vocabulary is tiny so that the embedding and head (2·T·768·256 FLOPs each
way) are a few percent of the block's: the figure is the block's. One step
is ZeroGrads and Loss with backward (no optimizer). tokens_per_step = B·T.
FLOPs: the matrix products (24·N·D² per layer and 2·N·D·V for the head,
N = B·T) × 3 (forward, and a backward of twice that), plus causal attention
(4·D per allowed (query, key) pair per layer) × 3.5 (backward = 2.5
forwards, as attn bench attention --backward counts it).

tokens_per_s = tokens_per_step / median step time.`,
		Example: `  attn bench train --model demo --threads 2 --json
  attn bench train --model gpt2-layer --threads 2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchTrain(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", trainDemo, "demo or gpt2-layer")
	fs.IntVar(&f.batch, "batch", 0, "sequences per step (default 64 for demo, 1 for gpt2-layer)")
	fs.IntVar(&f.seq, "seq", 1024, "gpt2-layer: tokens per sequence T (at most 1024)")
	for _, h := range []struct {
		p    *int
		name string
	}{{&f.dim, "dim"}, {&f.heads, "heads"}, {&f.vocab, "vocab"}} {
		fs.IntVar(h.p, h.name, 0, "shrink the gpt2-layer model (tests)")
		_ = fs.MarkHidden(h.name)
	}
	return cmd
}

// trainStep is one model's training step and what the JSON says about it.
type trainStep struct {
	step   func() error
	shape  benchrun.Object // the model and batch
	tokens int             // tokens_per_step
	flops  float64
	loss   func() float64 // mean loss of the last step
	label  string
}

func runBenchTrain(w io.Writer, o *benchOpts, f trainBenchFlags) error {
	if f.batch < 0 {
		return fmt.Errorf("--batch is %d, want >= 1", f.batch)
	}
	if err := positiveFlags(intFlag{"seq", f.seq}); err != nil {
		return err
	}
	if f.model != trainDemo && f.model != trainGPT2Layer {
		return fmt.Errorf("--model is %q, want %s or %s", f.model, trainDemo, trainGPT2Layer)
	}
	if f.model != trainGPT2Layer && (f.dim != 0 || f.heads != 0 || f.vocab != 0) {
		return fmt.Errorf("--dim, --heads and --vocab reshape only --model %s", trainGPT2Layer)
	}
	if err := o.validate(); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	var ts *trainStep
	if f.model == trainDemo {
		ts, err = demoTrainStep(f, o.seed)
	} else {
		ts, err = gptTrainStep(f, o.seed)
	}
	if err != nil {
		return err
	}
	t, err := benchrun.Measure(o.timing, ts.step)
	if err != nil {
		return err
	}
	med := t.Median()
	rate := benchrun.PerSecond(float64(ts.tokens), med)
	var count, gflops any // null for a step without a FLOP count
	if ts.flops > 0 {
		count = ts.flops
		if med > 0 {
			gflops = benchrun.Round3(ts.flops / med.Seconds() / 1e9)
		}
	}
	env, rss := o.env(workers), benchrun.PeakRSS()
	obj := benchrun.Fields("impl", "attn", "op", "train", "model", f.model)
	obj = append(obj, ts.shape...)
	obj = append(obj, benchrun.Fields("tokens_per_step", ts.tokens)...)
	obj = append(obj, env.ThreadFields()...)
	obj = append(obj, t.Fields("")...)
	obj = append(obj, benchrun.Fields("tokens_per_s", rate, "flops", count, "gflops", gflops, "loss", benchrun.Round3(ts.loss()))...)
	obj = append(obj, env.TailFields(rss)...)
	gf := ""
	if g, ok := gflops.(float64); ok {
		gf = fmt.Sprintf(", %.2f GFLOP/s", g)
	}
	summary := fmt.Sprintf("train %s (%s): step %s, %.0f tokens/s (%d tokens per step)%s, loss %.3f, %s",
		f.model, ts.label, t.Summary(), rate, ts.tokens, gf, ts.loss(), env.Summary(rss))
	return o.emit(w, obj, summary)
}

// demoTrainStep is attn train's step on the demo model and a reverse batch.
func demoTrainStep(f trainBenchFlags, seed uint64) (*trainStep, error) {
	B := f.batch
	if B == 0 {
		B = 64
	}
	task, err := train.NewTask("reverse")
	if err != nil {
		return nil, err
	}
	cfg, err := nn.TransformerPreset("small", task.Vocab())
	if err != nil {
		return nil, err
	}
	m, err := nn.NewTransformer(cfg, seedRand(seed))
	if err != nil {
		return nil, err
	}
	b := train.MakeBatch(task, seed, 0, B)
	labels := 0
	for _, l := range b.TgtOut {
		if l != train.Ignore {
			labels++
		}
	}
	params := m.Params()
	var nparams int
	for _, p := range params {
		nparams += len(p.W)
	}
	adam := &train.Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-9, WeightDecay: 0.01, Decoupled: true}
	var last nn.LossStats
	step := func() error {
		st, _, err := train.Step(train.Seq2Seq{Transformer: m}, adam, b, 1e-3, 1, nn.TrainOptions{Smoothing: 0.1})
		last = st
		return err
	}
	shape := benchrun.Fields("task", task.Name(), "vocab", cfg.Vocab, "d_model", cfg.DModel, "heads", cfg.Heads, "d_ff", cfg.DFF, "enc_layers", cfg.EncLayers, "dec_layers", cfg.DecLayers, "norm_first", cfg.NormFirst, "params", nparams, "batch", B, "src_len", b.S, "tgt_len", b.T, "label_tokens", labels, "optimizer", "AdamW(0.9, 0.98, eps 1e-9, wd 0.01), clip 1, label smoothing 0.1")
	return &trainStep{
		step: step, shape: shape, tokens: B * (b.S + b.T),
		loss:  func() float64 { return last.Sum / float64(max(last.Count, 1)) },
		label: fmt.Sprintf("B=%d S=%d T=%d, %d params", B, b.S, b.T, nparams),
	}, nil
}

// gptTrainStep is the forward and backward of one GPT-2-small-shaped block.
func gptTrainStep(f trainBenchFlags, seed uint64) (*trainStep, error) {
	B := f.batch
	if B == 0 {
		B = 1
	}
	cfg := nn.GPTConfig{Vocab: 256, Context: 1024, Layers: 1, Heads: 12, DModel: 768, Eps: 1e-5}
	if f.dim != 0 || f.heads != 0 {
		if f.dim < 1 || f.heads < 1 || f.dim%f.heads != 0 {
			return nil, fmt.Errorf("--dim %d and --heads %d: want both >= 1, heads dividing dim", f.dim, f.heads)
		}
		cfg.DModel, cfg.Heads = f.dim, f.heads
	}
	if f.vocab != 0 {
		cfg.Vocab = f.vocab
	}
	T := f.seq
	if T > cfg.Context {
		return nil, fmt.Errorf("--seq %d exceeds the model's context length %d", T, cfg.Context)
	}
	N, D, V := B*T, cfg.DModel, cfg.Vocab
	// Activations: about 20 [N,D] tensors and 2 [N,4D] per layer, logits [N,V] twice.
	if err := checkBytes("train", 30*N*D, 2*N*V, 30*D*D); err != nil {
		return nil, err
	}
	rng := seedRand(seed)
	m, err := nn.NewGPT(cfg, rng)
	if err != nil {
		return nil, err
	}
	bt := &nn.LMBatch{B: B, T: T, IDs: make([]int, N), Labels: make([]int, N), Ignore: -1}
	for i := range bt.IDs {
		bt.IDs[i], bt.Labels[i] = rng.IntN(V), rng.IntN(V)
	}
	params := m.Params()
	var nparams int
	for _, p := range params {
		nparams += len(p.W)
	}
	var last nn.LossStats
	step := func() error {
		train.ZeroGrads(params)
		st, err := m.Loss(bt, nn.TrainOptions{Backward: true})
		last = st
		return err
	}
	shape := benchrun.Fields("vocab", V, "context", cfg.Context, "layers", cfg.Layers, "heads", cfg.Heads, "d_model", D, "params", nparams, "batch", B, "seq", T, "optimizer", nil)
	return &trainStep{
		step: step, shape: shape, tokens: N, flops: flops.GPTTrainStep(B, T, D, V, cfg.Layers),
		loss:  func() float64 { return last.Sum / float64(max(last.Count, 1)) },
		label: fmt.Sprintf("B=%d T=%d D=%d H=%d L=%d V=%d, %d params", B, T, D, cfg.Heads, cfg.Layers, V, nparams),
	}, nil
}
