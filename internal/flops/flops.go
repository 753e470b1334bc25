package flops

// GEMM counts C[m,n] = A[m,k]·B[k,n] (either operand possibly transposed):
// m·n·k multiply-adds, 2·m·n·k flops.
func GEMM(m, n, k int) float64 { return 2 * float64(m) * float64(n) * float64(k) }

// Pairs counts the (query, key) pairs of T queries against S keys with no
// mask: T·S.
func Pairs(T, S int) float64 { return float64(T) * float64(S) }

// CausalPairs counts the (query, key) pairs a causal mask allows when query
// i sees keys 0..i+off, clipped to [0, S): off = 0 is top-left alignment
// (PyTorch's tril), off = S−T bottom-right (new queries after S−T cached
// keys).
func CausalPairs(T, S, off int) float64 {
	var n float64
	for i := 0; i < T; i++ {
		n += float64(min(max(i+off+1, 0), S))
	}
	return n
}

// Attention counts scaled dot-product attention's forward over B·H heads of
// head dimension Dh, with pairs allowed (query, key) pairs per head (Pairs
// or CausalPairs): 4·Dh per pair, B·H·pairs·4·Dh in all. Only H·Dh matters,
// so a layer of width D may pass H = 1, Dh = D.
func Attention(B, H, Dh int, pairs float64) float64 {
	return 4 * float64(B) * float64(H) * pairs * float64(Dh)
}

// backwardFactor is the attention backward's count in forwards: five
// products against the forward's two (see the package comment).
const backwardFactor = 2.5

// AttentionBackward counts ScaledDotProductBackward on the same shape as
// Attention: 2.5 forwards, the recomputation of the scores included.
func AttentionBackward(B, H, Dh int, pairs float64) float64 {
	return backwardFactor * Attention(B, H, Dh, pairs)
}

// AttentionForwardBackward counts a training step's attention, the forward
// and then the backward: 3.5 forwards.
func AttentionForwardBackward(B, H, Dh int, pairs float64) float64 {
	return (1 + backwardFactor) * Attention(B, H, Dh, pairs)
}

// MHA counts a multi-head self-attention module's forward on B sequences of
// T tokens of width D in H heads, pairs allowed pairs per head: the q, k, v
// and output projections (four [B·T, D]·[D, D] products, 8·B·T·D²) and the
// attention.
func MHA(B, T, D, H int, pairs float64) float64 {
	return 4*GEMM(B*T, D, D) + Attention(B, H, D/H, pairs)
}

// BERT counts a BERT encoder's forward on B sequences of T tokens, every
// token real (all T² pairs): per layer the q, k, v and output projections
// and the feed-forward's two products of width F, 2·B·T·(4·D² + 2·D·F),
// plus the attention, 4·B·T²·D; then the pooler on each sequence's first
// token, 2·B·D².
func BERT(B, T, D, F, layers int) float64 {
	n := B * T
	layer := 4*GEMM(n, D, D) + GEMM(n, F, D) + GEMM(n, D, F) + Attention(B, 1, D, Pairs(T, T))
	return float64(layers)*layer + GEMM(B, D, D)
}

// GPTTrainStep counts the forward and backward of a GPT-2-shaped decoder
// (nn.GPT: width D, MLP 4·D, causal, tied head over a vocabulary of V) on B
// sequences of T tokens. Its matrix products, per layer the q, k, v and
// output projections and the MLP's two (24·N·D² with N = B·T) and the head
// (2·N·D·V), count 3 times (forward and a backward of twice that); its
// causal attention (4·D per allowed pair per layer) 3.5 times. The
// embedding lookups and the optimizer are not counted.
func GPTTrainStep(B, T, D, V, layers int) float64 {
	N := B * T
	dense := float64(layers)*(4*GEMM(N, D, D)+GEMM(N, 4*D, D)+GEMM(N, D, 4*D)) + GEMM(N, V, D)
	att := float64(layers) * AttentionForwardBackward(B, 1, D, CausalPairs(T, T, 0))
	return 3*dense + att
}
