package benchrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/attn-go/attn/internal/numcheck"
)

func TestMeasureStopsAtLimits(t *testing.T) {
	calls := 0
	f := func() error { calls++; return nil }
	tm, err := Measure(Options{WarmupReps: 2, MinReps: 5, MaxReps: 7, MinTime: time.Hour, MaxTime: time.Hour}, f)
	if err != nil || tm.WarmupReps != 2 || len(tm.Times) != 7 || calls != 9 {
		t.Errorf("max-reps: warm-up %d, reps %d, calls %d, err %v; want 2, 7, 9", tm.WarmupReps, len(tm.Times), calls, err)
	}
	slow := func() error { time.Sleep(20 * time.Millisecond); return nil }
	tm, _ = Measure(Options{Warmup: 10 * time.Millisecond, WarmupReps: 3, MinReps: 100, MaxReps: 1000, MaxTime: 50 * time.Millisecond}, slow)
	if tm.WarmupReps != 1 {
		t.Errorf("a run longer than Warmup should end warm-up: got %d warm-up runs", tm.WarmupReps)
	}
	if n := len(tm.Times); n < 1 || n > 3 {
		t.Errorf("MaxTime 50ms with 20ms runs: %d reps, want 1..3", n)
	}
	o := Options{MinReps: 3, MaxReps: 1000, MinTime: 0, MaxTime: time.Hour}
	if tm, _ = Measure(o, f); len(tm.Times) != 3 {
		t.Errorf("MinReps 3, MinTime 0: %d reps", len(tm.Times))
	}
	// The zero Options: no warm-up, one timed run.
	calls = 0
	if tm, err = Measure(Options{}, f); err != nil || tm.WarmupReps != 0 || len(tm.Times) != 1 || calls != 1 {
		t.Errorf("zero Options: warm-up %d, reps %d, calls %d, err %v; want 0, 1, 1", tm.WarmupReps, len(tm.Times), calls, err)
	}
}

// MinTime keeps the timed runs going past MinReps.
func TestMeasureMinTime(t *testing.T) {
	f := func() error { time.Sleep(time.Millisecond); return nil }
	tm, err := Measure(Options{MinReps: 1, MaxReps: 1000, MinTime: 15 * time.Millisecond, MaxTime: time.Hour}, f)
	var total time.Duration
	for _, d := range tm.Times {
		total += d
	}
	if err != nil || len(tm.Times) < 2 || total < 15*time.Millisecond {
		t.Errorf("MinTime 15ms with 1ms runs: %d reps taking %v, err %v", len(tm.Times), total, err)
	}
}

// The first error stops the measurement and comes back unchanged, from the
// warm-up or from a timed run.
func TestMeasureReturnsTheError(t *testing.T) {
	boom := errors.New("boom")
	for _, failAt := range []int{1, 3} {
		calls := 0
		f := func() error {
			calls++
			if calls == failAt {
				return boom
			}
			return nil
		}
		tm, err := Measure(Options{WarmupReps: 2, MinReps: 5, MaxReps: 5, MaxTime: time.Hour}, f)
		if !errors.Is(err, boom) || calls != failAt {
			t.Errorf("failing call %d: err %v after %d calls", failAt, err, calls)
		}
		if failAt == 3 && (tm.WarmupReps != 2 || len(tm.Times) != 0) {
			t.Errorf("failing in the first timed run: warm-up %d, reps %d; want 2 and 0", tm.WarmupReps, len(tm.Times))
		}
	}
}

