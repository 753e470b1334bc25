package kernel

// The amd64 kernels (kernel_amd64.s and its Go declarations,
// kernel_amd64_stubs.go) are generated with avo by the program in _asm/,
// which is its own module so that avo never becomes a dependency of attn.
// _asm/check.sh regenerates them into a temporary directory and diffs.

//go:generate go run -C _asm . -dir ..
