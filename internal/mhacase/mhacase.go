package mhacase

import (
	"fmt"
	"sort"
	"strings"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
)

// Tensor names of the interface, PyTorch's.
const (
	Query          = "query"
	Key            = "key"
	Value          = "value"
	AttnMask       = "attn_mask"
	KeyPaddingMask = "key_padding_mask"
	Output         = "attn_output"
	OutputWeights  = "attn_output_weights"
	// GradPrefix starts the name of a gradient: grad.attn_output and
	// grad.attn_output_weights are upstream gradients (inputs of the
	// backward door); grad.query, grad.in_proj_weight, ... are its outputs.
	GradPrefix = "grad."
)

var paramNames = []string{
	attention.InProjWeight, attention.QProjWeight, attention.KProjWeight, attention.VProjWeight,
	attention.InProjBias, attention.OutProjWeight, attention.OutProjBias,
}

// Flags are the call's settings that PyTorch passes as arguments rather than
// tensors.
type Flags struct {
	Heads          int  // H; must divide D
	Causal         bool // add a top-left causal mask
	NeedWeights    bool // return attn_output_weights
	PerHeadWeights bool // [B,H,T,S] instead of the mean over heads [B,T,S]
}

// Case is a loaded, validated case ready to run.
type Case struct {
	Module     *attention.MultiHeadAttention
	Query      *tensor.Tensor
	Key, Value *tensor.Tensor // nil for self-attention
	Masks      []attention.Mask
	Flags      Flags
	// DOut is grad.attn_output [B,T,D] when the input holds it (the
	// backward door), else nil; DWeights is grad.attn_output_weights,
	// shaped as the weights the flags ask for, or nil.
	DOut, DWeights *tensor.Tensor
}

// Load reads a case from in. Parameters come from weights when it is not
// nil (in must then hold none), else from in.
func Load(in, weights *safetensors.File, fl Flags) (*Case, error) {
	if err := checkNames(in, weights != nil); err != nil {
		return nil, err
	}
	if fl.Heads < 1 {
		return nil, fmt.Errorf("num heads is %d, want >= 1", fl.Heads)
	}
	params := in
	if weights != nil {
		params = weights
		for _, n := range weights.Names() {
			if !isParam(n) {
				return nil, fmt.Errorf("weights file has tensor %q, which is not a MultiheadAttention parameter (want %s)", n, strings.Join(paramNames, ", "))
			}
		}
	}

	c := &Case{Flags: fl}
	var err error
	if !in.Has(Query) {
		return nil, fmt.Errorf("no %q tensor [B,T,D] in the input", Query)
	}
	if c.Query, err = in.Tensor(Query); err != nil {
		return nil, err
	}
	if c.Query.Rank() != 3 {
		return nil, fmt.Errorf("query has shape %v, want [B T D]", c.Query.Shape())
	}
	switch {
	case in.Has(Key) && in.Has(Value):
		if c.Key, err = in.Tensor(Key); err != nil {
			return nil, err
		}
		if c.Value, err = in.Tensor(Value); err != nil {
			return nil, err
		}
		if c.Key.Rank() != 3 || c.Value.Rank() != 3 {
			return nil, fmt.Errorf("key %v and value %v must be [B S kdim] and [B S vdim]", c.Key.Shape(), c.Value.Shape())
		}
	case in.Has(Key) || in.Has(Value):
		return nil, fmt.Errorf("the input has only one of key and value; give both (cross-attention) or neither (self-attention)")
	}

	sd := map[string]*tensor.Tensor{}
	for _, n := range paramNames {
		if params.Has(n) {
			if sd[n], err = params.Tensor(n); err != nil {
				return nil, err
			}
		}
	}
	cfg, err := inferConfig(c, sd, fl.Heads)
	if err != nil {
		return nil, err
	}
	if c.Module, err = attention.FromStateDict(cfg, sd); err != nil {
		return nil, err
	}

	B, T := c.Query.Dim(0), c.Query.Dim(1)
	S := T
	if c.Key != nil {
		S = c.Key.Dim(1)
	}
	if fl.Causal {
		c.Masks = append(c.Masks, attention.Causal{})
	}
	if in.Has(AttnMask) {
		m, err := loadAttnMask(in)
		if err != nil {
			return nil, err
		}
		c.Masks = append(c.Masks, m)
	}
	if in.Has(GradPrefix + Output) {
		if c.DOut, err = in.Tensor(GradPrefix + Output); err != nil {
			return nil, err
		}
	}
	if in.Has(GradPrefix + OutputWeights) {
		if c.DOut == nil {
			return nil, fmt.Errorf("the input has grad.attn_output_weights but no grad.attn_output; give both (a zero grad.attn_output if the loss uses only the weights)")
		}
		if !fl.NeedWeights {
			return nil, fmt.Errorf("the input has grad.attn_output_weights but the weights are not asked for (--need-weights)")
		}
		if c.DWeights, err = in.Tensor(GradPrefix + OutputWeights); err != nil {
			return nil, err
		}
	}
	if in.Has(KeyPaddingMask) {
		info, _ := in.Info(KeyPaddingMask)
		if info.DType != safetensors.BOOL && info.DType != safetensors.U8 {
			return nil, fmt.Errorf("key_padding_mask has dtype %s, want BOOL or U8 (true/1 = padding)", info.DType)
		}
		pad, shape, err := in.Bools(KeyPaddingMask)
		if err != nil {
			return nil, err
		}
		if !tensor.SameShape(shape, []int{B, S}) {
			return nil, fmt.Errorf("key_padding_mask has shape %v, want [B=%d S=%d]", shape, B, S)
		}
		m, err := attention.TorchKeyPaddingMask(pad, B, S)
		if err != nil {
			return nil, err
		}
		c.Masks = append(c.Masks, m)
	}
	return c, nil
}

