package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/attn-go/attn/internal/mhacase"
	"github.com/attn-go/attn/safetensors"
	"github.com/attn-go/attn/tensor"
	"github.com/spf13/cobra"
)

type mhaFlags struct {
	in, out, weights string
	fl               mhacase.Flags
}

func newMHACmd() *cobra.Command {
	var f mhaFlags
	cmd := &cobra.Command{
		Use:   "mha --in CASE.safetensors --out OUT.safetensors --num-heads H",
		Short: "Run a PyTorch nn.MultiheadAttention case saved as safetensors",
		Long: `mha reads tensors named as PyTorch names them and writes attn's answer.

Input tensors (batch first):
  query             [B,T,D]            required
  key, value        [B,S,kdim], [B,S,vdim]   both or neither (neither = self-attention)
  in_proj_weight    [3D,D]             or q_proj_weight [D,D], k_proj_weight [D,kdim], v_proj_weight [D,vdim]
  in_proj_bias      [3D]               with out_proj.bias, or neither (bias=False)
  out_proj.weight   [D,D]
  out_proj.bias     [D]
  attn_mask         [T,S] or [B*H,T,S]  float: added to the scores; BOOL/U8: 1 = NOT allowed (PyTorch)
  key_padding_mask  [B,S] BOOL/U8      1 = padding, ignored (PyTorch)
Parameters may instead come from a separate --weights file (a state_dict).
Tensors named attn_output, attn_output_weights or ref.* are ignored; when
attn_output is present, mha prints how far attn's answer is from it.

Output: attn_output [B,T,D] and, with --need-weights, attn_output_weights
[B,T,S] (mean over heads) or [B,H,T,S] (--per-head-weights).

Backward: when the input holds grad.attn_output [B,T,D] (the gradient of a
loss with respect to attn_output) and, with --need-weights, optionally
grad.attn_output_weights (shaped as the weights), the output also holds the
gradients of L = sum(attn_output*grad.attn_output) (+ the weights' term):
  grad.query        [B,T,D]   for self-attention, the sum over query, key and value
  grad.key          [B,S,kdim]   cross-attention only
  grad.value        [B,S,vdim]   cross-attention only
  grad.<parameter>  for every parameter: grad.in_proj_weight (or
                    grad.q_proj_weight, grad.k_proj_weight, grad.v_proj_weight),
                    grad.in_proj_bias, grad.out_proj.weight, grad.out_proj.bias
Tensors grad.query, grad.<parameter>, ... already in the input (e.g. PyTorch's)
are ignored, and mha prints how far attn's gradients are from them. Fully
masked query rows get zero gradients (PyTorch: NaN). Additive masks are
constants (no gradient).

A query row whose keys are all masked gets a zero context (output =
out_proj.bias); PyTorch 1.13 returns NaN there.

To save a case from PyTorch:
  sd = {k: v.contiguous() for k, v in mha.state_dict().items()}
  sd["query"] = q   # plus key, value, attn_mask, key_padding_mask
  safetensors.torch.save_file(sd, "case.safetensors")`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMHA(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.in, "in", "", "input safetensors file (required)")
	fs.StringVar(&f.out, "out", "", "output safetensors file (required; written atomically)")
	fs.StringVar(&f.weights, "weights", "", "optional safetensors file holding the module's parameters")
	fs.IntVar(&f.fl.Heads, "num-heads", 0, "number of heads H (required; must divide D)")
	fs.BoolVar(&f.fl.Causal, "causal", false, "add a causal mask (query i sees keys 0..i, top-left aligned)")
	fs.BoolVar(&f.fl.NeedWeights, "need-weights", false, "also write attn_output_weights")
	fs.BoolVar(&f.fl.PerHeadWeights, "per-head-weights", false, "weights per head [B,H,T,S] instead of averaged [B,T,S]")
	for _, name := range []string{"in", "out", "num-heads"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func runMHA(cmd *cobra.Command, f mhaFlags) error {
	if f.fl.Heads < 1 {
		return fmt.Errorf("--num-heads is %d, want >= 1", f.fl.Heads)
	}
	if f.fl.PerHeadWeights && !f.fl.NeedWeights {
		return fmt.Errorf("--per-head-weights needs --need-weights")
	}
	for _, other := range []string{f.in, f.weights} {
		if other != "" && samePath(f.out, other) {
			return fmt.Errorf("--out %s is also an input; choose another output path so the input is kept", f.out)
		}
	}
	in, err := safetensors.ReadFile(f.in)
	if err != nil {
		return err
	}
	var weights *safetensors.File
	if f.weights != "" {
		if weights, err = safetensors.ReadFile(f.weights); err != nil {
			return err
		}
	}
	c, err := mhacase.Load(in, weights, f.fl)
	if err != nil {
		return fmt.Errorf("%s: %w", f.in, err)
	}
	var out, w *tensor.Tensor
	var grads map[string]*tensor.Tensor
	if c.DOut != nil {
		out, w, grads, err = c.RunBackward()
	} else {
		out, w, err = c.Run()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.in, err)
	}
	meta := map[string]string{
		"num_heads":            fmt.Sprint(f.fl.Heads),
		"causal":               fmt.Sprint(f.fl.Causal),
		"need_weights":         fmt.Sprint(f.fl.NeedWeights),
		"average_attn_weights": fmt.Sprint(!f.fl.PerHeadWeights),
		"source":               filepath.Base(f.in),
	}
	entries := append(mhacase.Entries(out, w), mhacase.GradEntries(grads)...)
	if err := safetensors.WriteFile(f.out, entries, meta); err != nil {
		return err
	}
	p := cmd.OutOrStdout()
	cfg := c.Module.Config()
	fmt.Fprintf(p, "%s, %d mask(s)\n", cfg, len(c.Masks))
	fmt.Fprintf(p, "wrote attn_output %v", out.Shape())
	if w != nil {
		fmt.Fprintf(p, " and attn_output_weights %v", w.Shape())
	}
	if grads != nil {
		fmt.Fprintf(p, " and %d gradients", len(grads))
	}
	fmt.Fprintf(p, " to %s\n", f.out)
	for _, e := range mhacase.GradEntries(grads) {
		if !in.Has(e.Name) {
			continue
		}
		theirs, shape, err := in.Float64s(e.Name)
		if err != nil {
			return err
		}
		g := grads[e.Name]
		if len(theirs) != g.Len() {
			return fmt.Errorf("%s: %s in the input has shape %v, attn computed %v", f.in, e.Name, shape, g.Shape())
		}
		rel, maxAbs, nan := diff(g.Values(), theirs)
		fmt.Fprintf(p, "vs the input's %s: relative error %.3g, max abs error %.3g", e.Name, rel, maxAbs)
		if nan > 0 {
			fmt.Fprintf(p, " (%d NaN values skipped)", nan)
		}
		fmt.Fprintln(p)
	}
	if in.Has(mhacase.Output) {
		theirs, shape, err := in.Float64s(mhacase.Output)
		if err != nil {
			return err
		}
		if len(theirs) != out.Len() {
			return fmt.Errorf("%s: attn_output in the input has shape %v, attn computed %v", f.in, shape, out.Shape())
		}
		rel, maxAbs, nan := diff(out.Data(), theirs)
		fmt.Fprintf(p, "vs the input's attn_output: relative error %.3g, max abs error %.3g", rel, maxAbs)
		if nan > 0 {
			fmt.Fprintf(p, " (%d NaN values in the input's attn_output skipped: fully masked rows, where attn gives out_proj.bias)", nan)
		}
		fmt.Fprintln(p)
	}
	return nil
}

// diff returns ‖a−b‖/‖b‖ and max |a−b| over the elements where b is not
// NaN, and how many were NaN.
func diff(a []float32, b []float64) (rel, maxAbs float64, nan int) {
	var num, den float64
	for i, x := range a {
		if math.IsNaN(b[i]) {
			nan++
			continue
		}
		d := float64(x) - b[i]
		num += d * d
		den += b[i] * b[i]
		maxAbs = math.Max(maxAbs, math.Abs(d))
	}
	if den == 0 {
		return math.Sqrt(num), maxAbs, nan
	}
	return math.Sqrt(num / den), maxAbs, nan
}

func samePath(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	ca, _ := filepath.Abs(a)
	cb, _ := filepath.Abs(b)
	return ca == cb
}
