// Package tensor holds dense float32 tensors: a flat []float32, a shape and
// per-dimension strides (in elements).
//
// A freshly made tensor is contiguous and row-major: the last dimension varies
// fastest. Views made by Narrow, Select and Permute share the backing slice
// and only change shape, strides and starting offset, so the heads of a
// [B,T,D] activation can be addressed as a [B,H,T,Dh] view without copying:
//
//	x, _ := tensor.New(B, T, D)
//	heads, _ := x.Reshape(B, T, H, D/H) // [B,T,H,Dh], still contiguous
//	q := heads.Permute(0, 2, 1, 3)      // [B,H,T,Dh] view, strides [T*D, Dh, D, 1]
//
// Kernels take a tensor's Data slice, its offsets and its strides; they never
// need a transposed copy as long as the innermost stride is 1 (see
// RowContiguous).
//
// Constructors and reshapes check their arguments and return errors that
// name the shape seen and the shape wanted. Element accessors (At, Set) panic
// on an out-of-range index, like slice indexing does: that is a bug in the
// caller, not bad input.
package tensor
