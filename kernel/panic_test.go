package kernel

import (
	"strings"
	"testing"
)

// The exported kernels take flat slices with sizes; a slice too short for
// the sizes is a programming error, and it panics with a message that names
// the argument (never a read or write out of bounds in the assembly, never
// a bare runtime index error).
func TestShortBuffersPanic(t *testing.T) {
	f := func(n int) []float32 { return make([]float32, n) }
	d := func(n int) []float64 { return make([]float64, n) }
	w := PackB(4, BPart{Trans: true, N: 3, B: f(12), Ld: 4}) // [k=4, n=3]
	for _, tc := range []struct {
		name, want string
		call       func()
	}{
		{"Dot", "Dot of 9 and 8", func() { Dot(f(9), f(8)) }},
		{"Axpy", "Axpy of 17 into 16", func() { Axpy(1, f(17), f(16)) }},
		{"SoftmaxGrad", "SoftmaxGrad of 9 weights with 8", func() { SoftmaxGrad(f(9), f(8), 0) }},
		{"NormCDF phi", "NormCDF of 5 values into phi of 4", func() { NormCDF(d(4), d(5), f(5)) }},
		{"NormCDF ez", "ez of 4", func() { NormCDF(d(5), d(4), f(5)) }},
		{"Gemm A", "A has 5 elements", func() { Gemm(false, false, 2, 3, 3, 1, f(5), 3, f(9), 3, 0, f(6), 3) }},
		{"Gemm B", "B has 8 elements", func() { Gemm(false, false, 2, 3, 3, 1, f(6), 3, f(8), 3, 0, f(6), 3) }},
		{"Gemm C", "C has 5 elements", func() { Gemm(false, false, 2, 3, 3, 1, f(6), 3, f(9), 3, 0, f(5), 3) }},
		{"Gemm ld", "bad A dims", func() { Gemm(false, false, 2, 3, 3, 1, f(6), 2, f(9), 3, 0, f(6), 3) }},
		{"GemmSerial C", "C has 5 elements", func() { GemmSerial(false, true, 2, 3, 3, 1, f(6), 3, f(9), 3, 0, f(5), 3) }},
		{"Linear bias", "bias has 2 elements, want 3", func() { Linear(f(6), 3, f(8), 4, f(12), 4, f(2), 2, 4, 3) }},
		{"Linear W", "B has 11 elements", func() { Linear(f(6), 3, f(8), 4, f(11), 4, nil, 2, 4, 3) }},
		{"PackB", "kernel:", func() { PackB(4, BPart{Trans: true, N: 3, B: f(11), Ld: 4}) }},
		{"GemmPacked A", "A has 7 elements", func() { GemmPacked(2, 1, f(7), 4, w, 0, f(6), 3) }},
		{"LinearPacked y", "C has 5 elements", func() { LinearPacked(f(5), 3, f(8), 4, w, nil, 2) }},
		{"LinearPacked bias", "bias has 1 elements", func() { LinearPacked(f(6), 3, f(8), 4, w, f(1), 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.HasPrefix(msg, "kernel: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %v (%T), want a kernel message containing %q", r, r, tc.want)
				}
			}()
			tc.call()
		})
	}
}
