package benchrun

import (
	"github.com/attn-go/attn/internal/parallel"
	"github.com/attn-go/attn/kernel"
)

// ReadChunk is the bytes one item of a ReadProbe pass reads.
const ReadChunk = 1 << 20

// ReadProbe measures memory read bandwidth: Pass reads its whole buffer
// once, ReadChunk bytes per item handed out in order over attn's worker
// pool, each chunk reduced with kernel.Dot(chunk, chunk) (its second operand
// is the same memory, so each byte comes from DRAM once) into its own slot.
// Make the buffer far larger than the last-level cache, and time Pass with
// Measure: the bandwidth is Bytes over a pass's time.
type ReadProbe struct {
	read   readTask
	chunks int
}

// NewReadProbe allocates a buffer of n float32s and writes every element of
// it over the worker pool, so its pages are resident before any pass is
// timed (no page fault is timed).
func NewReadProbe(n int) *ReadProbe {
	x := make([]float32, n)
	chunks := (4*n + ReadChunk - 1) / ReadChunk
	parallel.Run(chunks, &fillTask{x: x})
	return &ReadProbe{read: readTask{x: x, sums: make([]float32, chunks)}, chunks: chunks}
}

// Bytes is the buffer's size: what one pass reads.
func (p *ReadProbe) Bytes() int { return 4 * len(p.read.x) }

// Pass reads the whole buffer once.
func (p *ReadProbe) Pass() { parallel.Run(p.chunks, &p.read) }

// chunk is the i-th ReadChunk of x (the last one may be short).
func chunk(x []float32, i int) []float32 {
	return x[i*ReadChunk/4 : min((i+1)*ReadChunk/4, len(x))]
}

// readTask sums x's chunks into sums.
type readTask struct {
	x, sums []float32
}

func (t *readTask) Run(i int) {
	c := chunk(t.x, i)
	t.sums[i] = kernel.Dot(c, c)
}

// fillTask writes every element of x's chunks (pre-touching the pages).
type fillTask struct{ x []float32 }

func (t *fillTask) Run(i int) {
	c := chunk(t.x, i)
	for j := range c {
		c[j] = 1
	}
}
