package flops

import "testing"

func TestGEMM(t *testing.T) {
	if got := GEMM(7, 5, 3); got != 210 {
		t.Errorf("GEMM(7, 5, 3) = %v, want 2·7·5·3 = 210", got)
	}
	if got := GEMM(1024, 2304, 768); got != 2*1024*2304*768 {
		t.Errorf("GEMM(1024, 2304, 768) = %v", got)
	}
}

func TestCausalPairs(t *testing.T) {
	for _, c := range []struct {
		T, S, off int
		want      float64
	}{{4, 4, 0, 10}, {3, 5, 0, 6}, {1, 4096, 4095, 4096}, {2, 5, 3, 9}, {5, 3, 0, 12}, {3, 3, -5, 0}} {
		if got := CausalPairs(c.T, c.S, c.off); got != c.want {
			t.Errorf("CausalPairs(%d, %d, %d) = %v, want %v", c.T, c.S, c.off, got, c.want)
		}
	}
}

// CausalPairs agrees with counting the mask's allowed cells one by one.
func TestCausalPairsCountsTheMask(t *testing.T) {
	for T := 1; T <= 9; T++ {
		for S := 1; S <= 9; S++ {
			for off := -3; off <= 12; off++ {
				var want float64
				for i := 0; i < T; i++ {
					for j := 0; j < S; j++ {
						if j <= i+off {
							want++
						}
					}
				}
				if got := CausalPairs(T, S, off); got != want {
					t.Fatalf("CausalPairs(%d, %d, %d) = %v, counted %v", T, S, off, got, want)
				}
			}
		}
	}
	if got, want := Pairs(5, 6), 30.0; got != want {
		t.Errorf("Pairs(5, 6) = %v, want %v", got, want)
	}
}

func TestAttention(t *testing.T) {
	// B=2, H=4, T=5, S=6, Dh=8 unmasked: 4·B·H·T·S·Dh.
	fwd := Attention(2, 4, 8, Pairs(5, 6))
	if want := 4.0 * 2 * 4 * 5 * 6 * 8; fwd != want {
		t.Errorf("Attention = %v, want %v", fwd, want)
	}
	if got := AttentionBackward(2, 4, 8, Pairs(5, 6)); got != 2.5*fwd {
		t.Errorf("AttentionBackward = %v, want 2.5 forwards = %v (five products against two)", got, 2.5*fwd)
	}
	if got := AttentionForwardBackward(2, 4, 8, Pairs(5, 6)); got != 3.5*fwd {
		t.Errorf("AttentionForwardBackward = %v, want 3.5 forwards = %v", got, 3.5*fwd)
	}
	// Causal T=S=4: 1+2+3+4 of the 16 pairs.
	if got, want := Attention(1, 2, 4, CausalPairs(4, 4, 0)), 4.0*2*10*4; got != want {
		t.Errorf("causal Attention = %v, want %v", got, want)
	}
	// Only H·Dh matters.
	if Attention(3, 12, 64, 100) != Attention(3, 1, 768, 100) {
		t.Errorf("12 heads of 64 and one of 768 count differently")
	}
}

func TestMHA(t *testing.T) {
	for _, pairs := range []float64{Pairs(3, 3), CausalPairs(3, 3, 0)} {
		if got, want := MHA(2, 3, 8, 2, pairs), 8.0*2*3*8*8+4*2*pairs*8; got != want {
			t.Errorf("MHA(pairs %v) = %v, want 8·B·T·D² + 4·B·pairs·D = %v", pairs, got, want)
		}
	}
}

func TestBERT(t *testing.T) {
	// 2 layers of 2·n·(4D² + 2DF) + 4·n·T·D, plus the pooler 2·B·D².
	n, D, F, T := 10.0, 16.0, 64.0, 5.0
	if got, want := BERT(2, 5, 16, 64, 2), 2*(2*n*(4*D*D+2*D*F)+4*n*T*D)+2*2*D*D; got != want {
		t.Errorf("BERT = %v, want %v", got, want)
	}
}

func TestGPTTrainStep(t *testing.T) {
	// B=2, T=8: matrix products × 3 plus causal attention × 3.5 (36 pairs
	// per sequence).
	N, D, V := 16.0, 16.0, 11.0
	if got, want := GPTTrainStep(2, 8, 16, 11, 1), 3*(24*N*D*D+2*N*D*V)+3.5*4*2*36*D; got != want {
		t.Errorf("GPTTrainStep = %v, want %v", got, want)
	}
	// Layers multiply everything but the head.
	one, two := GPTTrainStep(1, 4, 8, 5, 1), GPTTrainStep(1, 4, 8, 5, 2)
	if head := 3 * GEMM(4, 5, 8); two-one != one-head {
		t.Errorf("a second layer adds %v, want %v", two-one, one-head)
	}
}
