package attention

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/attn-go/attn/tensor"
)

// attentionFLOPs counts the useful floating-point operations of one call:
// 2·Dh for each allowed score and 2·Dv for each weight applied.
func attentionFLOPs(B, H, T, S, Dh int, causal bool) float64 {
	pairs := float64(T) * float64(S)
	if causal { // top-left: query i sees min(i+1, S) keys
		pairs = 0
		for i := 0; i < T; i++ {
			pairs += float64(min(i+1, S))
		}
	}
	return float64(B*H) * pairs * 4 * float64(Dh)
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
			b.ReportMetric(attentionFLOPs(c.B, c.H, c.T, c.S, c.Dh, c.causal)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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
			m, err := New(Config{EmbedDim: c.D, NumHeads: c.H, Bias: true}, rng)
			if err != nil {
				b.Fatal(err)
			}
			x := randTensor(rng, 1, c.B, c.T, c.D)
			var opt ForwardOptions
			if c.causal {
				opt.Masks = []Mask{Causal{}}
			}
			flops := float64(c.B*c.T) * float64(c.D) * float64(c.D) * 2 * 4
			flops += attentionFLOPs(c.B, c.H, c.T, c.T, c.D/c.H, c.causal)
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := m.Forward(x, nil, nil, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkAttentionBackward times ScaledDotProductBackward. GFLOP/s counts
// 2.5× the forward's useful operations (five T×S×Dh products of 2 flops per
// multiply-add instead of two; causal counts only the allowed pairs), as
// FlashAttention's papers do, whatever schedule recomputes on top.
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
				b.ReportMetric(2.5*attentionFLOPs(B, H, T, T, Dh, causal)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