func TestMedianMinMax(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		in             []time.Duration
		median, lo, hi time.Duration
	}{
		{[]time.Duration{3 * ms}, 3 * ms, 3 * ms, 3 * ms},
		{[]time.Duration{5 * ms, 1 * ms, 3 * ms}, 3 * ms, 1 * ms, 5 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 2 * ms, 9 * ms}, 3 * ms, 1 * ms, 9 * ms},
		{nil, 0, 0, 0},
	} {
		tm := Timing{Times: c.in}
		if got := tm.Median(); got != c.median {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.median)
		}
		if tm.Min() != c.lo || tm.Max() != c.hi {
			t.Errorf("Min, Max(%v) = %v, %v, want %v, %v", c.in, tm.Min(), tm.Max(), c.lo, c.hi)
		}
	}
	in := []time.Duration{4 * ms, 1 * ms, 2 * ms}
	tm := Timing{Times: in}
	if s := tm.Sorted(); s[0] != ms || s[2] != 4*ms || in[0] != 4*ms {
		t.Errorf("Sorted %v, runs now %v: want sorted, the runs left in run order", s, in)
	}
}

func TestTimingFields(t *testing.T) {
	tm := Timing{WarmupReps: 2, Times: []time.Duration{1500 * time.Microsecond, 1234567 * time.Nanosecond, 3 * time.Millisecond}}
	b, err := json.Marshal(tm.Fields("decode_"))
	want := `{"decode_reps":3,"decode_warmup_reps":2,"decode_median_ms":1.5,"decode_min_ms":1.235,"decode_max_ms":3}`
	if err != nil || string(b) != want {
		t.Errorf("Fields: %s (%v), want %s", b, err, want)
	}
	if got, want := tm.Summary(), "median 1.500 ms (min 1.235, max 3.000, 3 reps after 2 warm-up)"; got != want {
		t.Errorf("Summary %q, want %q", got, want)
	}
}

func TestObjectKeepsKeyOrder(t *testing.T) {
	obj := Fields("z", 1, "a", "x", "m", nil, "nested", Fields("b", true, "a", 2.5))
	obj = append(obj, Field{"k", []int{1, 2}})
	b, err := json.Marshal(obj)
	if want := `{"z":1,"a":"x","m":null,"nested":{"b":true,"a":2.5},"k":[1,2]}`; err != nil || string(b) != want {
		t.Errorf("got %s (%v), want %s", b, err, want)
	}
	if b, err := json.Marshal(Object(nil)); err != nil || string(b) != "{}" {
		t.Errorf("empty object: %s (%v)", b, err)
	}
	// Keys are escaped as JSON strings.
	if b, _ := json.Marshal(Fields(`a"b`, 1)); string(b) != `{"a\"b":1}` {
		t.Errorf("escaped key: %s", b)
	}
}

func TestObjectErrorNamesTheField(t *testing.T) {
	_, err := json.Marshal(Fields("ok", 1, "rate", math.Inf(1)))
	if err == nil || !strings.Contains(err.Error(), "field rate") {
		t.Errorf("an infinite value: %v, want an error naming field rate", err)
	}
}

func TestFieldsPanicsOnBadPairs(t *testing.T) {
	for _, kv := range [][]any{{"a"}, {1, 2}, {"a", 1, 2, 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Fields(%v) did not panic", kv)
				}
			}()
			Fields(kv...)
		}()
	}
}

func TestRounding(t *testing.T) {
	if got := Ms(1234567 * time.Nanosecond); got != 1.235 {
		t.Errorf("Ms(1.234567ms) = %v, want 1.235", got)
	}
	if got := Round3(2.71828); got != 2.718 {
		t.Errorf("Round3 = %v", got)
	}
	if got := PerSecond(10, 4*time.Millisecond); got != 2500 {
		t.Errorf("PerSecond(10, 4ms) = %v, want 2500", got)
	}
	if got := PerSecond(10, 0); got != 0 {
		t.Errorf("PerSecond(10, 0) = %v, want 0", got)
	}
}

