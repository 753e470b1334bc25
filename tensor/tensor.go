package tensor

import (
	"fmt"
	"math"
	"strings"
)

// MaxElements bounds the number of elements any one tensor may hold: 2^36
// (256 GiB of float32) on 64-bit platforms, 2^28 on 32-bit ones. Shapes
// beyond it are rejected before anything is allocated, so a corrupt header
// cannot ask for absurd memory.
const MaxElements = 1 << (28 + 8*(^uint(0)>>63))

// Tensor is a strided float32 tensor. Element (i0, ..., in) lives at
// Data()[Offset() + Σ ik·Strides()[k]]. The zero value is not usable; make
// tensors with New, FromSlice or a view method.
type Tensor struct {
	data    []float32
	off     int
	shape   []int
	strides []int
}

// NumElements returns the product of shape, or an error when a dimension is
// negative or the product exceeds MaxElements.
func NumElements(shape ...int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: dimension %d of shape %v is negative", i, shape)
		}
		if d != 0 && n > MaxElements/d {
			return 0, fmt.Errorf("tensor: shape %v has more than %d elements", shape, MaxElements)
		}
		n *= d
	}
	return n, nil
}

// New returns a zero-filled contiguous tensor of the given shape. A shape
// over the memory budget (SetMemoryBudget) is an error.
func New(shape ...int) (*Tensor, error) {
	n, err := NumElements(shape...)
	if err != nil {
		return nil, err
	}
	if err := CheckBudget(fmt.Sprintf("tensor: shape %v", shape), n); err != nil {
		return nil, err
	}
	return &Tensor{data: make([]float32, n), shape: clone(shape), strides: rowMajor(shape)}, nil
}

// FromSlice wraps data (without copying) as a contiguous tensor of the given
// shape. len(data) must equal the product of shape.
func FromSlice(data []float32, shape ...int) (*Tensor, error) {
	n, err := NumElements(shape...)
	if err != nil {
		return nil, err
	}
	if len(data) != n {
		return nil, fmt.Errorf("tensor: %d values do not fill shape %v (%d elements)", len(data), shape, n)
	}
	return &Tensor{data: data, shape: clone(shape), strides: rowMajor(shape)}, nil
}

// Must returns t, and panics if err is not nil. It is meant for shapes the
// caller has already validated (tests, internal buffers).
func Must(t *Tensor, err error) *Tensor {
	if err != nil {
		panic(err)
	}
	return t
}

func rowMajor(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

func clone(s []int) []int { return append([]int(nil), s...) }

// Shape returns a copy of the tensor's shape.
func (t *Tensor) Shape() []int { return clone(t.shape) }

// Strides returns a copy of the tensor's strides, in elements.
func (t *Tensor) Strides() []int { return clone(t.strides) }

// Stride returns the stride of dimension i, in elements.
func (t *Tensor) Stride(i int) int { return t.strides[i] }

// Dim returns the size of dimension i.
func (t *Tensor) Dim(i int) int { return t.shape[i] }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len returns the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// Data returns the backing slice (shared, not copied). For a view it holds
// more than the view's elements: index it with Offset and Strides.
func (t *Tensor) Data() []float32 { return t.data }

// Offset returns the index in Data of the element at all-zero indices.
func (t *Tensor) Offset() int { return t.off }

// IsContiguous reports whether the elements are packed row-major with no gaps,
// so that Values() is a plain reslice of Data.
func (t *Tensor) IsContiguous() bool {
	acc := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != acc {
			return false
		}
		acc *= t.shape[i]
	}
	return true
}

