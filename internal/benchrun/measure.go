package benchrun

import (
	"fmt"
	"slices"
	"time"
)

// Options bound a measurement (see the package comment for how they
// combine). The zero value makes one warm-up-free timed run.
type Options struct {
	Warmup     time.Duration // minimum warm-up time
	WarmupReps int           // minimum warm-up runs
	MinTime    time.Duration // minimum total time of the timed runs
	MaxTime    time.Duration // do not start a timed run that would end after this
	MinReps    int           // minimum timed runs
	MaxReps    int           // maximum timed runs (below 1: one)
}

// Timing is the outcome of Measure.
type Timing struct {
	WarmupReps int             // warm-up runs made
	Times      []time.Duration // the timed runs, in run order
}

// Sorted returns the timed runs from fastest to slowest.
func (t Timing) Sorted() []time.Duration {
	s := slices.Clone(t.Times)
	slices.Sort(s)
	return s
}

// Median is the median timed run (the mean of the middle two for an even
// count); 0 without runs.
func (t Timing) Median() time.Duration {
	s := t.Sorted()
	n := len(s)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Min is the fastest timed run; 0 without runs.
func (t Timing) Min() time.Duration {
	if len(t.Times) == 0 {
		return 0
	}
	return slices.Min(t.Times)
}

// Max is the slowest timed run; 0 without runs.
func (t Timing) Max() time.Duration {
	if len(t.Times) == 0 {
		return 0
	}
	return slices.Max(t.Times)
}

// Fields are t's JSON fields, each name prefixed with prefix: reps,
// warmup_reps, median_ms, min_ms and max_ms.
func (t Timing) Fields(prefix string) Object {
	return Fields(
		prefix+"reps", len(t.Times),
		prefix+"warmup_reps", t.WarmupReps,
		prefix+"median_ms", Ms(t.Median()),
		prefix+"min_ms", Ms(t.Min()),
		prefix+"max_ms", Ms(t.Max()),
	)
}

// Summary describes t for a summary line: "median 1.234 ms (min 1.200,
// max 1.300, 5 reps after 2 warm-up)".
func (t Timing) Summary() string {
	return fmt.Sprintf("median %.3f ms (min %.3f, max %.3f, %d reps after %d warm-up)",
		Ms(t.Median()), Ms(t.Min()), Ms(t.Max()), len(t.Times), t.WarmupReps)
}

// Measure warms f up and times it as the package comment describes.
func Measure(o Options, f func() error) (Timing, error) {
	var t Timing
	start := time.Now()
	for t.WarmupReps < o.WarmupReps || time.Since(start) < o.Warmup {
		r0 := time.Now()
		if err := f(); err != nil {
			return t, err
		}
		t.WarmupReps++
		if o.Warmup > 0 && time.Since(r0) >= o.Warmup {
			break // one slow run is warm-up enough
		}
	}
	start = time.Now()
	for {
		r0 := time.Now()
		if err := f(); err != nil {
			return t, err
		}
		d := time.Since(r0)
		t.Times = append(t.Times, d)
		n, elapsed := len(t.Times), time.Since(start)
		if n >= o.MaxReps || elapsed+d > o.MaxTime {
			break
		}
		if n >= o.MinReps && elapsed >= o.MinTime {
			break
		}
	}
	return t, nil
}
