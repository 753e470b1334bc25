package tokenizer

// mergeFunc reports whether the adjacent tokens a, b merge, into which id,
// and the merge's priority key: the lowest key merges first.
type mergeFunc func(a, b int) (merged int, key float64, ok bool)

type candidate struct {
	key         float64
	left, right int32 // node positions; left orders ties
	lid, rid    int32 // the ids the nodes held when the candidate was made
	merged      int32
}

// candHeap is a binary min-heap of candidates by (key, left), written out
// rather than through container/heap so that the comparisons inline: the
// merge loop is most of a long word's encoding.
type candHeap []candidate

func (h candHeap) less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].left < h[j].left
}

func (h candHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (h candHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

func (h *candHeap) init() {
	for i := len(*h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *candHeap) add(c candidate) {
	*h = append(*h, c)
	h.up(len(*h) - 1)
}

func (h *candHeap) pop() candidate {
	o := *h
	top := o[0]
	n := len(o) - 1
	o[0] = o[n]
	*h = o[:n]
	h.down(0)
	return top
}

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
	h.init()
	push := func(l, r int32) {
		if m, k, ok := f(ids[l], ids[r]); ok {
			h.add(candidate{key: k, left: l, right: r, lid: int32(ids[l]), rid: int32(ids[r]), merged: int32(m)})
		}
	}
	for len(h) > 0 {
		c := h.pop()
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
