package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/attn-go/attn/attention"
)

// maxConfigSize bounds config.json and the shard index: real ones are a few
// KB (an index lists every tensor: tens of KB).
const maxConfigSize = 16 << 20

// hfConfig holds the config.json fields of the supported architectures.
// Pointers tell "absent" from zero where the defaults matter.
type hfConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`

	// GPT-2
	NEmbd       int      `json:"n_embd"`
	NLayer      int      `json:"n_layer"`
	NHead       int      `json:"n_head"`
	NPositions  int      `json:"n_positions"`
	NInner      *int     `json:"n_inner"`
	LayerNormEp *float64 `json:"layer_norm_epsilon"`
	Activation  string   `json:"activation_function"`

	// BERT, Llama, Qwen2, Mistral
	HiddenSize       int      `json:"hidden_size"`
	NumHiddenLayers  int      `json:"num_hidden_layers"`
	NumHeads         int      `json:"num_attention_heads"`
	NumKVHeads       *int     `json:"num_key_value_heads"`
	HeadDim          *int     `json:"head_dim"`
	Intermediate     int      `json:"intermediate_size"`
	MaxPositions     int      `json:"max_position_embeddings"`
	HiddenAct        string   `json:"hidden_act"`
	RMSNormEps       *float64 `json:"rms_norm_eps"`
	LayerNormEps     *float64 `json:"layer_norm_eps"`
	RopeTheta        *float64 `json:"rope_theta"`
	RopeScaling      any      `json:"rope_scaling"`
	SlidingWindow    *int     `json:"sliding_window"`
	UseSlidingWindow *bool    `json:"use_sliding_window"`
	AttentionBias    *bool    `json:"attention_bias"`
	MLPBias          *bool    `json:"mlp_bias"`
	TieEmbeddings    *bool    `json:"tie_word_embeddings"`
	TypeVocabSize    int      `json:"type_vocab_size"`
	PadTokenID       *int     `json:"pad_token_id"`
	PositionType     string   `json:"position_embedding_type"`

	VocabSize int `json:"vocab_size"`
	BOS       any `json:"bos_token_id"`
	EOS       any `json:"eos_token_id"`
}

func readJSON(path string, v any) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxConfigSize {
		return fmt.Errorf("models: %s: not a regular file of at most %d bytes", path, maxConfigSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("models: %s: invalid JSON: %v", path, err)
	}
	if dec.More() {
		return fmt.Errorf("models: %s: trailing data after the JSON object", path)
	}
	return nil
}

// tokenIDs reads bos/eos fields, which are an int, a list of ints or null.
func tokenIDs(v any) []int {
	switch x := v.(type) {
	case float64:
		if x >= 0 && x == math.Trunc(x) && x < 1<<31 {
			return []int{int(x)}
		}
	case []any:
		var out []int
		for _, e := range x {
			out = append(out, tokenIDs(e)...)
		}
		return out
	}
	return nil
}

func first(ids []int) int {
	if len(ids) == 0 {
		return -1
	}
	return ids[0]
}

func orInt(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func orFloat(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}

func orBool(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

// weightFiles lists a Hugging Face folder's safetensors files: the shards
// named by model.safetensors.index.json, or model.safetensors.
func weightFiles(dir string) ([]string, error) {
	index := filepath.Join(dir, "model.safetensors.index.json")
	if _, err := os.Stat(index); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := readJSON(index, &idx); err != nil {
			return nil, err
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("models: %s: weight_map is empty", index)
		}
		var files []string
		for _, f := range idx.WeightMap {
			if f == "" || filepath.Base(f) != f || !strings.HasSuffix(f, ".safetensors") {
				return nil, fmt.Errorf("models: %s: shard name %q must be a .safetensors file in the same folder", index, f)
			}
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		for i, f := range files {
			files[i] = filepath.Join(dir, f)
		}
		return files, nil
	}
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err != nil {
		return nil, fmt.Errorf("models: %s: no model.safetensors or model.safetensors.index.json (PyTorch .bin weights are not read: convert them to safetensors)", dir)
	}
	return []string{single}, nil
}

// checkIndex verifies that every tensor an index names is in the shard it
// names, so a stale index is an error, not a silent mix.
func checkIndex(dir string, src *stSource) error {
	index := filepath.Join(dir, "model.safetensors.index.json")
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := readJSON(index, &idx); err != nil {
		return err
	}
	for name, file := range idx.WeightMap {
		i, ok := src.byName[name]
		if !ok {
			return fmt.Errorf("models: %s lists %q in %s, which does not hold it", index, name, file)
		}
		if filepath.Base(src.paths[i]) != file {
			return fmt.Errorf("models: %s lists %q in %s, but it is in %s", index, name, file, src.paths[i])
		}
	}
	if len(idx.WeightMap) != len(src.byName) {
		return fmt.Errorf("models: %s lists %d tensors, the shards hold %d", index, len(idx.WeightMap), len(src.byName))
	}
	return nil
}

// loadHF loads a Hugging Face model folder.
func loadHF(dir string) (Model, error) {
	cfgPath := filepath.Join(dir, "config.json")
	var hc hfConfig
	if err := readJSON(cfgPath, &hc); err != nil {
		return nil, err
	}
	switch Arch(hc.ModelType) {
	case ArchGPT2, ArchLlama, ArchQwen2, ArchMistral, ArchBert:
	case "":
		return nil, fmt.Errorf("models: %s: no model_type; cannot tell the architecture", cfgPath)
	default:
		return nil, fmt.Errorf("models: %s: unknown architecture model_type %q (supported: gpt2, llama, qwen2, mistral, bert)", cfgPath, hc.ModelType)
	}
	files, err := weightFiles(dir)
	if err != nil {
		return nil, err
	}
	src, err := openSafetensors(dir, files)
	if err != nil {
		return nil, err
	}
	if len(files) > 1 || filepath.Base(files[0]) != "model.safetensors" {
		if err := checkIndex(dir, src); err != nil {
			_ = src.close()
			return nil, err
		}
	}
	var m Model
	if Arch(hc.ModelType) == ArchBert {
		m, err = buildBert(cfgPath, &hc, src)
	} else {
		m, err = buildDecoder(cfgPath, &hc, src)
	}
	if err != nil {
		_ = src.close()
		return nil, err
	}
	return m, nil
}

// decoderConfig turns a config.json into a DecoderConfig.
func decoderConfig(path string, hc *hfConfig) (DecoderConfig, error) {
	c := DecoderConfig{Arch: Arch(hc.ModelType), Vocab: hc.VocabSize, BOS: first(tokenIDs(hc.BOS)), EOS: first(tokenIDs(hc.EOS))}
	if ids := tokenIDs(hc.EOS); len(ids) > 1 {
		c.ExtraStops = ids[1:]
	}
	switch c.Arch {
	case ArchGPT2:
		c.DModel, c.Layers, c.Heads, c.Context = hc.NEmbd, hc.NLayer, hc.NHead, hc.NPositions
		c.KVHeads = c.Heads
		if c.Heads > 0 {
			c.HeadDim = c.DModel / c.Heads
			if c.DModel%c.Heads != 0 {
				return c, fmt.Errorf("models: %s: n_head %d does not divide n_embd %d", path, c.Heads, c.DModel)
			}
		}
		c.DFF = orInt(hc.NInner, 4*c.DModel)
		c.Norm, c.Eps = LayerNormKind, float32(orFloat(hc.LayerNormEp, 1e-5))
		switch hc.Activation {
		case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "":
			c.MLP = MLPGELUTanh
		case "gelu":
			c.MLP = MLPGELUErf
		case "relu":
			c.MLP = MLPReLU
		default:
			return c, fmt.Errorf("models: %s: activation_function %q not supported (gelu_new, gelu, relu)", path, hc.Activation)
		}
		c.Learned, c.QKVBias, c.OutBias, c.MLPBias = true, true, true, true
		if c.BOS < 0 {
			c.BOS = 50256
		}
		if c.EOS < 0 {
			c.EOS = 50256
		}
	default: // llama, qwen2, mistral
		c.BOSRule = BOSFirst
		c.DModel, c.Layers, c.Heads, c.Context = hc.HiddenSize, hc.NumHiddenLayers, hc.NumHeads, hc.MaxPositions
		c.KVHeads = orInt(hc.NumKVHeads, c.Heads)
		if c.Heads > 0 {
			c.HeadDim = orInt(hc.HeadDim, c.DModel/c.Heads)
		}
		c.DFF = hc.Intermediate
		c.Norm, c.Eps = RMSNormKind, float32(orFloat(hc.RMSNormEps, 1e-6))
		if act := hc.HiddenAct; act != "silu" && act != "" {
			return c, fmt.Errorf("models: %s: hidden_act %q not supported for %s (silu)", path, act, hc.ModelType)
		}
		c.MLP = MLPSwiGLU
		if hc.RopeScaling != nil {
			if m, ok := hc.RopeScaling.(map[string]any); !ok || (m["rope_type"] != "default" && m["type"] != "default") {
				return c, fmt.Errorf("models: %s: rope_scaling %v is not supported (only plain RoPE)", path, hc.RopeScaling)
			}
		}
		c.RoPE = attention.RoPE{Dim: c.HeadDim, Theta: orFloat(hc.RopeTheta, 10000), Layout: attention.RoPEHalf}
		c.QKVBias = orBool(hc.AttentionBias, c.Arch == ArchQwen2)
		c.OutBias = orBool(hc.AttentionBias, false)
		c.MLPBias = orBool(hc.MLPBias, false)
		c.UntiedHead = !orBool(hc.TieEmbeddings, false)
		if w := orInt(hc.SlidingWindow, 0); w > 0 && orBool(hc.UseSlidingWindow, c.Arch == ArchMistral) {
			c.Window = w
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("models: %s: %s", path, strings.TrimPrefix(err.Error(), "models: "))
	}
	return c, nil
}

func buildDecoder(path string, hc *hfConfig, src *stSource) (*Decoder, error) {
	c, err := decoderConfig(path, hc)
	if err != nil {
		return nil, err
	}
	m := &Decoder{Config: c, src: src}
	ld := newLoader(src)
	D, F, qw, kw := c.DModel, c.DFF, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	if c.Arch == ArchGPT2 {
		m.embed = ld.take("transformer.wte.weight", c.Vocab, D)
		m.pos = ld.take("transformer.wpe.weight", c.Context, D)
		for l := range c.Layers {
			p := fmt.Sprintf("transformer.h.%d.", l)
			attnW := ld.take(p+"attn.c_attn.weight", D, 3*D)
			attnB := ld.take(p+"attn.c_attn.bias", 3*D)
			conv := convLinear
			ly := decoderLayer{
				norm1: norm{ld.take(p+"ln_1.weight", D), ld.take(p+"ln_1.bias", D)},
				norm2: norm{ld.take(p+"ln_2.weight", D), ld.take(p+"ln_2.bias", D)},
				qkv:   conv(attnW, attnB, 0, D, 3*D, 3*D),
				o:     conv(ld.take(p+"attn.c_proj.weight", D, D), ld.take(p+"attn.c_proj.bias", D), 0, D, D, D),
				up:    conv(ld.take(p+"mlp.c_fc.weight", D, F), ld.take(p+"mlp.c_fc.bias", F), 0, D, F, F),
				down:  conv(ld.take(p+"mlp.c_proj.weight", F, D), ld.take(p+"mlp.c_proj.bias", D), 0, F, D, D),
			}
			m.layers = append(m.layers, ly)
		}
		m.final = norm{ld.take("transformer.ln_f.weight", D), ld.take("transformer.ln_f.bias", D)}
		m.head = m.embed
		// The causal-mask buffers of older GPT-2 checkpoints are masks, not
		// parameters; the model's causal mask does their job.
		ld.skip(func(n string) bool {
			return strings.HasPrefix(n, "transformer.h.") && (strings.HasSuffix(n, ".attn.bias") || strings.HasSuffix(n, ".attn.masked_bias"))
		})
		if _, ok := src.byName["lm_head.weight"]; ok {
			// Some exports store the tied head explicitly.
			m.head = ld.take("lm_head.weight", c.Vocab, D)
		}
	} else {
		m.embed = ld.take("model.embed_tokens.weight", c.Vocab, D)
		lin := func(name string, in, out int, bias bool) linear {
			l := linear{w: ld.take(name+".weight", out, in), in: in, out: out}
			if bias {
				l.b = ld.take(name+".bias", out)
			}
			return l
		}
		for l := range c.Layers {
			p := fmt.Sprintf("model.layers.%d.", l)
			m.layers = append(m.layers, decoderLayer{
				norm1: norm{w: ld.take(p+"input_layernorm.weight", D)},
				norm2: norm{w: ld.take(p+"post_attention_layernorm.weight", D)},
				q:     lin(p+"self_attn.q_proj", D, qw, c.QKVBias),
				k:     lin(p+"self_attn.k_proj", D, kw, c.QKVBias),
				v:     lin(p+"self_attn.v_proj", D, kw, c.QKVBias),
				o:     lin(p+"self_attn.o_proj", qw, D, c.OutBias),
				gate:  lin(p+"mlp.gate_proj", D, F, c.MLPBias),
				up:    lin(p+"mlp.up_proj", D, F, c.MLPBias),
				down:  lin(p+"mlp.down_proj", F, D, c.MLPBias),
			})
		}
		m.final = norm{w: ld.take("model.norm.weight", D)}
		ld.skip(func(n string) bool { return strings.HasSuffix(n, ".rotary_emb.inv_freq") })
		if !c.UntiedHead {
			m.head = m.embed
			if _, ok := src.byName["lm_head.weight"]; ok {
				m.head = ld.take("lm_head.weight", c.Vocab, D)
			}
		} else {
			m.head = ld.take("lm_head.weight", c.Vocab, D)
		}
	}
	if err := ld.finish(); err != nil {
		return nil, err
	}
	m.pack(src.release)
	return m, nil
}
