package parallel

import "runtime"

// Cache recycles scratch values (workspaces, job records) between calls.
//
// Unlike sync.Pool it keeps its contents across garbage collections:
// sync.Pool empties itself at every GC, so whether a steady-state call
// allocated would depend on GC timing. A Cache holds at most a fixed number
// of values (enough for every worker plus callers); beyond that, Put drops
// the value and Get makes a new one. Get and Put never block and do not
// allocate when the value is recycled.
type Cache[T any] struct {
	free    chan *T
	newItem func() *T
}

// NewCache returns a cache that makes values with newItem when empty. It
// holds up to max(16, 2·GOMAXPROCS) values.
func NewCache[T any](newItem func() *T) *Cache[T] {
	return &Cache[T]{free: make(chan *T, max(16, 2*runtime.GOMAXPROCS(0))), newItem: newItem}
}

// Get returns a recycled value, or a new one.
func (c *Cache[T]) Get() *T {
	select {
	case v := <-c.free:
		return v
	default:
		return c.newItem()
	}
}

// Put hands v back for reuse; it is dropped when the cache is full.
func (c *Cache[T]) Put(v *T) {
	select {
	case c.free <- v:
	default:
	}
}
