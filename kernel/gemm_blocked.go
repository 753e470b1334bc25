package kernel

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/attn-go/attn/internal/parallel"
)

// The blocked GEMM (BLIS's five loops; docs/gemm.md has the picture):
//
//	for jc in n, step nc:                      B block [kc,nc] packed once, shared (L3)
//	  for pc in k, step kc:
//	    for ic in m, step mc:                    items, claimed in order by the goroutines
//	      pack op(A)[ic:ic+mc, pc:pc+kc] into mr-tall panels (L2)    (per goroutine)
//	      for jr in nc, step nr:                   one B micro-panel [kc,nr] stays in L1
//	        pack op(B)[pc:pc+kc, jr:jr+nr] if no goroutine has yet   (shared)
//	        for ir in mc, step mr:
//	          micro-kernel: C[ir:ir+mr, jr:jr+nr] = alpha·Ã·B̃ + beta·C
//
// Transposes and leading dimensions are absorbed by the packing; the
// micro-kernel sees only the packed layouts. Edge tiles (fewer than mr rows
// or nr columns) are computed into a per-worker scratch tile and merged. The
// first kc step applies the caller's beta, later ones accumulate (beta = 1).
// The whole product is one parallel call: B panels are packed by whichever
// goroutine needs them first, and an item waits only for the item before it
// on the same C elements (see compute).
//
// Two shapes leave this plan: products with fewer rows than a micro-tile
// go row by row (smallM, small.go), and few rows against a wide B read B
// in place (gemm_wideb.go).

// Micro-kernel ids.
const (
	kernGo = iota
	kernAVX2
	kernAVX512
)

// gemmSpec is one micro-kernel and its block sizes.
type gemmSpec struct {
	name   string
	id     int
	mr, nr int // micro-tile
	mc     int // rows of the packed A block (upper bound; rebalanced per call)
	kc     int // depth of a packed block
	nc     int // columns of the packed B block, multiple of nr
}

// Block sizes. AVX2 (6×16, sized for Zen 3: 32 KiB L1d, 512 KiB L2 per
// core, and Haswell-class Intel): the B micro-panel kc×16×4 B = 16 KiB fills
// half of L1, the A block 144×256×4 B = 144 KiB a quarter of L2, the B block
// 256×4080×4 B = 4 MiB sits in L3. AVX-512 (14×32, measured on Zen 5: 48 KiB
// L1d, 1 MiB L2 per core): the depth is what counts, because every kc block
// is one more pass of loads and stores over C; kc = 512 puts the A block
// 252×512×4 B = 504 KiB in half of L2 and lets the 64 KiB B micro-panel
// stream from L2 (its 128 B per k step are 9 B a cycle, far below L2's
// bandwidth); it runs 1.3–1.6× faster than kc = 192 on 1024³ and
// 1024×2304×768 on two threads. The pure-Go 4×4 kernel uses the AVX2
// blocking. docs/gemm.md records the measurements behind the choice
// (its "Block sizes" table and "Optimisation log: predicted and measured").
var (
	specGo     = &gemmSpec{name: "purego", id: kernGo, mr: 4, nr: 4, mc: 144, kc: 256, nc: 4080}
	specAVX2   = &gemmSpec{name: "avx2", id: kernAVX2, mr: 6, nr: 16, mc: 144, kc: 256, nc: 4080}
	specAVX512 = &gemmSpec{name: "avx512", id: kernAVX512, mr: 14, nr: 32, mc: 252, kc: 512, nc: 4096}
)

func (s *gemmSpec) available() bool {
	switch s.id {
	case kernAVX2:
		return haveAVX2
	case kernAVX512:
		return haveAVX512
	}
	return true
}

// micro runs the micro-kernel on one mr×nr tile: c[r*ldc+j] = alpha·Σ_p
// a[p*aStep+r*aRow]·b[p*bStep+j] + beta·c[r*ldc+j] (c not read when beta is
// 0). The index expressions below are the kernel's extreme reads and
// writes: Go's bounds checks on them stand guard for the assembly.
func (s *gemmSpec) micro(k int, a []float32, aStep, aRow int, b []float32, bStep int, c []float32, ldc int, alpha, beta float32) {
	_ = a[(k-1)*aStep+(s.mr-1)*aRow]
	_ = b[(k-1)*bStep+s.nr-1]
	_ = c[(s.mr-1)*ldc+s.nr-1]
	if s.id == kernGo {
		microGo4x4(k, a, aStep, aRow, b, bStep, c, ldc, alpha, beta)
		return
	}
	microAsm(s.id, k, &a[0], aStep, aRow, &b[0], bStep, &c[0], ldc, alpha, beta)
}

