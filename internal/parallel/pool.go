package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Task is a loop body: Run(i) processes item i. Items of one Run call may
// execute concurrently and in any order.
type Task interface {
	Run(i int)
}

// Func adapts a function to a Task. Converting a closure allocates; hot
// paths should pass a long-lived Task instead.
type Func func(i int)

// Run calls f(i).
func (f Func) Run(i int) { f(i) }

// SlotTask is a loop body that is also told which of the goroutines
// working on its Run call it is: RunSlot(slot, i) processes item i, and
// slot is in [0, Workers()), the same for every item one goroutine runs
// and never shared by two goroutines of one call. Per-slot scratch (a
// cache of packed operands, say) therefore needs no locking and is reused
// across the items a goroutine processes.
type SlotTask interface {
	RunSlot(slot, i int)
}

type job struct {
	task  Task
	stask SlotTask
	n     int64
	next  atomic.Int64
	slots atomic.Int64
	wg    sync.WaitGroup
}

// work claims items until none remain.
func (j *job) work() {
	slot := int(j.slots.Add(1) - 1)
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		if j.stask != nil {
			j.stask.RunSlot(slot, int(i))
		} else {
			j.task.Run(int(i))
		}
	}
}

type pool struct {
	once    sync.Once
	workers int
	jobs    chan *job
	quit    chan struct{}
	done    sync.WaitGroup
}

var (
	global   pool
	jobCache = NewCache(func() *job { return new(job) })
)

func (p *pool) start() {
	p.once.Do(func() {
		p.workers = max(runtime.GOMAXPROCS(0)-1, 0)
		p.jobs = make(chan *job)
		p.quit = make(chan struct{})
		p.done.Add(p.workers)
		for w := 0; w < p.workers; w++ {
			go p.loop()
		}
	})
}

func (p *pool) loop() {
	defer p.done.Done()
	for {
		select {
		case j := <-p.jobs:
			j.work()
			j.wg.Done()
		case <-p.quit:
			return
		}
	}
}

// Workers returns how many goroutines can work on one Run at most: the
// caller plus the pool's workers.
func Workers() int {
	global.start()
	return global.workers + 1
}

// Run calls task.Run(i) for i in [0, n) on the caller and idle workers and
// returns when every item is done. n <= 0 does nothing.
func Run(n int, task Task) {
	if n <= 0 {
		return
	}
	if n == 1 {
		task.Run(0)
		return
	}
	run(n, task, nil)
}

// RunSlots is Run for a SlotTask: it calls task.RunSlot(slot, i) for i in
// [0, n), with slot identifying the goroutine (see SlotTask).
func RunSlots(n int, task SlotTask) {
	if n <= 0 {
		return
	}
	if n == 1 {
		task.RunSlot(0, 0)
		return
	}
	run(n, nil, task)
}

func run(n int, task Task, stask SlotTask) {
	global.start()
	j := jobCache.Get()
	j.task, j.stask, j.n = task, stask, int64(n)
	j.next.Store(0)
	j.slots.Store(0)
	// Hand the job to workers that are idle right now (an unbuffered send
	// succeeds only into a waiting receiver); never wait for a busy one.
	for w := 0; w < global.workers && w < n-1; w++ {
		j.wg.Add(1)
		select {
		case global.jobs <- j:
		default:
			j.wg.Done()
			w = global.workers // nobody idle: stop offering
		}
	}
	j.work()
	j.wg.Wait()
	j.task, j.stask = nil, nil
	jobCache.Put(j)
}

// Shutdown stops the pool's workers and waits for them to exit; a later Run
// starts a fresh pool. It is for tests and for programs that must end with
// no goroutines of attn's running. Run must not be in progress.
func Shutdown() {
	global.start()
	close(global.quit)
	global.done.Wait()
	global = pool{}
}