func TestReport(t *testing.T) {
	r := Report{Op: "gemm", Shape: Fields("m", 2, "n", 3), Label: "m=2 n=3", FLOPs: 3e6,
		Timing: Timing{WarmupReps: 1, Times: []time.Duration{2 * time.Millisecond, time.Millisecond, 3 * time.Millisecond}}}
	e := Env{Threads: 2, Workers: 2, Kernel: "avx2", Seed: 7}
	if g := r.GFLOPS(); numcheck.Exceeds(math.Abs(g-1.5), 1e-12) {
		t.Errorf("GFLOPS %v, want 3e6 flops / 2 ms = 1.5", g)
	}
	b, err := json.Marshal(r.Object(e, 1<<20))
	want := `{"impl":"attn","op":"gemm","m":2,"n":3,"threads":2,"workers":2,"reps":3,"warmup_reps":1,"median_ms":2,"min_ms":1,"max_ms":3,` +
		`"flops":3000000,"gflops":1.5,"peak_rss_bytes":1048576,"go_version":"` + runtime.Version() + `","goarch":"` + runtime.GOARCH + `","kernel":"avx2","seed":7}`
	if err != nil || string(b) != want {
		t.Errorf("Object:\n got %s (%v)\nwant %s", b, err, want)
	}
	wantLine := "gemm m=2 n=3: median 2.000 ms (min 1.000, max 3.000, 3 reps after 1 warm-up), 1.50 GFLOP/s, 2 threads, kernel avx2, peak RSS 1.0 MiB, " + runtime.Version()
	if got := r.Summary(e, 1<<20); got != wantLine {
		t.Errorf("Summary:\n got %q\nwant %q", got, wantLine)
	}
	// An unknown kernel is null, and "unknown" in the summary.
	e.Kernel = ""
	if b, _ := json.Marshal(e.TailFields(-1)); !strings.Contains(string(b), `"kernel":null`) || !strings.Contains(string(b), `"peak_rss_bytes":-1`) {
		t.Errorf("unknown kernel: %s", b)
	}
	if !strings.Contains(e.Summary(0), "kernel unknown") {
		t.Errorf("summary without a kernel: %q", e.Summary(0))
	}
	// A zero median reports 0 GFLOP/s, not +Inf (which JSON cannot hold).
	r.Timing = Timing{Times: []time.Duration{0}}
	if r.GFLOPS() != 0 {
		t.Errorf("zero median: GFLOPS %v", r.GFLOPS())
	}
}

func TestEmit(t *testing.T) {
	var w bytes.Buffer
	if err := Emit(&w, true, Fields("a", 1), "summary"); err != nil || w.String() != "{\"a\":1}\n" {
		t.Errorf("JSON: %q, %v", w.String(), err)
	}
	w.Reset()
	if err := Emit(&w, false, Fields("a", 1), "summary"); err != nil || w.String() != "summary\n" {
		t.Errorf("summary: %q, %v", w.String(), err)
	}
	w.Reset()
	if err := Emit(&w, true, Fields("a", math.NaN()), ""); err == nil || w.Len() != 0 {
		t.Errorf("a NaN: wrote %q, err %v; want an error and nothing written", w.String(), err)
	}
}

func TestPeakRSS(t *testing.T) {
	rss := PeakRSS()
	if runtime.GOOS == "linux" && rss < 1<<20 {
		t.Errorf("PeakRSS %d on Linux, want at least 1 MiB", rss)
	}
	if rss != -1 && rss < 0 {
		t.Errorf("PeakRSS %d: want bytes or -1", rss)
	}
	// A high-water mark: it never falls, and it covers 32 MiB held resident.
	if rss > 0 {
		buf := make([]byte, 32<<20)
		for i := range buf {
			buf[i] = 1
		}
		if after := PeakRSS(); after < rss || after < 32<<20 {
			t.Errorf("PeakRSS %d with 32 MiB resident, was %d before", after, rss)
		}
		runtime.KeepAlive(buf)
	}
}

func TestReadProbeReadsEveryChunk(t *testing.T) {
	// 2.5 chunks: the last one is short.
	p := NewReadProbe(5 * ReadChunk / 8)
	p.Pass()
	var total float32
	for _, s := range p.read.sums {
		total += s
	}
	if p.chunks != 3 || p.Bytes() != 5*ReadChunk/2 || total != float32(5*ReadChunk/8) {
		t.Errorf("%d chunks of %d bytes summing to %v, want 3, %d and %d", p.chunks, p.Bytes(), total, 5*ReadChunk/2, 5*ReadChunk/8)
	}
}
