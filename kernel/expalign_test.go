package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ExpShift over a slice that starts at a multiple of ExpShiftAlign and ends
// at one or at the row's end gives every element the same bits as over the
// whole row, at every level (the attention backward clips its rows so). At
// the AVX-512 level an 8-aligned start would not do: x[8:64] sends columns
// 56–63 to the scalar tail, which the whole row runs in the vector kernel.
func TestExpShiftAlignedSlices(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, lv := range vecLevels() {
		if lanes(lv) > ExpShiftAlign || ExpShiftAlign%lanes(lv) != 0 {
			t.Fatalf("%s: %d lanes do not divide ExpShiftAlign %d", levelNames[lv], lanes(lv), ExpShiftAlign)
		}
		for _, n := range []int{1, 7, 8, 15, 16, 17, 24, 31, 33, 64, 65, 100, 256} {
			row := make([]float32, n)
			for i := range row {
				row[i] = -8 * rng.Float32()
			}
			whole := append([]float32(nil), row...)
			expShiftLevel(lv, whole, 0.5)
			for c0 := 0; c0 < n; c0 += ExpShiftAlign {
				for c1 := c0 + 1; c1 <= n; c1++ {
					if c1%ExpShiftAlign != 0 && c1 != n {
						continue
					}
					part := append([]float32(nil), row[c0:c1]...)
					expShiftLevel(lv, part, 0.5)
					for i, v := range part {
						if math.Float32bits(v) != math.Float32bits(whole[c0+i]) {
							t.Fatalf("%s n=%d [%d:%d]: element %d is %v, %v over the whole row", levelNames[lv], n, c0, c1, c0+i, v, whole[c0+i])
						}
					}
				}
			}
		}
	}
}
