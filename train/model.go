package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/attn-go/attn/nn"
)

// Arch names the model a run trains.
type Arch string

// Architectures a run can train.
const (
	ArchTransformer Arch = "transformer" // the paper's encoder-decoder (nn.Transformer)
	ArchGPT         Arch = "gpt"         // decoder-only (nn.GPT) on "source BOS target EOS"
	ArchEncoder     Arch = "encoder"     // encoder-only (nn.Encoder): one output per source token
)

// Model is what the training loop drives: the encoder-decoder Transformer
// (Seq2Seq) or a decoder-only GPT (DecoderOnly).
type Model interface {
	Params() []*nn.Param
	// Loss runs the batch teacher-forced and, with opt.Backward, adds the
	// gradients of the mean loss over the target tokens and EOS.
	Loss(b *Batch, opt nn.TrainOptions) (nn.LossStats, error)
	// Greedy decodes each source greedily, up to maxLen tokens before EOS.
	Greedy(srcs [][]int, maxLen int) ([][]int, error)
}

// Seq2Seq trains nn.Transformer: the source goes to the encoder, the
// target (after BOS) to the decoder.
type Seq2Seq struct{ *nn.Transformer }

// Loss implements Model.
func (m Seq2Seq) Loss(b *Batch, opt nn.TrainOptions) (nn.LossStats, error) {
	return m.Transformer.Loss(b.seq2seq(), opt)
}

// Greedy implements Model.
func (m Seq2Seq) Greedy(srcs [][]int, maxLen int) ([][]int, error) {
	return m.Transformer.Greedy(srcs, BOS, EOS, maxLen)
}

// DecoderOnly trains nn.GPT on one sequence per example, "source BOS
// target EOS", predicting every next token but counting only those after
// BOS (the target and EOS) in the loss.
type DecoderOnly struct{ *nn.GPT }

// Loss implements Model.
func (m DecoderOnly) Loss(b *Batch, opt nn.TrainOptions) (nn.LossStats, error) {
	T := 0
	for i := range b.B {
		T = max(T, len(b.Sources[i])+len(b.Targets[i])+1) // inputs: src BOS tgt; labels end with EOS
	}
	lm := &nn.LMBatch{B: b.B, T: T, IDs: make([]int, b.B*T), Labels: make([]int, b.B*T), Ignore: Ignore}
	for i := range b.B {
		src, tgt := b.Sources[i], b.Targets[i]
		seq := append(append(append(append([]int{}, src...), BOS), tgt...), EOS)
		ids, labels := lm.IDs[i*T:(i+1)*T], lm.Labels[i*T:(i+1)*T]
		for j := range labels {
			labels[j] = Ignore
		}
		copy(ids, seq[:len(seq)-1])
		for j := len(src); j < len(seq)-1; j++ {
			labels[j] = seq[j+1]
		}
	}
	return m.GPT.Loss(lm, opt)
}

// Greedy implements Model.
func (m DecoderOnly) Greedy(srcs [][]int, maxLen int) ([][]int, error) {
	prefixes := make([][]int, len(srcs))
	for i, s := range srcs {
		prefixes[i] = append(append([]int{}, s...), BOS)
	}
	return m.GPT.Greedy(prefixes, EOS, maxLen)
}

// EncoderOnly trains nn.Encoder to label each source position with the
// target token at the same position, for tasks whose target is as long as
// the source (copy, reverse, sort).
type EncoderOnly struct{ *nn.Encoder }

// Loss implements Model.
func (m EncoderOnly) Loss(b *Batch, opt nn.TrainOptions) (nn.LossStats, error) {
	tb := &nn.TaggingBatch{B: b.B, S: b.S, IDs: b.Src, Lens: b.SrcLen, Labels: make([]int, b.B*b.S), Ignore: Ignore}
	for i := range b.B {
		if len(b.Targets[i]) != len(b.Sources[i]) {
			return nn.LossStats{}, fmt.Errorf("train: an encoder-only model needs targets as long as their sources (example %d: %d and %d)", i, len(b.Targets[i]), len(b.Sources[i]))
		}
		for j := range b.S {
			tb.Labels[i*b.S+j] = Ignore
			if j < len(b.Targets[i]) {
				tb.Labels[i*b.S+j] = b.Targets[i][j]
			}
		}
	}
	return m.Encoder.Loss(tb, opt)
}

// Greedy implements Model: the argmax at every source position.
func (m EncoderOnly) Greedy(srcs [][]int, _ int) ([][]int, error) {
	return m.Encoder.Predict(srcs)
}

// newModel builds the run's model, initialised from its seed.
func newModel(rc RunConfig) (Model, error) {
	rng := rand.New(rand.NewPCG(rc.Seed, 0))
	switch rc.arch() {
	case ArchTransformer:
		t, err := nn.NewTransformer(rc.Model, rng)
		if err != nil {
			return nil, err
		}
		return Seq2Seq{t}, nil
	case ArchGPT:
		g, err := nn.NewGPT(rc.GPT, rng)
		if err != nil {
			return nil, err
		}
		return DecoderOnly{g}, nil
	case ArchEncoder:
		e, err := nn.NewEncoder(rc.Encoder, rng)
		if err != nil {
			return nil, err
		}
		return EncoderOnly{e}, nil
	}
	return nil, fmt.Errorf("train: unknown architecture %q (%s, %s, %s)", rc.Arch, ArchTransformer, ArchGPT, ArchEncoder)
}
