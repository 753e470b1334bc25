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

type job struct {
	task Task
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

// work claims items until none remain.
func (j *job) work() {
	for {
		i := j.next.Add(1) - 1
		if i >= j.n {
			return
		}
		j.task.Run(int(i))
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
	global.start()
	j := jobCache.Get()
	j.task, j.n = task, int64(n)
	j.next.Store(0)
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
	j.task = nil
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
