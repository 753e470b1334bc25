package attention

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/internal/flops"
	"github.com/attn-go/attn/tensor"
)

// benchPairs counts the (query, key) pairs a call attends to: all of them, or
// those a top-left causal mask allows.
func benchPairs(T, S int, causal bool) float64 {
	if causal {
		return flops.CausalPairs(T, S, 0)
	}
	return flops.Pairs(T, S)
}

func BenchmarkAttention(b *testing.B) {
	for _, c := range []struct {
		B, H, Hkv, T, S, Dh int
		causal              bool
	}{
		{1, 12, 12, 512, 512, 64, false},
		{1, 12, 12, 1024, 1024, 64, true},
		{1, 12, 12, 1024, 1024, 64, false},
		{1, 12, 12, 4096, 4096, 64, true},
		{1, 12, 12, 1, 4096, 64, false}, // decode
		{1, 12, 4, 1, 4096, 64, false},  // decode, GQA (query heads stacked per group)
		{1, 32, 8, 1, 4096, 128, false}, // decode at Llama-3-8B's attention shape
	} {
		name := fmt.Sprintf("B=%d,H=%d,T=%d,S=%d,Dh=%d", c.B, c.H, c.T, c.S, c.Dh)
		if c.Hkv != c.H {
			name = fmt.Sprintf("B=%d,H=%d,Hkv=%d,T=%d,S=%d,Dh=%d", c.B, c.H, c.Hkv, c.T, c.S, c.Dh)
		}
		if c.causal {
			name += ",causal"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			q := randTensor(rng, 1, c.B, c.H, c.T, c.Dh)
			k := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dh)
			v := randTensor(rng, 1, c.B, c.Hkv, c.S, c.Dh)
			out := tensor.Must(tensor.New(c.B, c.H, c.T, c.Dh))
			var opt Options
			if c.causal {
				opt.Masks = []Mask{Causal{}}
			}
			b.ResetTimer()
			for b.Loop() {
				if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(flops.Attention(c.B, c.H, c.Dh, benchPairs(c.T, c.S, c.causal))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkMHA(b *testing.B) {
	for _, c := range []struct {
		B, T, D, H int
		causal     bool
	}{
		{1, 512, 768, 12, false},
		{1, 512, 768, 12, true},
	} {
		name := fmt.Sprintf("B=%d,T=%d,D=%d,H=%d", c.B, c.T, c.D, c.H)
		if c.causal {
			name += ",causal"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			m, err := New(Config{DModel: c.D, Heads: c.H, Bias: true}, rng)
			if err != nil {
				b.Fatal(err)
			}
			x := randTensor(rng, 1, c.B, c.T, c.D)
			var opt ForwardOptions
			if c.causal {
				opt.Masks = []Mask{Causal{}}
			}
			count := flops.MHA(c.B, c.T, c.D, c.H, benchPairs(c.T, c.T, c.causal))
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := m.Forward(x, nil, nil, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(count*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkAttentionBackward times ScaledDotProductBackward. GFLOP/s counts
// flops.AttentionBackward: 2.5 forwards (five T×S×Dh products instead of
// two, the recomputed scores included; causal counts only the allowed
// pairs), as FlashAttention's papers do, whatever schedule recomputes on top.
func BenchmarkAttentionBackward(b *testing.B) {
	benchBackward(b, ScaledDotProductBackward, []int{1024, 4096})
}

// BenchmarkAttentionBackwardRef is the same for the reference twin (one row
// at a time, scalar loops), at T = 1024 only: it is slow.
func BenchmarkAttentionBackwardRef(b *testing.B) {
	benchBackward(b, ScaledDotProductBackwardRef, []int{1024})
}

func benchBackward(b *testing.B, fn func(dq, dk, dv, dout, q, k, v, out, lse *tensor.Tensor, opt Options) error, lengths []int) {
	const B, H, Dh = 1, 12, 64
	for _, T := range lengths {
		for _, causal := range []bool{false, true} {
			name := fmt.Sprintf("B=%d,H=%d,T=%d,Dh=%d", B, H, T, Dh)
			if causal {
				name += ",causal"
			}
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(3, 3))
				q := randTensor(rng, 1, B, H, T, Dh)
				k := randTensor(rng, 1, B, H, T, Dh)
				v := randTensor(rng, 1, B, H, T, Dh)
				dout := randTensor(rng, 1, B, H, T, Dh)
				out := tensor.Must(tensor.New(B, H, T, Dh))
				lse := tensor.Must(tensor.New(B, H, T))
				opt := Options{LSE: lse}
				if causal {
					opt.Masks = []Mask{Causal{}}
				}
				if err := ScaledDotProduct(out, q, k, v, opt); err != nil {
					b.Fatal(err)
				}
				dq := tensor.Must(tensor.New(B, H, T, Dh))
				dk := tensor.Must(tensor.New(B, H, T, Dh))
				dv := tensor.Must(tensor.New(B, H, T, Dh))
				b.ResetTimer()
				for b.Loop() {
					if err := fn(dq, dk, dv, dout, q, k, v, out, lse, opt); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flops.AttentionBackward(B, H, Dh, benchPairs(T, T, causal))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
