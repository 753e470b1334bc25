// Package parallel is attn's worker pool: a fixed set of persistent
// goroutines, sized by GOMAXPROCS when first used, that split loops of
// independent items.
//
// Run(n, task) calls task.Run(i) for every i in [0, n), spreading the items
// over the calling goroutine and whichever pool workers are idle at that
// moment, and returns when all are done. Items are claimed one at a time
// from a shared counter, so uneven items (causal attention tiles) balance
// themselves.
//
// RunSlots is Run for a SlotTask, which is also told which goroutine (slot)
// runs each item, so per-goroutine scratch needs no locking. Cache keeps
// workspaces between calls, across garbage collections.
//
// Run never blocks waiting for a busy worker: a Run issued from inside a
// task (nested parallelism), or while other goroutines keep the workers
// busy, simply runs more of its items on the caller. There is no deadlock
// and no goroutine is started per call. Steady-state calls do not allocate
// when task is a pointer the caller keeps (a pre-sized workspace).
package parallel
