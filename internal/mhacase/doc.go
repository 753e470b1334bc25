// Package mhacase runs a PyTorch nn.MultiheadAttention case stored as
// safetensors through attn: the input door of `attn mha` and of the golden
// tests.
//
// A case file holds tensors with PyTorch's names: query [B,T,D]; optionally
// key [B,S,kdim] and value [B,S,vdim] (absent: self-attention); the module's
// parameters (in_proj_weight or q/k/v_proj_weight, in_proj_bias,
// out_proj.weight, out_proj.bias), unless they come from a separate weights
// file; optionally attn_mask ([T,S] or [B·H,T,S]; float = additive,
// BOOL/U8 = PyTorch polarity, true/1 = not allowed) and key_padding_mask
// (BOOL/U8 [B,S], true/1 = padding). Outputs already present in the file
// (attn_output, attn_output_weights, grad.query, grad.<parameter>, ...) and
// tensors named ref.* are ignored, so a case saved together with PyTorch's
// answer can be fed back unchanged.
//
// The backward door: when the file holds grad.attn_output [B,T,D] (the
// gradient of a loss with respect to attn_output) and optionally
// grad.attn_output_weights (with respect to the returned weights; needs
// NeedWeights), RunBackward also returns grad.<name> for every input
// (grad.query, and grad.key, grad.value for cross-attention; self-attention
// sums its three uses into grad.query, as PyTorch does when query, key and
// value are one tensor) and every parameter (grad.in_proj_weight,
// grad.out_proj.bias, ...). The golden files of scripts/golden/gen_grad.py
// (testdata/golden/grad) are such cases.
package mhacase
