// Package kernel holds the hot loops of attn: matrix multiply (Gemm), the
// fully connected layer (Linear), dot products and a numerically stable
// softmax, on flat []float32 operands with explicit leading dimensions.
//
// Operands are row-major. A matrix argument is a slice plus a leading
// dimension (the distance, in elements, between the starts of two rows), so a
// kernel can work on a head sliced out of a [B,T,D] buffer, or on a block of
// rows of a packed weight matrix, without copying.
//
// Every kernel here has a plain, readable reference form (the *Ref
// functions). Faster variants, when added, are tested against these twins on
// odd sizes and selected behind the same exported entry points, so callers
// never change.
//
// Argument errors in this package (slices too short for the stated sizes)
// are programming errors inside attn and panic; public packages validate
// user input before calling in.
package kernel
