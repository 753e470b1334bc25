package main

// attn bench decode: a decoder's prompt pass and one-token step at context N.

import (
	"fmt"
	"io"
	"math"

	"github.com/attn-go/attn/internal/benchrun"
	"github.com/attn-go/attn/models"
	"github.com/spf13/cobra"
)

// randomModels are the --model values that build a model with random
// weights (from --seed) at a real checkpoint's shape: the same cost, no
// download.
var randomModels = map[string]func() models.DecoderConfig{
	"gpt2-small":  models.GPT2Small,
	"smollm-135m": models.SmolLM135M,
}

// gpt2SmallName is the default --model.
const gpt2SmallName = "gpt2-small"

type decodeFlags struct {
	model        string
	context      int
	bandwidthGBs float64
	// Hidden, for tests: shrink a random model (0 keeps its size).
	dim, layers, heads, kvHeads, vocab int
}

func newBenchDecodeCmd(o *benchOpts) *cobra.Command {
	var f decodeFlags
	cmd := &cobra.Command{
		Use:   "decode --model gpt2-small|smollm-135m|PATH --context N [--bandwidth-gbs G]",
		Short: "Time a decoder's prompt (prefill) and one-token decode step at context N",
		Long: `decode times a decoder model two ways at context N (--context):

  prompt  one Forward of N tokens on an empty state (Reset, then Forward):
          prompt_tokens_per_s = N / median time.
  decode  one Forward of a single token at position N-1, so that it attends
          to N positions (N-1 cached plus itself): the step that produces
          token N+1 of a sequence. The cache is filled with the first N-1
          tokens once; every run rewinds it to N-1 positions (State.Truncate,
          which only moves the length) and appends the last token again, so
          each run does exactly the same work. decode_median_ms is the time
          per token; decode_tokens_per_s = 1000 / decode_median_ms.

Both use the usual warm-up and repeat rules (see attn bench --help) and the
same N token ids, drawn from a seeded source. Two --model names build a
model with random weights from --seed, at the shape (and so the cost) of a
real checkpoint:

  gpt2-small   GPT-2 small: D 768, 12 layers, 12 heads, vocabulary 50257,
               context 1024, LayerNorm, GELU, learned positions, tied head;
               weights laid out as the checkpoint stores them (Conv1D).
  smollm-135m  SmolLM-135M, the Llama architecture: D 576, 30 layers, 9
               query heads sharing 3 key/value heads (Dh 64), SwiGLU 1536,
               vocabulary 49152, context 2048, RMSNorm, rotary positions,
               tied head.

Any other value is a checkpoint path for models.Load (a llama2.c .bin, or a
GPT-2/Llama Hugging Face folder).

Bandwidth floor: a decode step reads every weight once (weight_bytes, from
Decoder.WeightBytes) and the whole KV cache (kv_cache_bytes, from DecoderConfig.KVBytes: 2 (K and V)
x 4 bytes x layers x N x kv_heads x head_dim). With --bandwidth-gbs G (the
machine's DRAM read bandwidth, from attn bench bandwidth), floor_tokens_per_s
= G·1e9 / (weight_bytes + kv_cache_bytes): the decode rate if memory
traffic were the only cost. It is a bound only for models much larger than
the caches.

The usual fields (reps, median_ms, min_ms, max_ms, ...) repeat the decode
step's, the headline number; prompt_* and decode_* hold each measurement.`,
		Example: `  attn bench decode --model gpt2-small --context 1024 --threads 2 --bandwidth-gbs 20 --json
  attn bench decode --model smollm-135m --context 512
  attn bench decode --model path/to/stories260K.bin --context 512`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchDecode(cmd.OutOrStdout(), o, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", gpt2SmallName, "gpt2-small or smollm-135m (random weights from --seed), or a checkpoint path")
	fs.IntVar(&f.context, "context", 0, "context N: prompt length, and the positions the decode step attends to (required)")
	fs.Float64Var(&f.bandwidthGBs, "bandwidth-gbs", 0, "DRAM read bandwidth in GB/s for floor_tokens_per_s (0: no floor)")
	shrinkFlags(fs, intVar{&f.dim, "dim"}, intVar{&f.layers, "layers"}, intVar{&f.heads, "heads"}, intVar{&f.kvHeads, "kv-heads"}, intVar{&f.vocab, "vocab"})
	_ = cmd.MarkFlagRequired("context")
	return cmd
}

// decodeModel builds or loads the model --model names. The caller closes it.
func decodeModel(f decodeFlags, seed uint64) (*models.Decoder, error) {
	preset, random := randomModels[f.model]
	if !random {
		if f.dim != 0 || f.layers != 0 || f.heads != 0 || f.kvHeads != 0 || f.vocab != 0 {
			return nil, fmt.Errorf("--dim, --layers, --heads, --kv-heads and --vocab reshape only the random models (gpt2-small, smollm-135m)")
		}
		return models.LoadDecoder(f.model)
	}
	c := preset()
	if f.dim != 0 || f.heads != 0 || f.kvHeads != 0 {
		kv := f.kvHeads
		if kv == 0 {
			kv = f.heads
		}
		if f.dim < 1 || f.heads < 1 || f.dim%f.heads != 0 || kv < 1 || f.heads%kv != 0 {
			return nil, fmt.Errorf("--dim %d, --heads %d and --kv-heads %d: want all >= 1, heads dividing dim, kv-heads dividing heads", f.dim, f.heads, kv)
		}
		c.DModel, c.Heads, c.KVHeads, c.HeadDim, c.DFF = f.dim, f.heads, kv, f.dim/f.heads, 4*f.dim
		c.RoPE.Dim = c.HeadDim
	}
	if f.layers != 0 {
		c.Layers = f.layers
	}
	if f.vocab != 0 {
		c.Vocab, c.BOS, c.EOS = f.vocab, f.vocab-1, f.vocab-1
	}
	return models.NewRandomDecoder(c, seed)
}

func runBenchDecode(w io.Writer, o *benchOpts, f decodeFlags) error {
	if err := positiveFlags(intFlag{"context", f.context}); err != nil {
		return err
	}
	if !(f.bandwidthGBs >= 0) || math.IsInf(f.bandwidthGBs, 0) {
		return fmt.Errorf("--bandwidth-gbs is %v, want a finite number >= 0", f.bandwidthGBs)
	}
	if err := o.validate(); err != nil {
		return err
	}
	workers, err := o.setup()
	if err != nil {
		return err
	}
	m, err := decodeModel(f, o.seed)
	if err != nil {
		return err
	}
	defer m.Close()
	c := m.Config
	N := f.context
	if N > c.Context {
		return fmt.Errorf("--context %d exceeds the model's context length %d", N, c.Context)
	}
	s, err := m.NewState(N)
	if err != nil {
		return err
	}
	rng := seedRand(o.seed)
	ids := make([]int, N)
	for i := range ids {
		ids[i] = rng.IntN(c.Vocab)
	}
	var fwd models.ForwardOptions
	prompt, err := benchrun.Measure(o.timing, func() error {
		s.Reset()
		_, err := m.Forward(s, ids, fwd)
		return err
	})
	if err != nil {
		return err
	}
	s.Reset()
	if N > 1 {
		if _, err := m.Forward(s, ids[:N-1], fwd); err != nil {
			return err
		}
	}
	dec, err := benchrun.Measure(o.timing, func() error {
		if err := s.Truncate(N - 1); err != nil {
			return err
		}
		_, err := m.Forward(s, ids[N-1:], fwd)
		return err
	})
	if err != nil {
		return err
	}

	promptRate, decRate := benchrun.PerSecond(float64(N), prompt.Median()), benchrun.PerSecond(1, dec.Median())
	weights := m.WeightBytes()
	kvBytes := c.KVBytes(N)
	env, rss := o.env(workers), benchrun.PeakRSS()
	obj := benchrun.Fields("impl", "attn", "op", "decode", "model", f.model, "arch", c.Arch,
		"vocab", c.Vocab, "dim", c.DModel, "layers", c.Layers, "heads", c.Heads, "kv_heads", c.KVHeads,
		"head_dim", c.HeadDim, "hidden", c.DFF, "context", N)
	obj = append(obj, env.ThreadFields()...)
	obj = append(obj, dec.Fields("")...)
	obj = append(obj, benchrun.Fields("prompt_tokens", N)...)
	obj = append(obj, prompt.Fields("prompt_")...)
	obj = append(obj, benchrun.Fields("prompt_tokens_per_s", promptRate)...)
	obj = append(obj, dec.Fields("decode_")...)
	obj = append(obj, benchrun.Fields("decode_tokens_per_s", decRate,
		"weight_bytes", weights, "kv_cache_bytes", kvBytes, "bytes_per_token", weights+kvBytes)...)
	floor := ""
	if f.bandwidthGBs > 0 {
		ft := f.bandwidthGBs * 1e9 / float64(weights+kvBytes)
		obj = append(obj, benchrun.Fields("bandwidth_gbs", f.bandwidthGBs, "floor_tokens_per_s", benchrun.Round3(ft),
			"decode_pct_of_floor", math.Round(1000*decRate/ft)/10)...)
		floor = fmt.Sprintf(", bandwidth floor %.1f tokens/s at %.1f GB/s (decode at %.0f%%)", ft, f.bandwidthGBs, 100*decRate/ft)
	}
	obj = append(obj, env.TailFields(rss)...)
	summary := fmt.Sprintf("decode %s (%s) at context %d: prompt %.3f ms median (%.1f tokens/s, %d reps), decode %.3f ms/token median (%.1f tokens/s, min %.3f, max %.3f, %d reps); reads %.1f MB weights + %.1f MB KV cache per token%s; %s",
		f.model, c.Arch, N, benchrun.Ms(prompt.Median()), promptRate, len(prompt.Times), benchrun.Ms(dec.Median()), decRate,
		benchrun.Ms(dec.Min()), benchrun.Ms(dec.Max()), len(dec.Times),
		float64(weights)/1e6, float64(kvBytes)/1e6, floor, env.Summary(rss))
	return o.emit(w, obj, summary)
}
