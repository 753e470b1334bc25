// Command _asm generates attn's amd64 kernels with avo: the GEMM
// micro-kernels, the small-m row kernels (rowsDot, rowsAxpy), the vector kernels (Dot, Axpy, MaxOf, ExpShift,
// ScaleInPlace) and the FMA peak probe, each for AVX2+FMA and AVX-512F.
//
// It lives in its own module so that avo is not a dependency of attn. Run it
// through `go generate` in kernel/ (see kernel/gen.go), or check the
// committed output with ./check.sh.
//
// Usage: go run . -dir DIR   (writes DIR/kernel_amd64.s and DIR/kernel_amd64_stubs.go)
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

// argv is written into the generated files' "Code generated" header. It is
// fixed (not os.Args) so that regenerating into another directory, as
// check.sh does, gives byte-identical files.
var argv = []string{"go", "generate", "(kernel/gen.go:", "go", "run", "-C", "_asm", ".", "-dir", "..)"}

func main() {
	dir := flag.String("dir", "..", "output directory (the kernel package)")
	flag.Parse()
	log.SetFlags(0)

	g := build.NewContext()
	g.ConstraintExpr("amd64,!purego")
	genConstants(g)
	genPackTrans(g)
	genPackCopy(g)
	genTailMask(g)
	genRowsDot(g)
	genRowsAxpy(g)
	genNonFinite(g)
	genNormCDF(g)
	for _, s := range []isa{avx2, avx512} {
		genMicroKernel(g, s)
		genVec(g, s)
		genPeak(g, s)
	}

	f, err := g.Result()
	if err != nil {
		log.Fatal(err)
	}
	cfg := printer.Config{Argv: argv, Pkg: "kernel"}
	var asm, stubs bytes.Buffer
	passes := pass.Concat(pass.Compile,
		&pass.Output{Writer: nopCloser{&asm}, Printer: printer.NewGoAsm(cfg)},
		&pass.Output{Writer: nopCloser{&stubs}, Printer: printer.NewStubs(cfg)})
	if err := passes.Execute(f); err != nil {
		log.Fatal(err)
	}
	if err := checkVEXRegisters(asm.String()); err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(*dir, "kernel_amd64.s"), asm.Bytes())
	write(filepath.Join(*dir, "kernel_amd64_stubs.go"), stubs.Bytes())
}

func write(path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// checkVEXRegisters fails when an AVX2 function uses a vector register
// numbered 16 or above: the Go assembler would silently encode such an
// instruction with EVEX (AVX-512), which faults on an AVX2-only CPU. avo's
// allocator prefers low registers, so this only trips if a function needs
// more than 16 vector registers live.
func checkVEXRegisters(asm string) error {
	high := regexp.MustCompile(`\b[XYZ](1[6-9]|2[0-9]|3[01])\b|\bZ[0-9]+\b`)
	var fn string
	for i, line := range strings.Split(asm, "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			fn = line
		}
		if strings.Contains(fn, "AVX2") && high.MatchString(line) {
			return fmt.Errorf("line %d: AVX2 function uses an EVEX-only register: %s", i+1, line)
		}
	}
	return nil
}
