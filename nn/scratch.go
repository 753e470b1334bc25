package nn

import (
	"sync"

	"github.com/attn-go/attn/internal/parallel"
)

// scratch hands out the float32 buffers of one training pass (activations
// saved for the backward, gradients of activations) from memory kept for
// the next pass. With fresh buffers every step the Go runtime returned
// their pages to the OS and faulted them in again (docs/training.md has the
// counts). After its first pass a scratch holds one chunk of the size a
// pass needs, so a steady training loop allocates nothing for them.
//
// Buffers are valid until reset; a nil *scratch allocates with make (the
// inference paths, whose results are returned to callers).
type scratch struct {
	buf  []float32   // the chunk being handed out
	used int         // floats of buf handed out
	full [][]float32 // chunks filled earlier in this pass
	need int         // floats handed out in this pass
}

// floats returns n zeroed floats.
func (s *scratch) floats(n int) []float32 {
	if s == nil {
		return make([]float32, n)
	}
	if s.used+n > len(s.buf) {
		if s.buf != nil {
			s.full = append(s.full, s.buf)
		}
		s.buf, s.used = make([]float32, max(n, 1<<16, 2*len(s.buf))), 0
	}
	v := s.buf[s.used : s.used+n : s.used+n]
	s.used += n
	s.need += n
	clear(v)
	return v
}

// clone returns a copy of x in the scratch.
func (s *scratch) clone(x []float32) []float32 {
	v := s.floats(len(x))
	copy(v, x)
	return v
}

// reset makes every buffer handed out so far free for reuse. A pass that
// needed more than one chunk leaves one chunk of its whole size.
func (s *scratch) reset() {
	if len(s.full) > 0 {
		s.full = nil
		s.buf = make([]float32, s.need)
	}
	s.used, s.need = 0, 0
}

// scratches is a model's set of scratches, one per concurrent pass (its
// zero value is ready; the cache is made on first use).
type scratches struct {
	once sync.Once
	c    *parallel.Cache[scratch]
}

// get returns a reset scratch; put it back when the pass is over.
func (ss *scratches) get() *scratch {
	ss.once.Do(func() { ss.c = parallel.NewCache(func() *scratch { return new(scratch) }) })
	s := ss.c.Get()
	s.reset()
	return s
}

func (ss *scratches) put(s *scratch) { ss.c.Put(s) }
