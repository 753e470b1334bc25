package attention

import (
	"math"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"
	"github.com/attn-go/attn/tensor"
)

// FuzzMasks builds masks of every kind from arbitrary shapes, lengths and
// bits, and runs both attention paths with them. Construction and
// validation must reject what does not fit with an error (never a panic);
// what is accepted must give finite outputs, weight rows that sum to 1 or
// are all zero, and the same answer from the fused and reference paths.
func FuzzMasks(f *testing.F) {
	f.Add(uint8(2), uint8(3), uint8(5), uint8(7), uint8(0), []byte{1, 2, 3}, int8(3), uint8(2))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), uint8(3), []byte{0}, int8(-1), uint8(0))
	f.Fuzz(func(t *testing.T, b, h, tq, s, kind uint8, bits []byte, n int8, window uint8) {
		B, H, T, S := int(b%3)+1, int(h%3)+1, int(tq%70), int(s%70)
		d := Dims{B, H, T, S}
		bit := func(i int) bool { return len(bits) > 0 && bits[i%len(bits)]>>(i%8)&1 == 1 }
		bools := func(shape ...int) []bool {
			n, err := tensor.NumElements(shape...)
			if err != nil || n > 1<<16 {
				return nil
			}
			v := make([]bool, n)
			for i := range v {
				v[i] = bit(i)
			}
			return v
		}
		var m Mask
		var err error
		switch kind % 7 {
		case 0:
			m = Causal{Align: Alignment(window % 2)}
		case 1:
			m = SlidingWindow{Size: int(window) - 1, Align: Alignment(n & 1)}
		case 2:
			l := make(KeyLengths, B)
			for i := range l {
				l[i] = int(n) + i
			}
			m = l
		case 3:
			shape := []int{T, S}
			if n%3 == 1 {
				shape = []int{int(window%7) + 1, T, S}
			} else if n%3 == 2 {
				shape = []int{int(window % 4), int(n%3+1) % 4, T, S}
			}
			m, err = NewAllowedMask(bools(shape...), shape...)
		case 4:
			m, err = TorchKeyPaddingMask(bools(B, S), B, int(window%70))
		case 5:
			add := tensor.Must(tensor.New(T, S))
			for i := range add.Data() {
				if bit(i) {
					add.Data()[i] = float32(math.Inf(-1))
				} else {
					add.Data()[i] = float32(int(n)) / 8
				}
			}
			m, err = NewAdditiveMask(add)
		case 6:
			m, err = NewAllowedMask(bools(int(n&3), int(window&3)), int(n&3), int(window&3))
		}
		if err != nil {
			return
		}
		q := tensor.Must(tensor.New(B, H, T, 4))
		k := tensor.Must(tensor.New(B, H, S, 4))
		v := tensor.Must(tensor.New(B, H, S, 4))
		for i := range q.Data() {
			q.Data()[i] = float32(i%5) - 2
		}
		for i := range k.Data() {
			k.Data()[i] = float32(i%3) - 1
			v.Data()[i] = float32(i%7) - 3
		}
		outs := make([]*tensor.Tensor, 2)
		for p, path := range sdpaPaths {
			out := tensor.Must(tensor.New(B, H, T, 4))
			w := tensor.Must(tensor.New(B, H, T, S))
			if err := path.fn(out, q, k, v, Options{Masks: []Mask{m}, Weights: w}); err != nil {
				if m.validate(d) == nil {
					t.Fatalf("%s: mask %v validates but the call failed: %v", path.name, m, err)
				}
				return
			}
			checkWeightRows(t, w, true)
			if _, bad := out.FirstNonFinite(); bad {
				t.Fatalf("%s: non-finite output", path.name)
			}
			outs[p] = out
		}
		for i, x := range outs[0].Data() {
			if d := math.Abs(float64(x - outs[1].Data()[i])); numcheck.Exceeds(d, 1e-5*(1+math.Abs(float64(x)))) {
				t.Fatalf("fused %v and reference %v differ at %d", x, outs[1].Data()[i], i)
			}
		}
	})
}
