// Package attention is the core of attn: scaled dot-product attention, typed
// masks, and the multi-head attention module of Vaswani et al. (2017),
// "Attention Is All You Need".
//
// # The six steps
//
// MultiHeadAttention.Forward walks the paper's mechanism:
//
//  1. Input representation: query [B,T,D] (and key [B,S,Dk], value [B,S,Dv]
//     for cross-attention) are token vectors, e.g. from package nn.
//  2. Linear transformations: per head, W_Q, W_K, W_V project the inputs.
//     All heads are one GEMM each (PyTorch's packed in_proj_weight [3D,D]);
//     a head is a strided [B,H,T,Dh] view of the result, never a copy.
//  3. Scores: q·kᵀ scaled by 1/sqrt(Dh) (overridable), plus masks.
//  4. Softmax, with the row maximum subtracted: weights are non-negative and
//     sum to 1 on every row that has at least one allowed key.
//  5. Weighted sum of values.
//  6. Heads concatenated (they are written in place into one [B,T,D]
//     buffer) and projected by W_O.
//
// # Contracts
//
// Masks are typed (see Mask): causal with a stated alignment, sliding
// window, key padding by lengths or by a boolean mask, an explicit "allowed"
// boolean mask, an additive float mask; 2-D [T,S], PyTorch's 3-D [B·H,T,S]
// and broadcasting 4-D [B|1,H|1,T,S] forms. PyTorch's "true = masked out"
// polarity is accepted only through TorchAttnMask and TorchKeyPaddingMask.
//
// A query row whose keys are all masked gets zero attention weights and a
// zero context, so the module's output there is out_proj.bias. PyTorch 1.13
// returns NaN for such rows instead; attn never produces NaN from masking.
//
// Parameters have PyTorch's nn.MultiheadAttention names and layouts
// (in_proj_weight [3D,D], out_proj.weight [D,D], y = x·Wᵀ + b), so a
// state_dict saved from PyTorch loads with FromStateDict.
//
// Inputs holding NaN or ±Inf are rejected with an error naming the tensor
// and the index; a result that overflows float32 is an error too, never a
// silent NaN. Dropout is off unless asked for, and then takes an explicit
// Seed: the mask is a pure function of the seed and the weight's index, so
// the fused and reference paths, forward and backward, agree without
// storing it.
//
// # Training
//
// ScaledDotProductBackward (fused, FlashAttention-2's backward; see
// docs/flash-backward.md) and its reference twin add the gradients of q, k
// and v into caller tensors, recomputing the weights from the row
// log-sum-exp the forward returns in Options.LSE. MultiHeadAttention's
// ForwardTrain keeps what Backward needs; Backward adds the gradients of
// every parameter into a map keyed by PyTorch name and returns those of the
// inputs. A fully masked row has zero gradient; additive masks get none.
//
// # Numerics
//
// Everything is float32. ScaledDotProductRef is the readable reference path;
// its code is shared with a float64 instantiation that the tests use to
// measure rounding error. Against PyTorch, the golden tests (package
// internal/mhacase) require attn's relative error versus a float64
// reference to be no worse than twice PyTorch float32's own.
package attention