// Thresholds, in multiply-adds (m·n·k). Below parallelMin one goroutine does
// the whole product (handing work to the pool costs a few microseconds);
// GemmSerial reads A and B in place instead of packing while the operand is
// at most directMax elements (it then fits in L1/L2 and packing would cost
// more than the strided reads). Measured in docs/gemm.md.
const (
	parallelMin = 64 * 64 * 128
	directMax   = 128 * 128
	// Gemm too reads A in place when n is at most defaultDirectAMaxN: packed A is
	// reused once per B panel, and with at most 8 panels the packing costs
	// more than the strided reads (weight gradients of small layers, e.g.
	// 64×64×1024 Aᵀ·B runs at 52–54 GFLOP/s in place against 17–23 packed,
	// on 2 threads; docs/gemm.md).
	defaultDirectAMaxN = 128
)

// directAMaxN is defaultDirectAMaxN; BenchmarkGemmSmallN sets it to 0 to
// measure the packed path.
var directAMaxN = defaultDirectAMaxN

type gemmWork struct {
	spec   *gemmSpec
	transA bool
	transB bool
	m, n   int
	k      int
	alpha  float32
	beta   float32
	a, b   []float32
	c      []float32
	lda    int
	ldb    int
	ldc    int

	pre     *PackedB // B packed ahead (GemmPacked): no packing, no slots
	directA bool     // A read in place (GemmSerial, small A)
	directB bool     // non-transposed B read in place (GemmSerial's small B, or wideB)

	// Blocks t = jb·pBlocks + pb: column block jb (width nc) outer, depth
	// block pb (depth kcStep, the last one shorter) inner.
	kcStep    int
	pBlocks   int
	blocks    int
	maxPanels int // B micro-panels in the widest column block

	// Items: blocks × regions, block-major; a region is one row block ×
	// one column chunk of C, the same for every block.
	tiles    int // ceil(m/mr)
	icBlocks int
	chunks   int
	regions  int
	items    int
	next     atomic.Int64

	// Packed B in two slots: block t packs into slot t%2, so the panels of
	// block t+1 can be packed while block t's last items still read theirs.
	bpack    []float32
	slotSize int
	// pstate[slot·maxPanels+q] is 2t+1 while block t's panel q is being
	// packed and 2t+2 once it is packed.
	pstate []atomic.Int64
	// rdone[r] counts the blocks finished for region r (its C elements);
	// bdone[t] counts the finished items of block t.
	rdone []atomic.Int64
	bdone []atomic.Int64
	// Waiters that stopped spinning sleep on cond (see wait and wake).
	mu       sync.Mutex
	cond     sync.Cond
	sleepers atomic.Int32

	ws []gemmWorker

	computeTask computeTask
	smallTask   smallTask
	arows       []float32 // smallM: rows of a transposed A, gathered
}

// gemmWorker is one worker's private workspace.
type gemmWorker struct {
	apack    []float32 // packed A block (or one edge panel when directA)
	tile     []float32 // mr×nr scratch tile for edges
	lastA    int       // key of what apack holds (see compute, aPanel), -1 if none
	deferred []int     // B panels another goroutine was packing, revisited
	_        [64]byte  // keep workers' fields on separate cache lines
}

type smallTask struct{ w *gemmWork }
type computeTask struct{ w *gemmWork }

func (t *smallTask) Run(i int)   { t.w.smallRun(i) }
func (t *computeTask) Run(i int) { t.w.compute(i) }

var workPool = parallel.NewCache(func() *gemmWork {
	w := new(gemmWork)
	w.cond.L = &w.mu
	w.computeTask.w = w
	w.smallTask.w = w
	return w
})

