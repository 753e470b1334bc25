//go:build unix

package benchrun

import (
	"runtime"
	"syscall"
)

// PeakRSS returns the process's peak resident set size in bytes, or -1
// when the system does not say.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) // bytes there, KiB on Linux and the BSDs
	}
	return int64(ru.Maxrss) * 1024
}
