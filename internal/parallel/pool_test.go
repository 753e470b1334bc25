package parallel

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type counter struct {
	hits []atomic.Int32
}

func (c *counter) Run(i int) { c.hits[i].Add(1) }

func TestRunCoversEveryItemOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
		c := &counter{hits: make([]atomic.Int32, n)}
		Run(n, c)
		for i := range c.hits {
			if h := c.hits[i].Load(); h != 1 {
				t.Fatalf("n=%d: item %d ran %d times", n, i, h)
			}
		}
	}
}

// slotCounter records each item's slot and, per slot, whether two
// goroutines ever held it at once.
type slotCounter struct {
	hits  []atomic.Int32
	slot  []atomic.Int32
	busy  []atomic.Int32
	clash atomic.Bool
}

func (c *slotCounter) RunSlot(slot, i int) {
	if c.busy[slot].Add(1) != 1 {
		c.clash.Store(true)
	}
	c.hits[i].Add(1)
	c.slot[i].Store(int32(slot))
	time.Sleep(10 * time.Microsecond) // let the other goroutines take items too
	c.busy[slot].Add(-1)
}

// RunSlots covers every item once, with slots in [0, Workers()) that no
// two goroutines hold at the same time.
func TestRunSlots(t *testing.T) {
	w := Workers()
	for _, n := range []int{0, 1, 2, 3, 7, 64, 500} {
		c := &slotCounter{hits: make([]atomic.Int32, n), slot: make([]atomic.Int32, n), busy: make([]atomic.Int32, w)}
		RunSlots(n, c)
		for i := range c.hits {
			if h := c.hits[i].Load(); h != 1 {
				t.Fatalf("n=%d: item %d ran %d times", n, i, h)
			}
			if s := c.slot[i].Load(); s < 0 || int(s) >= w {
				t.Fatalf("n=%d: item %d got slot %d, want [0, %d)", n, i, s, w)
			}
		}
		if c.clash.Load() {
			t.Fatalf("n=%d: two goroutines held one slot at once", n)
		}
	}
}

// Nested Run calls (a task that itself runs a parallel loop) must finish:
// the pool never waits for a busy worker.
func TestNestedRunDoesNotDeadlock(t *testing.T) {
	done := make(chan struct{})
	var total atomic.Int64
	go func() {
		Run(8, Func(func(i int) {
			Run(8, Func(func(j int) { total.Add(1) }))
		}))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("nested Run deadlocked")
	}
	if total.Load() != 64 {
		t.Fatalf("ran %d inner items, want 64", total.Load())
	}
}

func TestConcurrentRuns(t *testing.T) {
	errs := make(chan int, 16)
	for g := 0; g < 16; g++ {
		go func() {
			c := &counter{hits: make([]atomic.Int32, 100)}
			Run(100, c)
			bad := 0
			for i := range c.hits {
				if c.hits[i].Load() != 1 {
					bad++
				}
			}
			errs <- bad
		}()
	}
	for g := 0; g < 16; g++ {
		if bad := <-errs; bad != 0 {
			t.Fatalf("%d items not run exactly once", bad)
		}
	}
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	c := &counter{hits: make([]atomic.Int32, 64)}
	Run(64, c) // warm the pool and the job cache
	if a := testing.AllocsPerRun(100, func() { Run(64, c) }); a != 0 {
		t.Fatalf("Run allocates %v times per call", a)
	}
}

func TestShutdownLeavesNoGoroutines(t *testing.T) {
	Shutdown()
	// Counted by their stacks, not by runtime.NumGoroutine: a worker
	// that has signalled its exit may still be returning when Shutdown
	// returns, and other goroutines of the test binary come and go.
	waitWorkers(t, 0)
	Run(10, &counter{hits: make([]atomic.Int32, 10)})
	if got, want := poolGoroutines(), Workers()-1; got != want {
		t.Fatalf("pool runs %d goroutines, want %d (GOMAXPROCS-1)", got, want)
	}
	Shutdown()
	waitWorkers(t, 0)
}

// poolGoroutines counts the pool's worker goroutines, started or not yet
// scheduled, by the function that created them.
func poolGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			count := 0
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				// "created by …/internal/parallel.(*pool).start.func1", or with
				// start inlined into its caller "…/parallel.run.(*pool).start.func1".
				if strings.HasPrefix(line, "created by github.com/attn-go/attn/internal/parallel.") && strings.Contains(line, "(*pool).start") {
					count++
				}
			}
			return count
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitWorkers waits (up to 5 s) for the pool to run n worker goroutines.
func waitWorkers(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for poolGoroutines() != n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := poolGoroutines(); got != n {
		t.Fatalf("%d worker goroutines after Shutdown, want %d", got, n)
	}
}

// A Cache keeps its values across garbage collections (sync.Pool does not),
// so steady-state reuse does not depend on GC timing.
func TestCacheSurvivesGC(t *testing.T) {
	made := 0
	c := NewCache(func() *[64]float32 { made++; return new([64]float32) })
	v := c.Get()
	c.Put(v)
	runtime.GC()
	runtime.GC()
	if got := c.Get(); got != v || made != 1 {
		t.Fatalf("value not recycled across GC (made %d)", made)
	}
	if a := testing.AllocsPerRun(100, func() { c.Put(c.Get()) }); a != 0 {
		t.Fatalf("Get/Put allocate %v times", a)
	}
}
