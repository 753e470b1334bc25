// Package kernel holds the hot loops of attn: matrix multiply (Gemm), the
// fully connected layer (Linear), dot products and a numerically stable
// softmax, on flat []float32 operands with explicit leading dimensions.
//
// Operands are row-major. A matrix argument is a slice plus a leading
// dimension (the distance, in elements, between the starts of two rows), so a
// kernel can work on a head sliced out of a [B,T,D] buffer, or on a block of
// rows of a packed weight matrix, without copying.
//
// Every kernel here has a plain, readable reference form (GemmRef,
// SoftmaxRef, and the pure-Go twins dotGo, expShiftGo, ...). The fast
// variants are tested against these twins on odd sizes and selected behind
// the same exported entry points, so callers never change:
//
//   - Gemm is BLIS-style: packed, cache-blocked, register-blocked micro-kernels
//     in avo-generated assembly (AVX2+FMA 6×16, AVX-512F 14×32, chosen at run
//     time with golang.org/x/sys/cpu), a pure-Go micro-kernel otherwise and
//     under -tags purego, and internal/parallel for threads. GemmSerial is the
//     same on the calling goroutine. GemmVariants and SetGemmVariant expose the
//     variants ("ref", "purego", "avx2", "avx512") to tests, benchmarks and
//     the CLI. Tiles hands fused kernels (attention) the bare micro-kernel:
//     they pack their operands once and run whole micro-tiles. Products of
//     at most 128 rows against a B 16 times wider (a short prompt through a
//     Linear layer) read B in place, A·Bᵀ as (B·Aᵀ)ᵀ, with the same result
//     bit for bit.
//   - PackB packs a weight used by many products once (PackedB, from one or
//     more column blocks in either stored layout); GemmPacked and
//     LinearPacked multiply by it with no per-call packing, and one-row
//     products stream its panels in memory order. The models package packs
//     every projection at load.
//   - Dot, Axpy, ScaleInPlace, MaxOf and ExpShift (a polynomial exp within
//     2 ulp) have AVX2 and AVX-512 forms; Softmax uses them. AllFinite checks
//     an output for NaN and ±Inf without a branch per element. SoftmaxGrad is
//     one row of the softmax backward. NormCDF gives the standard normal
//     CDF and e^(−x²/2) in float64 for the erf GELU (an erfcx polynomial on
//     the vector exp, four float64 lanes at a time with AVX2).
//   - PeakGFLOPS measures the FMA peak that benchmarks compare against.
//
// docs/gemm.md describes the algorithm, the generated assembly
// (kernel/_asm, `go generate`, kernel/_asm/check.sh) and the measurements.
//
// Panics: like gonum's BLAS, the exported kernels panic on inconsistent
// sizes (a slice too short for the stated sizes, a leading dimension below
// the row width), with a "kernel: " message naming the argument, before any
// assembly runs; they never return errors. Such sizes are programming
// errors inside attn: the public packages (attention, nn, models) validate
// user input and return errors before calling in. panic_test.go holds every
// entry point to this.
package kernel