// Span returns the storage the elements occupy when, taken in some order
// of the dimensions, they fill one run of Data without gaps: a contiguous
// tensor, a permutation of one, or the heads [B,H,T,Dh] viewed out of a
// whole [B,T,H·Dh] buffer. Order-free reductions (a finiteness check, a
// sum) can then run over the slice. ok is false for views with gaps
// (a narrowed dimension, every third column of a packed q|k|v buffer).
func (t *Tensor) Span() (span []float32, ok bool) {
	n := t.Len()
	if n == 0 {
		return t.data[:0], true
	}
	// The dimensions of size > 1 by increasing stride (insertion sort on
	// the stack: ranks are small, and callers check outputs per call
	// without allocating).
	type dim struct{ size, stride int }
	var arr [8]dim
	ds := arr[:0]
	for i, sz := range t.shape {
		if sz <= 1 {
			continue
		}
		ds = append(ds, dim{sz, t.strides[i]})
		for j := len(ds) - 1; j > 0 && ds[j].stride < ds[j-1].stride; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
	want := 1
	for _, d := range ds {
		if d.stride != want {
			return nil, false
		}
		want *= d.size
	}
	return t.data[t.off : t.off+n : t.off+n], true
}

// RowContiguous reports whether the innermost dimension has stride 1 (or
// size 1), which is what kernels need to treat each row as a slice.
func (t *Tensor) RowContiguous() bool {
	r := len(t.shape)
	return r == 0 || t.shape[r-1] <= 1 || t.strides[r-1] == 1
}

// Values returns the elements in row-major order. For a contiguous tensor it
// is a slice of Data (shared); otherwise it is a fresh copy.
func (t *Tensor) Values() []float32 {
	if t.IsContiguous() {
		return t.data[t.off : t.off+t.Len()]
	}
	out := make([]float32, 0, t.Len())
	t.forEach(func(i int) { out = append(out, t.data[i]) })
	return out
}

// forEach calls f with the Data index of every element in row-major order.
func (t *Tensor) forEach(f func(int)) {
	if t.Len() == 0 {
		return
	}
	idx := make([]int, len(t.shape))
	for {
		p := t.off
		for k, i := range idx {
			p += i * t.strides[k]
		}
		f(p)
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < t.shape[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// Clone returns a contiguous copy of t.
func (t *Tensor) Clone() *Tensor {
	v := t.Values()
	if t.IsContiguous() {
		v = append([]float32(nil), v...)
	}
	return &Tensor{data: v, shape: clone(t.shape), strides: rowMajor(t.shape)}
}

// Contiguous returns t itself when it is contiguous, else a contiguous copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

func (t *Tensor) index(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor: %d indices for rank-%d tensor of shape %v", len(idx), len(t.shape), t.shape))
	}
	p := t.off
	for k, i := range idx {
		if i < 0 || i >= t.shape[k] {
			panic(fmt.Sprintf("tensor: index %v out of range for shape %v", idx, t.shape))
		}
		p += i * t.strides[k]
	}
	return p
}

// At returns the element at the given indices. It panics if they are out of
// range.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.index(idx)] }

// Set stores v at the given indices. It panics if they are out of range.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.index(idx)] = v }

// Row returns the innermost row at the given leading indices (rank-1 of them)
// as a slice of Data. t must be RowContiguous.
func (t *Tensor) Row(idx ...int) []float32 {
	r := len(t.shape)
	if len(idx) != r-1 {
		panic(fmt.Sprintf("tensor: Row needs %d indices for shape %v, got %d", r-1, t.shape, len(idx)))
	}
	if !t.RowContiguous() {
		panic("tensor: Row on a tensor whose innermost stride is not 1")
	}
	p := t.off
	for k, i := range idx {
		if i < 0 || i >= t.shape[k] {
			panic(fmt.Sprintf("tensor: row index %v out of range for shape %v", idx, t.shape))
		}
		p += i * t.strides[k]
	}
	return t.data[p : p+t.shape[r-1] : p+t.shape[r-1]]
}

// Reshape returns a tensor sharing t's data with a new shape. One dimension
// may be -1 and is then inferred. t must be contiguous.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if !t.IsContiguous() {
		return nil, fmt.Errorf("tensor: cannot reshape non-contiguous tensor of shape %v (use Contiguous first)", t.shape)
	}
	shape = clone(shape)
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("tensor: invalid reshape %v of shape %v", shape, t.shape)
		default:
			known *= d
		}
	}
	n := t.Len()
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("tensor: cannot reshape shape %v (%d elements) to %v", t.shape, n, shape)
		}
		shape[infer] = n / known
	}
	if m, err := NumElements(shape...); err != nil || m != n {
		return nil, fmt.Errorf("tensor: cannot reshape shape %v (%d elements) to %v", t.shape, n, shape)
	}
	return &Tensor{data: t.data, off: t.off, shape: shape, strides: rowMajor(shape)}, nil
}