func loadAttnMask(in *safetensors.File) (attention.Mask, error) {
	info, _ := in.Info(AttnMask)
	switch info.DType {
	case safetensors.BOOL, safetensors.U8:
		v, shape, err := in.Bools(AttnMask)
		if err != nil {
			return nil, err
		}
		if len(shape) != 2 && len(shape) != 3 {
			return nil, fmt.Errorf("attn_mask has shape %v, want [T S] or [B*H T S]", shape)
		}
		return attention.TorchAttnMask(v, shape...)
	case safetensors.F32, safetensors.F16, safetensors.BF16, safetensors.F64:
		t, err := in.Tensor(AttnMask)
		if err != nil {
			return nil, err
		}
		if t.Rank() != 2 && t.Rank() != 3 {
			return nil, fmt.Errorf("attn_mask has shape %v, want [T S] or [B*H T S]", t.Shape())
		}
		return attention.NewAdditiveMask(t)
	}
	return nil, fmt.Errorf("attn_mask has dtype %s, want a float type (additive) or BOOL/U8 (true/1 = not allowed)", info.DType)
}

// inferConfig reads D from the query, kdim and vdim from key and value, and
// whether the module has biases from the parameters present.
func inferConfig(c *Case, sd map[string]*tensor.Tensor, H int) (attention.Config, error) {
	cfg := attention.Config{DModel: c.Query.Dim(2), Heads: H}
	if c.Key != nil {
		cfg.KDim, cfg.VDim = c.Key.Dim(2), c.Value.Dim(2)
	}
	_, inB := sd[attention.InProjBias]
	_, outB := sd[attention.OutProjBias]
	if inB != outB {
		return cfg, fmt.Errorf("parameters have only one of in_proj_bias and out_proj.bias; PyTorch's bias=True has both, bias=False neither")
	}
	cfg.Bias = inB
	return cfg, cfg.Validate()
}

func isParam(name string) bool {
	for _, p := range paramNames {
		if p == name {
			return true
		}
	}
	return false
}

// checkNames rejects tensors the case format does not know, so a misspelt
// name is an error instead of being silently ignored.
func checkNames(in *safetensors.File, separateWeights bool) error {
	known := map[string]bool{Query: true, Key: true, Value: true, AttnMask: true, KeyPaddingMask: true, Output: true, OutputWeights: true}
	for _, n := range append([]string{Query, Key, Value, Output, OutputWeights}, paramNames...) {
		known[GradPrefix+n] = true // upstream gradients, or gradients (outputs) ignored
	}
	var unknown []string
	for _, n := range in.Names() {
		switch {
		case known[n], strings.HasPrefix(n, "ref."):
		case isParam(n):
			if separateWeights {
				return fmt.Errorf("the input holds parameter %q and a weights file was given too; keep parameters in one place", n)
			}
		default:
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown tensor(s) %s in the input; expected query, key, value, attn_mask, key_padding_mask, %s, and grad.attn_output, grad.attn_output_weights", strings.Join(quoteAll(unknown), ", "), strings.Join(paramNames, ", "))
	}
	return nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// Run computes the case and returns attn_output [B,T,D] and, when asked,
// attn_output_weights ([B,T,S] or [B,H,T,S]).
func (c *Case) Run() (out, weights *tensor.Tensor, err error) {
	return c.Module.Forward(c.Query, c.Key, c.Value, attention.ForwardOptions{
		Masks:          c.Masks,
		NeedWeights:    c.Flags.NeedWeights,
		PerHeadWeights: c.Flags.PerHeadWeights,
	})
}

// RunBackward computes the case and its backward: attn_output, the weights
// when asked for, and the gradients of L = Σ attn_output∘DOut (+ Σ
// weights∘DWeights) by name: grad.query (for self-attention the sum over
// its three uses), grad.key and grad.value (cross-attention), and
// grad.<parameter> for every parameter, PyTorch's names. DOut must be set.
func (c *Case) RunBackward() (out, weights *tensor.Tensor, grads map[string]*tensor.Tensor, err error) {
	if c.DOut == nil {
		return nil, nil, nil, fmt.Errorf("no grad.attn_output in the input: nothing to differentiate")
	}
	out, weights, saved, err := c.Module.ForwardTrain(c.Query, c.Key, c.Value, attention.ForwardOptions{
		Masks:          c.Masks,
		NeedWeights:    c.Flags.NeedWeights,
		PerHeadWeights: c.Flags.PerHeadWeights,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	pg := map[string]*tensor.Tensor{}
	dq, dk, dv, err := c.Module.Backward(saved, c.DOut, c.DWeights, pg)
	if err != nil {
		return nil, nil, nil, err
	}
	grads = map[string]*tensor.Tensor{GradPrefix + Query: dq}
	if dk != nil {
		grads[GradPrefix+Key], grads[GradPrefix+Value] = dk, dv
	}
	for n, g := range pg {
		grads[GradPrefix+n] = g
	}
	return out, weights, grads, nil
}

// Entries packages the results under PyTorch's output names.
func Entries(out, weights *tensor.Tensor) []safetensors.Entry {
	e := []safetensors.Entry{safetensors.TensorEntry(Output, out)}
	if weights != nil {
		e = append(e, safetensors.TensorEntry(OutputWeights, weights))
	}
	return e
}

// GradEntries packages RunBackward's gradients, in name order.
func GradEntries(grads map[string]*tensor.Tensor) []safetensors.Entry {
	names := make([]string, 0, len(grads))
	for n := range grads {
		names = append(names, n)
	}
	sort.Strings(names)
	e := make([]safetensors.Entry, len(names))
	for i, n := range names {
		e[i] = safetensors.TensorEntry(n, grads[n])
	}
	return e
}
