//go:build !amd64 || purego

package kernel

// Without the assembly (other architectures, or -tags purego) only the
// pure-Go kernels exist; the functions below are never reached because
// vecLevel is levelGo and no assembly GEMM variant is Available.
const (
	haveAVX2   = false
	haveAVX512 = false
)

func microAsm(id int, k int, a *float32, aStep, aRow int, b *float32, bStep int, c *float32, ldc int, alpha, beta float32) {
	panic("kernel: no assembly micro-kernel in this build")
}

func dotAsm(level int, x, y *float32, n int) float32              { panic(noAsm) }
func axpyAsm(level int, alpha float32, x, y *float32, n int)      { panic(noAsm) }
func scaleAsm(level int, alpha float32, x *float32, n int)        { panic(noAsm) }
func maxAsm(level int, x *float32, n int) float32                 { panic(noAsm) }
func expShiftAsm(level int, x *float32, n int, s float32) float32 { panic(noAsm) }
func fmaPeakAsm(level int, n int) int                             { panic(noAsm) }
func softmaxGradAsm(p, dp *float32, n int, delta float32)         { panic(noAsm) }
func nonFiniteAsm(x *float32, n int) bool                         { panic(noAsm) }

func rowsDotAsm(a, b *float32, ldb, k, nb int, c *float32, alpha, beta float32)  { panic(noAsm) }
func rowsAxpyAsm(a, b *float32, ldb, k, nv int, c *float32, alpha, beta float32) { panic(noAsm) }

const noAsm = "kernel: no assembly vector kernels in this build"

func packTrans(dst, src []float32, ld, kc, nr int) bool { return false }

func packCopy(dst, src []float32, ld, kc, nr int) bool { return false }

func packRows(dst, src []float32, ld, kc, mr int) bool { return false }

func transRect(dst []float32, ds int, src []float32, ld, kc, nr int) bool { return false }

func normCDFAVX2(x, e *float32, ez, phi *float64, n int) { panic(noAsm) }
