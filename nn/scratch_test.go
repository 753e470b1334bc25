package nn

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// A scratch hands out zeroed, disjoint buffers, and after a pass that
// needed several chunks it keeps one of the pass's whole size.
func TestScratch(t *testing.T) {
	var s scratch
	sizes := []int{10, 1 << 16, 3, 1 << 17, 0, 5}
	for pass := range 3 {
		s.reset()
		var bufs [][]float32
		for _, n := range sizes {
			b := s.floats(n)
			if len(b) != n || cap(b) != n {
				t.Fatalf("pass %d: floats(%d) has len %d cap %d", pass, n, len(b), cap(b))
			}
			for i, v := range b {
				if v != 0 {
					t.Fatalf("pass %d: floats(%d)[%d] = %v, want 0", pass, n, i, v)
				}
				b[i] = float32(len(bufs) + 1) // dirty it for the next pass
			}
			bufs = append(bufs, b)
		}
		for i, b := range bufs {
			for j, v := range b {
				if v != float32(i+1) {
					t.Fatalf("pass %d: buffer %d [%d] = %v: buffers overlap", pass, i, j, v)
				}
			}
		}
		if pass > 0 && (len(s.full) != 0 || len(s.buf) != 10+1<<16+3+1<<17+5) {
			t.Fatalf("pass %d: %d extra chunks, chunk of %d floats: want one chunk of the pass's size", pass, len(s.full), len(s.buf))
		}
	}
	var none *scratch
	if b := none.floats(4); len(b) != 4 {
		t.Fatalf("nil scratch: floats(4) has len %d", len(b))
	}
}

// Once warm, a training step reuses its activation buffers: it allocates
// a small fraction of what its first step did.
func TestLossReusesBuffers(t *testing.T) {
	cfg, err := TransformerPreset("small", 20)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewTransformer(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	const B, S, T = 16, 12, 12
	bt := &Seq2SeqBatch{B: B, S: S, T: T, Src: make([]int, B*S), SrcLen: make([]int, B), TgtIn: make([]int, B*T), TgtOut: make([]int, B*T), Ignore: -1}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range bt.Src {
		bt.Src[i], bt.TgtIn[i], bt.TgtOut[i] = 3+rng.IntN(17), 3+rng.IntN(17), 3+rng.IntN(17)
	}
	for i := range bt.SrcLen {
		bt.SrcLen[i] = S - i%4
	}
	allocated := func(steps int) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		for range steps {
			if _, err := m.Loss(bt, TrainOptions{Backward: true, Smoothing: 0.1}); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&b)
		return (b.TotalAlloc - a.TotalAlloc) / uint64(steps)
	}
	first := allocated(1)
	allocated(2)
	steady := allocated(5)
	t.Logf("first step %d KiB, then %d KiB per step", first>>10, steady>>10)
	if steady > first/10 {
		t.Errorf("a warm step allocates %d bytes, the first %d: buffers are not reused", steady, first)
	}
}
