// Package flops is the one home of the floating-point operation counts that
// attn's benchmarks divide by time to report GFLOP/s: attn bench (cmd/attn)
// and the go test -bench benchmarks of packages kernel and attention use
// these functions, so the same shape counts the same everywhere.
//
// # What is counted
//
// Useful work in float32 arithmetic: a multiply-add is 2 flops, and only the
// matrix products are counted. Softmax, exp, masks, biases, norms,
// activations and the optimizer are not (they are O(T·S) or O(T·D) next to
// the products' O(T·S·Dh) and O(T·D²)). Counts are exact for the shapes
// given and returned as float64 (exact integers up to 2^53, far beyond any
// shape the benchmarks run).
//
//   - GEMM C[m,n] = A[m,k]·B[k,n]: 2·m·n·k.
//   - Attention forward, per head and per allowed (query, key) pair: the score
//     q·k (2·Dh) and the weighted value p·v (2·Dh), so 4·Dh. Masked pairs are
//     not counted: a causal mask allows about half (CausalPairs counts them
//     exactly).
//   - Attention backward: 2.5 forwards (see below).
//   - A layer's training step (forward and backward): its matrix products ×
//     3, since the backward of y = x·Wᵀ is two products of the same size
//     (dx = dy·W and dW = dyᵀ·x); its attention × 3.5.
//
// # The attention backward: 2.5 forwards
//
// attention.ScaledDotProductBackward is FlashAttention-2's backward
// (docs/flash-backward.md): it keeps only the row log-sum-exp, so for every
// tile pair it recomputes the scores before it can form the gradients. That
// is five T×S×Dh products where the forward has two:
//
//	S = scale·Q·Kᵀ (recomputed), dV += Pᵀ·dO, dP = dO·Vᵀ, dK += scale·dSᵀ·Q, dQ += scale·dS·K
//
// so 10·Dh per allowed pair, 2.5 times the forward's 4·Dh, and 3.5 forwards
// for a forward and backward together. This is the count of FlashAttention's
// papers and benchmarks, and the one scripts/bench counts for PyTorch, so
// the two sides' GFLOP/s compare like their times. A backward that kept the
// T×S weights would need only four of the products (2 forwards); the
// recomputation is counted because the kernel does it, by design, to stay
// in O(T) memory. The two-pass schedule's extra recomputation (seven
// products, chosen when there are too few (batch, head) pairs to keep every
// core busy) is a scheduling cost and is not counted.
package flops
