package tokenizer

import "container/heap"

// mergeFunc reports whether the adjacent tokens a, b merge, into which id,
// and the merge's priority key: the lowest key merges first.
type mergeFunc func(a, b int) (merged int, key float64, ok bool)

type candidate struct {
	key         float64
	left, right int32 // node positions; left orders ties
	lid, rid    int32 // the ids the nodes held when the candidate was made
	merged      int32
}

type candHeap []candidate

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].left < h[j].left
}
func (h candHeap) Swap(i, j int)    { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)      { *h = append(*h, x.(candidate)) }
func (h *candHeap) Pop() any        { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }
func (h *candHeap) add(c candidate) { heap.Push(h, c) }

// applyMerges repeatedly merges the adjacent pair with the lowest key, the
// leftmost one among equal keys, until no pair merges. That is the rule of
// both llama2.c's encode (highest score, first on ties) and Hugging Face's
// BPE (lowest rank, leftmost first), computed with a heap instead of
// rescanning the sequence after every merge, so a long input costs
// O(n log n) instead of O(n²). A heap entry whose nodes have changed since
// it was made is skipped, and every pair that becomes adjacent is pushed,
// so the entry taken is always the best pair of the current sequence.
// ids is overwritten; the result aliases it.
func applyMerges(ids []int, f mergeFunc) []int {
	n := len(ids)
	if n < 2 {
		return ids
	}
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range n {
		next[i] = int32(i + 1)
		prev[i] = int32(i - 1)
	}
	next[n-1] = -1
	h := make(candHeap, 0, n)
	try := func(l, r int32) {
		if m, k, ok := f(ids[l], ids[r]); ok {
			h = append(h, candidate{key: k, left: l, right: r, lid: int32(ids[l]), rid: int32(ids[r]), merged: int32(m)})
		}
	}
	for i := int32(0); i+1 < int32(n); i++ {
		try(i, i+1)
	}
	heap.Init(&h)
	push := func(l, r int32) {
		if m, k, ok := f(ids[l], ids[r]); ok {
			h.add(candidate{key: k, left: l, right: r, lid: int32(ids[l]), rid: int32(ids[r]), merged: int32(m)})
		}
	}
	for h.Len() > 0 {
		c := heap.Pop(&h).(candidate)
		// A dead node holds -1, never a valid id, so the id checks also
		// reject entries whose nodes were merged away.
		if next[c.left] != c.right || ids[c.left] != int(c.lid) || ids[c.right] != int(c.rid) {
			continue
		}
		ids[c.left] = int(c.merged)
		ids[c.right] = -1
		nx := next[c.right]
		next[c.left] = nx
		if nx >= 0 {
			prev[nx] = c.left
		}
		if p := prev[c.left]; p >= 0 {
			push(p, c.left)
		}
		if nx >= 0 {
			push(c.left, nx)
		}
	}
	out := ids[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}
