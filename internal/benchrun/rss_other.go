//go:build !unix

package benchrun

// PeakRSS is unknown here: the benchmarks report -1.
func PeakRSS() int64 { return -1 }
