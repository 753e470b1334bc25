// Package benchrun is the measurement method and the result format of attn
// bench: how an operation is timed, and how the result is written as one
// JSON object or one summary line.
//
// # Measuring
//
// Measure(opts, f) calls f, which does one run of the operation on inputs
// the caller allocated and filled beforehand:
//
//   - warm-up runs until both WarmupReps runs and Warmup time have passed;
//     a single run is enough when that run alone takes Warmup or longer;
//   - then timed runs repeat until both MinReps runs and MinTime have
//     passed, stopping early at MaxReps runs or before a run that would end
//     after MaxTime (judged by the last run's time).
//
// At least one timed run is always made, so a Timing returned without error
// is never empty. The first error f returns stops the measurement and is
// returned unchanged (errors.Is holds). Each run is timed alone with the
// monotonic clock; the result is the median of the timed runs, with their
// minimum and maximum, and the number of warm-up runs. The same method is
// written in scripts/bench/torch_bench.py, so attn's and PyTorch's figures
// compare.
//
// # Results
//
// An Object is a JSON object whose fields keep the order they were written
// in (the results are read by eye and diffed, and scripts/bench keys on the
// names). Timing.Fields, Env.ThreadFields and Env.TailFields are the fields
// every result shares; Report is the whole result of an operation with a
// FLOP count (gemm, attention, mha, encode): impl and op, the shape, the
// threads, the timing, flops and gflops, then the environment. Numbers are
// rounded as they are printed: times to the microsecond (in milliseconds),
// rates to three decimals. Emit writes the JSON object on one line, or the
// summary line.
//
// PeakRSS is the process's peak resident set (getrusage; -1 where the
// system does not say): a high-water mark, so a result reads it after its
// runs.
//
// # Probes
//
// ReadProbe measures memory read bandwidth: a buffer far larger than the
// caches, read in 1 MiB chunks over attn's worker pool with kernel.Dot (one
// DRAM read per byte), the bound on decoding speed.
package benchrun