// Permute returns a view with dimensions reordered: dimension i of the result
// is dimension perm[i] of t.
func (t *Tensor) Permute(perm ...int) (*Tensor, error) {
	if len(perm) != len(t.shape) {
		return nil, fmt.Errorf("tensor: permutation %v has %d entries for rank-%d shape %v", perm, len(perm), len(t.shape), t.shape)
	}
	seen := make([]bool, len(perm))
	shape := make([]int, len(perm))
	strides := make([]int, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			return nil, fmt.Errorf("tensor: %v is not a permutation of %d dimensions", perm, len(perm))
		}
		seen[p] = true
		shape[i], strides[i] = t.shape[p], t.strides[p]
	}
	return &Tensor{data: t.data, off: t.off, shape: shape, strides: strides}, nil
}

// Narrow returns a view of t restricted to indices [start, start+length) of
// dimension dim.
func (t *Tensor) Narrow(dim, start, length int) (*Tensor, error) {
	if dim < 0 || dim >= len(t.shape) {
		return nil, fmt.Errorf("tensor: dimension %d out of range for shape %v", dim, t.shape)
	}
	if start < 0 || length < 0 || start > t.shape[dim]-length {
		return nil, fmt.Errorf("tensor: range [%d,%d) out of bounds for dimension %d of shape %v", start, start+length, dim, t.shape)
	}
	shape := clone(t.shape)
	shape[dim] = length
	off := t.off
	if length > 0 {
		off += start * t.strides[dim]
	}
	return &Tensor{data: t.data, off: off, shape: shape, strides: clone(t.strides)}, nil
}

// Select returns the view at index i of dimension dim, with that dimension
// removed.
func (t *Tensor) Select(dim, i int) (*Tensor, error) {
	n, err := t.Narrow(dim, i, 1)
	if err != nil {
		return nil, err
	}
	n.shape = append(n.shape[:dim], n.shape[dim+1:]...)
	n.strides = append(n.strides[:dim], n.strides[dim+1:]...)
	return n, nil
}

// CopyFrom copies src's elements into t, both taken in row-major order. The
// shapes must match.
func (t *Tensor) CopyFrom(src *Tensor) error {
	if !SameShape(t.shape, src.shape) {
		return fmt.Errorf("tensor: copy from shape %v into shape %v", src.shape, t.shape)
	}
	v := src.Values()
	k := 0
	t.forEach(func(i int) { t.data[i] = v[k]; k++ })
	return nil
}

// FirstNonFinite returns the indices of the first NaN or ±Inf element in
// row-major order and true, or nil and false when every element is finite.
func (t *Tensor) FirstNonFinite() ([]int, bool) {
	if t.IsContiguous() {
		for i, v := range t.Values() {
			if v-v != 0 { // NaN - NaN and Inf - Inf are NaN; finite x - x is 0
				return Unravel(i, t.shape), true
			}
		}
		return nil, false
	}
	if t.RowContiguous() && len(t.shape) > 0 {
		// Row by row: a strided view (a head of a packed buffer) is still
		// contiguous along its last dimension.
		r := len(t.shape) - 1
		n := t.shape[r]
		if t.Len() == 0 {
			return nil, false
		}
		idx := make([]int, r)
		for {
			p := t.off
			for k, i := range idx {
				p += i * t.strides[k]
			}
			for j, v := range t.data[p : p+n] {
				if v-v != 0 {
					return append(idx, j), true
				}
			}
			k := r - 1
			for ; k >= 0; k-- {
				if idx[k]++; idx[k] < t.shape[k] {
					break
				}
				idx[k] = 0
			}
			if k < 0 {
				return nil, false
			}
		}
	}
	k := 0
	found := -1
	t.forEach(func(i int) {
		if found < 0 {
			f := float64(t.data[i])
			if math.IsNaN(f) || math.IsInf(f, 0) {
				found = k
			}
		}
		k++
	})
	if found < 0 {
		return nil, false
	}
	return Unravel(found, t.shape), true
}

