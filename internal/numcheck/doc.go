// Package numcheck holds, once, the numeric comparisons of attn's tests: the
// relative L2 and max abs errors of a result against its float64 reference
// (DESIGN.md, "Numerics"), the check of an error against a tolerance, the
// golden bound against PyTorch float32's own error on the same case, and a
// table that prints the golden rows of a package.
//
// The contract: a comparison that cannot be made fails, it never passes.
//
//   - Measure returns +Inf errors, and says why in Errors.Bad, when the
//     result or the reference holds a NaN or an infinity, when their lengths
//     differ, or when their squares overflow float64. A +Inf fails every
//     bound, even one checked the NaN-blind way (x > tol).
//   - Exceeds(x, tol) is !(x <= tol): true for a NaN x, where x > tol is
//     false; Below(x, min) is !(x >= min). Every check of the package is
//     written this way; Check and Require also fail on Errors.Bad whatever
//     the bound.
//   - Worse keeps a NaN, once seen, as the worst of a running maximum, where
//     "if e > worst { worst = e }" drops it.
//
// Errors are ‖got − ref‖₂/‖ref‖₂ (‖got − ref‖₂ when the reference is all
// zero, so an exact zero result passes) and max |got − ref|, summed in
// float64 in index order.
//
// The golden bound (Golden) is the project-wide rule of the PyTorch golden
// tests: attn's relative error at most twice PyTorch float32's on the same
// case plus half a float32 ulp (2^-24, the error of the float64 reference
// itself once rounded to float32, the floor when PyTorch happens to be
// exact), and its max abs error at most four times PyTorch's plus 2^-24 of
// the largest reference value (a guard against an error concentrated in a
// few elements, which a norm can hide). GoldenRel is the relative half alone,
// with a stated slack, for the tests that hold only that.
//
// The helpers take a TB (Helper, Errorf, Fatalf), which *testing.T and
// *testing.B satisfy, so the package's own test can hand them a recorder.
// The package imports nothing of attn and is imported only by tests.
package numcheck