// gemmBlocked is Gemm with the arguments already checked.
func gemmBlocked(spec *gemmSpec, serial bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	workers := 1
	if !serial && m*n*k >= parallelMin {
		workers = parallel.Workers()
	}
	if !serial && swapsWideB(spec, transA, transB, m, n, alpha, beta) {
		gemmSwapped(spec, m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	if m < spec.mr && !transA && workers == 1 {
		// Few rows, one goroutine: no workspace needed.
		smallGemm(specLevel(spec), transB, m, k, 0, n, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	w := workPool.Get()
	w.spec = spec
	w.transA, w.transB = transA, transB
	w.m, w.n, w.k = m, n, k
	w.alpha, w.beta = alpha, beta
	w.a, w.b, w.c = a, b, c
	w.lda, w.ldb, w.ldc = lda, ldb, ldc
	if m < spec.mr {
		w.smallM(workers)
		w.a, w.b, w.c = nil, nil, nil
		workPool.Put(w)
		return
	}
	w.directA = serial && m*k <= directMax || n <= directAMaxN
	// B is read in place on small products (GemmSerial), and when few rows
	// meet a wide B: then each B panel serves at most 128/mr micro-tiles and
	// copying it into packed form costs more than its strided reads.
	w.directB = !transB && (serial && k*n <= directMax || !serial && readsWideB(m, n))
	w.run(workers)
	w.a, w.b, w.c = nil, nil, nil
	workPool.Put(w)
}

// gemmPacked is GemmPacked with the arguments checked: the same driver,
// on the variant B was packed for, with every B panel ready.
func gemmPacked(p *PackedB, m int, alpha float32, a []float32, lda int, beta float32, c []float32, ldc int) {
	n, k := p.n, p.k
	if m == 0 {
		return
	}
	if alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	workers := 1
	if m*n*k >= parallelMin {
		workers = parallel.Workers()
	}
	w := workPool.Get()
	w.spec, w.pre = p.spec, p
	w.transA, w.transB = false, false
	w.m, w.n, w.k = m, n, k
	w.alpha, w.beta = alpha, beta
	w.a, w.c = a, c
	w.lda, w.ldc = lda, ldc
	if m < p.spec.mr {
		w.smallM(workers)
	} else {
		w.directA = n <= directAMaxN
		w.directB = false
		w.run(workers)
	}
	w.a, w.c, w.pre = nil, nil, nil
	workPool.Put(w)
}

// run plans the blocked product and computes it in one parallel call: the
// goroutines claim items in order and pack B's panels as they first need
// them, so there is no barrier between packing and computing nor between
// blocks, and a pool worker is woken once per product (a wake-up costs
// about 60 µs here).
func (w *gemmWork) run(workers int) {
	w.plan(workers)
	w.next.Store(0)
	if nw := min(workers, w.items); nw > 1 {
		parallel.Run(nw, &w.computeTask)
	} else {
		w.compute(0)
	}
}

// plan chooses the decomposition, sizes the workspaces and resets the
// progress counters.
func (w *gemmWork) plan(workers int) {
	s := w.spec
	w.tiles = (w.m + s.mr - 1) / s.mr
	w.icBlocks = (w.m + s.mc - 1) / s.mc
	if workers > 1 && w.icBlocks >= workers && w.icBlocks%workers != 0 {
		// Equal shares: a multiple of the worker count of (smaller) blocks.
		w.icBlocks += workers - w.icBlocks%workers
	}
	w.icBlocks = min(w.icBlocks, w.tiles)
	w.chunks = 1
	w.maxPanels = (min(s.nc, w.n) + s.nr - 1) / s.nr
	if workers > 1 && w.icBlocks < 2*workers {
		// Few row blocks (small m): split the columns too, keeping at
		// least two micro-panels per chunk.
		w.chunks = max(1, min((2*workers+w.icBlocks-1)/w.icBlocks, w.maxPanels/2))
	}
	w.regions = w.icBlocks * w.chunks

	w.kcStep = blockDepth(w.k, s.kc)
	w.pBlocks = (w.k + w.kcStep - 1) / w.kcStep
	w.blocks = (w.n + s.nc - 1) / s.nc * w.pBlocks
	w.items = w.blocks * w.regions

	kc := w.kcStep
	w.slotSize = w.maxPanels * s.nr * kc
	switch {
	case w.pre != nil:
		w.slotSize = 0 // B is read from w.pre
	case w.directB:
		w.slotSize = s.nr * kc // only a partial last panel is packed
	}
	slots := min(w.blocks, 2)
	w.bpack = grow(w.bpack, slots*w.slotSize)
	w.pstate = resetCounters(w.pstate, slots*w.maxPanels)
	w.rdone = resetCounters(w.rdone, w.regions)
	w.bdone = resetCounters(w.bdone, w.blocks)

	mcMax := (w.tiles + w.icBlocks - 1) / w.icBlocks * s.mr
	aNeed := mcMax * kc
	if w.directA {
		aNeed = s.mr * kc
	}
	nw := min(workers, w.items)
	if cap(w.ws) < nw {
		w.ws = make([]gemmWorker, nw)
	}
	w.ws = w.ws[:nw]
	for i := range w.ws {
		ws := &w.ws[i]
		ws.apack = grow(ws.apack, aNeed)
		ws.tile = grow(ws.tile, s.mr*s.nr)
		ws.lastA = -1
		if cap(ws.deferred) < w.maxPanels {
			ws.deferred = make([]int, 0, w.maxPanels)
		}
	}
}

// resetCounters returns s resized to n counters, all zero.
func resetCounters(s []atomic.Int64, n int) []atomic.Int64 {
	if cap(s) < n {
		return make([]atomic.Int64, n)
	}
	s = s[:n]
	for i := range s {
		s[i].Store(0)
	}
	return s
}

// blockDepth splits depth k into the fewest blocks of at most kcMax and
// returns their depth, rounded up to a multiple of 8 (the packing's step):
// k = 768 with kcMax = 512 gives two blocks of 384 rather than 512 + 256, so
// no pass over C is a short one.
func blockDepth(k, kcMax int) int {
	blocks := (k + kcMax - 1) / kcMax
	kc := (k + blocks - 1) / blocks
	return min((kc+7)&^7, kcMax, k)
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// icStart is the first row of row block i: the tiles are shared out evenly.
func (w *gemmWork) icStart(i int) int {
	return min(i*w.tiles/w.icBlocks*w.spec.mr, w.m)
}

// gemmBlock is one (jc, pc) block of the product: columns [jc, jc+nc) of
// op(B) and C, depth [pc, pc+kc).
type gemmBlock struct {
	t              int
	jc, nc, pc, kc int
	npanels        int // B micro-panels
	chunkPanels    int // micro-panels per column chunk
	betaK          float32
	bslot          []float32 // this block's packed-B slot
	pstate         []atomic.Int64
}

func (w *gemmWork) block(t int) gemmBlock {
	s := w.spec
	jb, pb := t/w.pBlocks, t%w.pBlocks
	b := gemmBlock{t: t, jc: jb * s.nc, pc: pb * w.kcStep}
	b.nc = min(s.nc, w.n-b.jc)
	b.kc = min(w.kcStep, w.k-b.pc)
	b.npanels = (b.nc + s.nr - 1) / s.nr
	b.chunkPanels = (b.npanels + w.chunks - 1) / w.chunks
	// The first depth block applies the caller's beta, later ones add.
	b.betaK = w.beta
	if pb > 0 {
		b.betaK = 1
	}
	slot := t % 2
	b.bslot = w.bpack[slot*w.slotSize : (slot+1)*w.slotSize]
	if w.pre != nil {
		_, blk := w.pre.block(b.pc)
		b.bslot = blk[b.jc*b.kc:][:b.npanels*s.nr*b.kc]
	}
	b.pstate = w.pstate[slot*w.maxPanels : (slot+1)*w.maxPanels]
	return b
}

// wait returns once c reaches v. What it waits for is always an item or a
// panel that a running goroutine claimed earlier, so the wait ends. It
// spins briefly (another goroutine packing a panel takes microseconds),
// then sleeps until a counter moves: on a busy machine the goroutine it
// waits for may have lost its core, and a spinning waiter would keep that
// core from it.
func (w *gemmWork) wait(c *atomic.Int64, v int64) {
	for range waitSpins {
		if c.Load() >= v {
			return
		}
		runtime.Gosched()
	}
	w.mu.Lock()
	w.sleepers.Add(1)
	for c.Load() < v {
		w.cond.Wait()
	}
	w.sleepers.Add(-1)
	w.mu.Unlock()
}

// waitSpins is how many times wait yields before sleeping (a few tens of
// microseconds); TestGemmBlockOrder sets it to 0 to test the sleeping path.
var waitSpins = 100

// wake wakes the sleeping waiters after a counter moved. A waiter counts
// itself in sleepers and then re-checks its counter, both under mu, so
// either it sees the new value or wake sees it and broadcasts.
func (w *gemmWork) wake() {
	if w.sleepers.Load() > 0 {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// compute is worker wid's loop over items. Item (t, r) computes region r
// of C for block t. It starts once block t-1 has finished region r (the
// same C elements, accumulated in depth order) and, before it packs into
// its B slot, once block t-2 (the slot's previous user) is finished.
func (w *gemmWork) compute(wid int) {
	ws := &w.ws[wid]
	for {
		it := int(w.next.Add(1) - 1)
		if it >= w.items {
			return
		}
		t, r := it/w.regions, it%w.regions
		b := w.block(t)
		w.wait(&w.rdone[r], int64(t))
		if t >= 2 && w.pre == nil {
			w.wait(&w.bdone[t-2], int64(w.regions))
		}
		icb, ch := r/w.chunks, r%w.chunks
		i0, i1 := w.icStart(icb), w.icStart(icb+1)
		if key := t*w.icBlocks + icb; !w.directA && ws.lastA != key {
			packA(ws.apack, w.a, w.lda, w.transA, i0, i1-i0, b.pc, b.kc, w.spec.mr)
			ws.lastA = key
		}
		p0 := ch * b.chunkPanels
		p1 := min(p0+b.chunkPanels, b.npanels)
		w.macro(ws, &b, i0, i1-i0, p0, p1)
		w.rdone[r].Store(int64(t + 1))
		w.bdone[t].Add(1)
		w.wake()
	}
}

// macro multiplies rows [i0, i0+mc) of the packed A block by B panels
// [p0, p1) of block b. A panel another goroutine is packing is left for
// the end of the item.
func (w *gemmWork) macro(ws *gemmWorker, b *gemmBlock, i0, mc, p0, p1 int) {
	deferred := ws.deferred[:0]
	for q := p0; q < p1; q++ {
		if !w.claimPanel(b, q) {
			deferred = append(deferred, q)
			continue
		}
		w.panelTiles(ws, b, i0, mc, q)
	}
	for _, q := range deferred {
		w.wait(&b.pstate[q], int64(2*b.t+2))
		w.panelTiles(ws, b, i0, mc, q)
	}
	ws.deferred = deferred[:0]
}

// claimPanel reports whether B panel q of block b can be read now: it is
// read in place, or packed, or this goroutine has just packed it. It is
// false while another goroutine packs it.
func (w *gemmWork) claimPanel(b *gemmBlock, q int) bool {
	if w.pre != nil {
		return true
	}
	if w.directB && (q < b.npanels-1 || b.nc%w.spec.nr == 0) {
		return true
	}
	st := &b.pstate[q]
	busy, ready := int64(2*b.t+1), int64(2*b.t+2)
	v := st.Load()
	switch {
	case v == ready:
		return true
	case v == busy:
		return false
	case st.CompareAndSwap(v, busy):
		w.packBPanel(b, q)
		st.Store(ready)
		w.wake()
		return true
	}
	return st.Load() == ready
}

// panelOffset is where panel q of block b starts in its slot.
func (w *gemmWork) panelOffset(b *gemmBlock, q int) int {
	if w.directB {
		return 0 // the one packed panel
	}
	return q * b.kc * w.spec.nr
}

// panelTiles runs the micro-kernel down B panel q for rows [i0, i0+mc).
func (w *gemmWork) panelTiles(ws *gemmWorker, b *gemmBlock, i0, mc, q int) {
	s := w.spec
	mr, nr, kc := s.mr, s.nr, b.kc
	j := b.jc + q*nr
	cols := min(nr, b.jc+b.nc-j)
	bp, bStep := b.bslot[w.panelOffset(b, q):][:kc*nr], nr
	if w.directB && cols == nr {
		bp, bStep = w.b[b.pc*w.ldb+j:], w.ldb
	}
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		i := i0 + ir
		ap, aStep, aRow := w.aPanel(ws, b, i, ir, rows)
		ct := w.c[i*w.ldc+j:]
		if rows == mr && cols == nr {
			s.micro(kc, ap, aStep, aRow, bp, bStep, ct, w.ldc, w.alpha, b.betaK)
			continue
		}
		s.micro(kc, ap, aStep, aRow, bp, bStep, ws.tile, nr, 1, 0)
		mergeTile(ct, w.ldc, ws.tile, nr, rows, cols, w.alpha, b.betaK)
	}
}

// aPanel returns the A micro-panel for rows [i, i+rows) (ir within the
// block) and its strides.
func (w *gemmWork) aPanel(ws *gemmWorker, b *gemmBlock, i, ir, rows int) ([]float32, int, int) {
	mr := w.spec.mr
	if !w.directA {
		return ws.apack[ir*b.kc:], mr, 1
	}
	if rows == mr {
		if w.transA {
			return w.a[b.pc*w.lda+i:], w.lda, 1
		}
		return w.a[i*w.lda+b.pc:], 1, w.lda
	}
	// The last, partial row tile: pack it once per block (zero-padded).
	if key := b.t*w.m + i; ws.lastA != key {
		packA(ws.apack, w.a, w.lda, w.transA, i, rows, b.pc, b.kc, mr)
		ws.lastA = key
	}
	return ws.apack, mr, 1
}

// packA packs op(A)[i0:i0+mc, p0:p0+kc] into mr-row panels: panel q holds
// element (q·mr+r, p) at q·mr·kc + p·mr + r. Rows past mc are zero.
func packA(dst, a []float32, lda int, transA bool, i0, mc, p0, kc, mr int) {
	for ir := 0; ir < mc; ir += mr {
		rows := min(mr, mc-ir)
		d := dst[ir*kc : ir*kc+mr*kc]
		if transA {
			// op(A)[i,p] = a[p*lda+i]: each p is a contiguous run of rows.
			for p := 0; p < kc; p++ {
				dp := d[p*mr : p*mr+mr]
				copy(dp, a[(p0+p)*lda+i0+ir:][:rows])
				clear(dp[rows:])
			}
			continue
		}
		// op(A)[i,p] = a[i*lda+p]: interleave rows, writing d in order.
		base := (i0+ir)*lda + p0
		// packRows reads 8 rows for a 6-row panel: only where both extra
		// rows are in this block (not in the last panel).
		if rows == mr && (mr >= 8 || ir+8 <= mc) && packRows(dst[ir*kc:], a[base:], lda, kc, mr) {
			continue
		}
		if rows == 6 && mr == 6 {
			interleave6(d, a[base:], lda, kc)
			continue
		}
		for p := 0; p < kc; p++ {
			dp := d[p*mr : p*mr+mr]
			for r := 0; r < rows; r++ {
				dp[r] = a[base+r*lda+p]
			}
			clear(dp[rows:])
		}
	}
}

// interleave6 writes d[p*6+r] = a[r*lda+p] for r < 6, p < kc.
func interleave6(d, a []float32, lda, kc int) {
	r0 := a[0*lda:][:kc]
	r1 := a[1*lda:][:kc]
	r2 := a[2*lda:][:kc]
	r3 := a[3*lda:][:kc]
	r4 := a[4*lda:][:kc]
	r5 := a[5*lda:][:kc]
	d = d[:6*kc]
	for p := range r0 {
		dp := d[p*6 : p*6+6 : p*6+6]
		dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// interleave16 writes d[p*16+c] = b[c*ldb+p] for c < 16, p < kc.
func interleave16(d, b []float32, ldb, kc int) {
	var rows [16][]float32
	for c := range rows {
		rows[c] = b[c*ldb:][:kc]
	}
	d = d[:16*kc]
	for p := 0; p < kc; p++ {
		dp := d[p*16 : p*16+16 : p*16+16]
		for c := range dp {
			dp[c] = rows[c][p]
		}
	}
}

// transTail sets dst[p*ds+c] = src[c*ld+p] for p in [p0, p1), c in [c0, c1).
func transTail(dst, src []float32, ld, p0, p1, c0, c1, ds int) {
	for p := p0; p < p1; p++ {
		dp := dst[p*ds+c0 : p*ds+c1]
		for c := range dp {
			dp[c] = src[(c0+c)*ld+p]
		}
	}
}

// packBPanel packs panel q of block b: op(B)[pc:pc+kc, j:j+nr] with j =
// jc+q·nr, element (p, c) at p·nr + c, into the block's slot. Columns past
// the block are zero. With directB the one partial panel goes to the start
// of the slot.
func (w *gemmWork) packBPanel(b *gemmBlock, q int) {
	nr, kc := w.spec.nr, b.kc
	j := b.jc + q*nr
	cols := min(nr, b.jc+b.nc-j)
	off := w.panelOffset(b, q)
	d := b.bslot[off : off+kc*nr]
	packPanel(d, nr, w.transB, w.b, w.ldb, b.pc, kc, j, cols)
	if cols < nr {
		for p := 0; p < kc; p++ {
			clear(d[p*nr+cols : p*nr+nr])
		}
	}
}

// mergeTile adds the alpha-scaled scratch tile t into the rows×cols corner
// of C.
func mergeTile(c []float32, ldc int, t []float32, nr, rows, cols int, alpha, beta float32) {
	for r := 0; r < rows; r++ {
		cr := c[r*ldc : r*ldc+cols]
		tr := t[r*nr : r*nr+cols]
		if beta == 0 {
			for j := range cr {
				cr[j] = alpha * tr[j]
			}
			continue
		}
		for j := range cr {
			cr[j] = alpha*tr[j] + beta*cr[j]
		}
	}
}

// scaleC sets C = beta·C (beta 0: zeros, ignoring NaN).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// microGo4x4 is the pure-Go micro-kernel (mr = nr = 4), the twin of the
// assembly ones: same operand layout and strides, separate multiply and add.
func microGo4x4(k int, a []float32, aStep, aRow int, b []float32, bStep int, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	ia, ib := 0, 0
	for p := 0; p < k; p++ {
		a0, a1, a2, a3 := a[ia], a[ia+aRow], a[ia+2*aRow], a[ia+3*aRow]
		bb := b[ib : ib+4 : ib+4]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		ia += aStep
		ib += bStep
	}
	storeRow4(c[0:4:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(c[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	storeRow4(c[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	storeRow4(c[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

func storeRow4(c []float32, alpha, beta float32, v0, v1, v2, v3 float32) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	c[0] = alpha*v0 + beta*c[0]
	c[1] = alpha*v1 + beta*c[1]
	c[2] = alpha*v2 + beta*c[2]
	c[3] = alpha*v3 + beta*c[3]
}

// smallCols is the number of C columns in one smallM item.
const smallCols = 128

// smallM handles products with fewer rows than one micro-tile (m < mr,
// e.g. one token's projection, or one query's attention tile when decoding),
// where packing B would cost more than the product: each row of C is computed
// by rowsDot (with Bᵀ) or rowsAxpy (with B), see small.go. Column chunks run
// in parallel. A single-worker product with a non-transposed A does not get
// here: gemmBlocked calls smallGemm directly.
func (w *gemmWork) smallM(workers int) {
	if w.transA {
		w.arows = grow(w.arows, w.m*w.k)
		for i := 0; i < w.m; i++ {
			row := w.arows[i*w.k : (i+1)*w.k]
			for p := range row {
				row[p] = w.a[p*w.lda+i]
			}
		}
	}
	items := (w.n + smallCols - 1) / smallCols
	if workers > 1 && items > 1 {
		parallel.Run(items, &w.smallTask)
		return
	}
	w.smallRange(0, w.n)
}

// smallRun computes columns [it·smallCols, …) of every row of C.
func (w *gemmWork) smallRun(it int) {
	j0 := it * smallCols
	w.smallRange(j0, min(j0+smallCols, w.n))
}

// smallRange computes columns [j0, j1) of every row of C.
func (w *gemmWork) smallRange(j0, j1 int) {
	if w.pre != nil {
		w.smallPacked(j0, j1)
		return
	}
	a, lda := w.a, w.lda
	if w.transA {
		a, lda = w.arows, w.k
	}
	smallGemm(specLevel(w.spec), w.transB, w.m, w.k, j0, j1, w.alpha, a, lda, w.b, w.ldb, w.beta, w.c, w.ldc)
}

// specLevel is the vector level of a variant's kernels.
func specLevel(s *gemmSpec) int {
	switch s.id {
	case kernAVX2:
		return levelAVX2
	case kernAVX512:
		return levelAVX512
	}
	return levelGo
}

// smallPacked computes columns [j0, j1) (j0 a multiple of nr) of the few
// rows of C = alpha·A·B + beta·C against packed B: per depth block, one
// row times each panel, in memory order (rowsAxpy on a panel of nr
// columns).
func (w *gemmWork) smallPacked(j0, j1 int) {
	p, lv, nr := w.pre, specLevel(w.spec), w.spec.nr
	for pc := 0; pc < w.k; pc += p.kcStep {
		kc, blk := p.block(pc)
		beta := w.beta
		if pc > 0 {
			beta = 1
		}
		for j := j0; j < j1; j += nr {
			panel := blk[j*kc:][:kc*nr]
			cols := min(nr, j1-j)
			for i := 0; i < w.m; i++ {
				rowsAxpy(lv, w.a[i*w.lda+pc:][:kc], panel, nr, w.c[i*w.ldc+j:][:cols], w.alpha, beta)
			}
		}
	}
}