// Unravel turns a row-major flat index into per-dimension indices.
func Unravel(flat int, shape []int) []int {
	idx := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] > 0 {
			idx[i] = flat % shape[i]
			flat /= shape[i]
		}
	}
	return idx
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// String describes the tensor's shape, e.g. "Tensor[2 3 4]".
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.shape) }

// ShapeError reports an argument whose shape is not the one wanted. Want
// holds -1 for a dimension that may be anything; Names labels the wanted
// dimensions (e.g. B, T, D) when known.
type ShapeError struct {
	Arg   string
	Got   []int
	Want  []int
	Names []string
}

func (e *ShapeError) Error() string {
	var w strings.Builder
	w.WriteByte('[')
	for i, d := range e.Want {
		if i > 0 {
			w.WriteByte(' ')
		}
		name := ""
		if i < len(e.Names) {
			name = e.Names[i]
		}
		switch {
		case d < 0 && name != "":
			w.WriteString(name)
		case d < 0:
			w.WriteByte('?')
		case name != "":
			fmt.Fprintf(&w, "%s=%d", name, d)
		default:
			fmt.Fprintf(&w, "%d", d)
		}
	}
	w.WriteByte(']')
	return fmt.Sprintf("%s has shape %v, want %s", e.Arg, e.Got, w.String())
}

// CheckShape returns a *ShapeError naming arg when t's shape does not match
// want (-1 matches any size). names labels the dimensions in the message. A
// nil t is reported as missing.
func CheckShape(arg string, t *Tensor, want []int, names ...string) error {
	if t == nil {
		return fmt.Errorf("%s is missing", arg)
	}
	ok := len(t.shape) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] < 0 || want[i] == t.shape[i]
	}
	if ok {
		return nil
	}
	return &ShapeError{Arg: arg, Got: t.Shape(), Want: clone(want), Names: append([]string(nil), names...)}
}

// View wraps data (without copying) as a strided tensor: element
// (i0, ..., in) is data[off + Σ ik·strides[k]]. Strides must be
// non-negative, and every element must lie inside data; an empty shape
// (a 0 dimension) needs no data. It is how a kernel's flat buffer, such as
// the columns of one head in a packed [T, 3D] projection, becomes a tensor.
func View(data []float32, off int, shape, strides []int) (*Tensor, error) {
	if len(shape) != len(strides) {
		return nil, fmt.Errorf("tensor: view shape %v and strides %v differ in rank", shape, strides)
	}
	n, err := NumElements(shape...)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("tensor: view offset %d is negative", off)
	}
	last := off
	for i, s := range strides {
		if s < 0 {
			return nil, fmt.Errorf("tensor: view stride %d of %v is negative", i, strides)
		}
		if n > 0 {
			if s > 0 && shape[i]-1 > (MaxElements-last)/s {
				return nil, fmt.Errorf("tensor: view shape %v with strides %v spans more than %d elements", shape, strides, MaxElements)
			}
			last += (shape[i] - 1) * s
		}
	}
	if n > 0 && last >= len(data) {
		return nil, fmt.Errorf("tensor: view shape %v strides %v at offset %d needs %d values, have %d", shape, strides, off, last+1, len(data))
	}
	return &Tensor{data: data, off: off, shape: clone(shape), strides: clone(strides)}, nil
}
