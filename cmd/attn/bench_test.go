package main

import (
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/attn-go/attn/internal/testmodels"
)

// fast keeps the timing loops short in tests.
var fast = []string{"--warmup", "0s", "--warmup-reps", "1", "--min-time", "0s", "--min-reps", "2", "--threads", "1"}

func benchJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	t.Cleanup(func() { runtime.GOMAXPROCS(runtime.NumCPU()) })
	// The shared fast flags go first, so a test's own flags override them.
	full := append(append(append([]string{}, args[:2]...), fast...), args[2:]...)
	code, out, errOut := runCLI(t, append(full, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	if errOut != "" {
		t.Errorf("%v: --json wrote to stderr: %q", args, errOut)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n"); n != 0 {
		t.Fatalf("%v: want one line of JSON, got:\n%s", args, out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: output is not JSON (%v):\n%s", args, err, out)
	}
	return m
}

func checkFields(t *testing.T, m map[string]any, op string, shape map[string]any) {
	t.Helper()
	if m["op"] != op || m["impl"] != "attn" {
		t.Errorf("op %v impl %v, want %s attn", m["op"], m["impl"], op)
	}
	for k, want := range shape {
		if got := m[k]; got != want {
			t.Errorf("%s: %s = %v, want %v", op, k, got, want)
		}
	}
	for _, k := range []string{"threads", "workers", "reps", "warmup_reps", "median_ms", "min_ms", "max_ms", "flops", "gflops", "peak_rss_bytes"} {
		v, ok := m[k].(float64)
		if !ok || v < 0 {
			t.Errorf("%s: field %s = %v, want a number >= 0", op, k, m[k])
		}
	}
	if m["threads"] != 1.0 || m["workers"] != 1.0 {
		t.Errorf("%s: threads %v workers %v, want 1 (--threads 1)", op, m["threads"], m["workers"])
	}
	if m["reps"].(float64) < 2 {
		t.Errorf("%s: reps %v, want >= --min-reps 2", op, m["reps"])
	}
	if !(m["min_ms"].(float64) <= m["median_ms"].(float64) && m["median_ms"].(float64) <= m["max_ms"].(float64)) {
		t.Errorf("%s: min %v median %v max %v out of order", op, m["min_ms"], m["median_ms"], m["max_ms"])
	}
	if rss := m["peak_rss_bytes"].(float64); rss < 1<<20 {
		t.Errorf("%s: peak_rss_bytes %v is implausibly small", op, rss)
	}
	if v, _ := m["go_version"].(string); !strings.HasPrefix(v, "go") {
		t.Errorf("%s: go_version %q", op, m["go_version"])
	}
	if _, ok := m["kernel"]; !ok {
		t.Errorf("%s: no kernel field", op)
	}
}

func TestBenchGemm(t *testing.T) {
	for _, tb := range []bool{false, true} {
		args := []string{"bench", "gemm", "--m", "7", "--n", "5", "--k", "3"}
		if tb {
			args = append(args, "--trans-b")
		}
		m := benchJSON(t, args...)
		checkFields(t, m, "gemm", map[string]any{"m": 7.0, "n": 5.0, "k": 3.0, "trans_b": tb})
		if m["flops"] != 2.0*7*5*3 {
			t.Errorf("flops %v, want 2mnk = %d", m["flops"], 2*7*5*3)
		}
	}
}

func TestBenchAttention(t *testing.T) {
	m := benchJSON(t, "bench", "attention", "--batch", "2", "--heads", "4", "--kv-heads", "2", "--head-dim", "8", "--seq", "5", "--kv-seq", "6")
	checkFields(t, m, "attention", map[string]any{"batch": 2.0, "heads": 4.0, "kv_heads": 2.0, "head_dim": 8.0, "seq": 5.0, "kv_seq": 6.0, "causal": false})
	if want := 4.0 * 2 * 4 * 5 * 6 * 8; m["flops"] != want {
		t.Errorf("flops %v, want 4·B·H·T·S·Dh = %v", m["flops"], want)
	}
	// Causal: only the allowed pairs count (1+2+3+4 of 16 for T=S=4).
	m = benchJSON(t, "bench", "attention", "--heads", "2", "--head-dim", "4", "--seq", "4", "--causal")
	checkFields(t, m, "attention", map[string]any{"kv_heads": 2.0, "kv_seq": 4.0, "causal": true, "align": "top-left"})
	if want := 4.0 * 1 * 2 * 10 * 4; m["flops"] != want {
		t.Errorf("causal flops %v, want %v", m["flops"], want)
	}
	m = benchJSON(t, "bench", "attention", "--heads", "2", "--head-dim", "4", "--seq", "2", "--kv-seq", "5", "--causal", "--align", "bottom-right")
	if want := 4.0 * 2 * (4 + 5) * 4; m["flops"] != want {
		t.Errorf("bottom-right flops %v, want %v", m["flops"], want)
	}
}

func TestBenchMHA(t *testing.T) {
	for _, causal := range []bool{false, true} {
		args := []string{"bench", "mha", "--batch", "2", "--seq", "3", "--dim", "8", "--heads", "2"}
		pairs := 9.0
		if causal {
			args = append(args, "--causal")
			pairs = 6
		}
		m := benchJSON(t, args...)
		checkFields(t, m, "mha", map[string]any{"batch": 2.0, "seq": 3.0, "dim": 8.0, "heads": 2.0, "causal": causal})
		if want := 8.0*2*3*8*8 + 4*2*pairs*8; m["flops"] != want {
			t.Errorf("causal=%v: flops %v, want %v", causal, m["flops"], want)
		}
	}
}

func TestBenchSummaryWithoutJSON(t *testing.T) {
	t.Cleanup(func() { runtime.GOMAXPROCS(runtime.NumCPU()) })
	code, out, errOut := runCLI(t, append([]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2"}, fast...)...)
	if code != 0 || !strings.Contains(out, "median") || !strings.Contains(out, "GFLOP/s") || strings.Contains(out, "{") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestBenchThreadsSetsGOMAXPROCS(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	m := benchJSON(t, "bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "--threads", "2")
	if m["threads"] != 2.0 || m["workers"] != 2.0 || runtime.GOMAXPROCS(0) != 2 {
		t.Errorf("threads %v workers %v GOMAXPROCS %d, want 2", m["threads"], m["workers"], runtime.GOMAXPROCS(0))
	}
}

func TestBenchBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "needs a subcommand"},
		{[]string{"bench", "nope"}, "unknown command"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2"}, `"k"`},
		{[]string{"bench", "gemm", "--m", "0", "--n", "2", "--k", "2"}, "--m is 0"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "-1"}, "--k is -1"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "--threads", "0"}, "--threads is 0"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "--min-reps", "0"}, "--min-reps"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "--max-time", "0s"}, "--max-time"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "--min-time", "1"}, "min-time"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "--bogus"}, "unknown flag"},
		{[]string{"bench", "gemm", "--m", "2", "--n", "2", "--k", "2", "extra"}, "unknown command"},
		{[]string{"bench", "gemm", "--m", "100000", "--n", "100000", "--k", "2"}, "GB"},
		{[]string{"bench", "attention", "--heads", "12", "--kv-heads", "5", "--head-dim", "8", "--seq", "4"}, "does not divide"},
		{[]string{"bench", "attention", "--heads", "2", "--head-dim", "0", "--seq", "4"}, "--head-dim is 0"},
		{[]string{"bench", "attention", "--heads", "2", "--head-dim", "4", "--seq", "4", "--causal", "--align", "middle"}, "--align"},
		{[]string{"bench", "attention", "--heads", "2", "--head-dim", "4"}, `"seq"`},
		{[]string{"bench", "mha", "--seq", "4", "--dim", "10", "--heads", "3"}, "does not divide"},
		{[]string{"bench", "mha", "--seq", "4", "--dim", "8", "--heads", "2", "--batch", "0"}, "--batch is 0"},
		{[]string{"bench", "peak", "--duration", "0s"}, "--duration"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line naming %q", c.args, code, out, errOut, c.want)
		}
	}
}

func TestBenchHelp(t *testing.T) {
	for _, args := range [][]string{{"bench", "--help"}, {"bench", "gemm", "--help"}, {"bench", "attention", "--help"}, {"bench", "mha", "--help"}, {"bench", "peak", "--help"}, {"bench", "decode", "--help"}, {"bench", "bandwidth", "--help"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	_, out, _ := runCLI(t, "bench", "--help")
	if strings.Contains(out, "\n  peak ") {
		t.Errorf("bench --help lists the hidden peak command:\n%s", out)
	}
}

// withRegistry swaps in a fake GEMM registry for one test.
func withRegistry(t *testing.T, names []string, current *string) {
	t.Helper()
	saved := gemmRegistry
	t.Cleanup(func() { gemmRegistry = saved })
	gemmRegistry.variants = func() []string { return names }
	gemmRegistry.set = func(name string) error { *current = name; return nil }
	gemmRegistry.current = func() string { return *current }
	gemmRegistry.peak = func(threads int, d time.Duration) (float64, error) {
		if threads < 1 || d <= 0 {
			return 0, errors.New("bad peak arguments")
		}
		return 100 * float64(threads), nil
	}
}

func TestBenchKernelAndPeakThroughTheSeam(t *testing.T) {
	cur := "auto"
	withRegistry(t, []string{"ref", "fast"}, &cur)
	m := benchJSON(t, "bench", "gemm", "--m", "3", "--n", "3", "--k", "3", "--kernel", "ref")
	if m["kernel"] != "ref" || cur != "ref" {
		t.Errorf("kernel field %v, registry at %q; want ref", m["kernel"], cur)
	}
	code, _, errOut := runCLI(t, "bench", "gemm", "--m", "3", "--n", "3", "--k", "3", "--kernel", "avx9000")
	if code != 1 || !strings.Contains(errOut, "ref, fast") {
		t.Errorf("unknown --kernel: exit %d, stderr %q; want the variants listed", code, errOut)
	}
	m = benchJSON(t, "bench", "peak", "--duration", "1ms")
	if m["op"] != "peak" || m["gflops"] != 100.0 || m["threads"] != 1.0 {
		t.Errorf("peak JSON %v", m)
	}
}

// checkpointPath stands for a checkpoint in the flag checks that refuse it
// before anything is read.
const checkpointPath = "path/to/stories260K.bin"

// tinyGPT2 shrinks bench decode's random gpt2-small model with the hidden flags.
var tinyGPT2 = []string{"--dim", "16", "--heads", "2", "--layers", "2", "--vocab", "50"}

func checkDecode(t *testing.T, m map[string]any, context float64) {
	t.Helper()
	if m["op"] != "decode" || m["impl"] != "attn" || m["context"] != context || m["prompt_tokens"] != context {
		t.Errorf("decode JSON op %v impl %v context %v prompt_tokens %v, want decode attn %v", m["op"], m["impl"], m["context"], m["prompt_tokens"], context)
	}
	for _, k := range []string{"reps", "median_ms", "prompt_reps", "prompt_median_ms", "prompt_min_ms", "prompt_max_ms", "prompt_tokens_per_s",
		"decode_reps", "decode_median_ms", "decode_min_ms", "decode_max_ms", "decode_tokens_per_s", "weight_bytes", "kv_cache_bytes", "bytes_per_token", "peak_rss_bytes"} {
		if v, ok := m[k].(float64); !ok || v <= 0 {
			t.Errorf("decode: field %s = %v, want a number > 0", k, m[k])
		}
	}
	if m["reps"] != m["decode_reps"] || m["median_ms"] != m["decode_median_ms"] {
		t.Errorf("the usual fields should repeat the decode step's: reps %v/%v median %v/%v", m["reps"], m["decode_reps"], m["median_ms"], m["decode_median_ms"])
	}
	if m["prompt_reps"].(float64) < 2 || m["decode_reps"].(float64) < 2 {
		t.Errorf("prompt_reps %v decode_reps %v, want >= --min-reps 2", m["prompt_reps"], m["decode_reps"])
	}
	if m["bytes_per_token"] != m["weight_bytes"].(float64)+m["kv_cache_bytes"].(float64) {
		t.Errorf("bytes_per_token %v != weight_bytes %v + kv_cache_bytes %v", m["bytes_per_token"], m["weight_bytes"], m["kv_cache_bytes"])
	}
	want := 2 * 4 * m["layers"].(float64) * context * m["kv_heads"].(float64) * m["head_dim"].(float64)
	if m["kv_cache_bytes"] != want {
		t.Errorf("kv_cache_bytes %v, want 2·4·L·N·Hkv·Dh = %v", m["kv_cache_bytes"], want)
	}
}

func TestBenchDecodeRandom(t *testing.T) {
	m := benchJSON(t, append([]string{"bench", "decode", "--context", "6"}, tinyGPT2...)...)
	checkDecode(t, m, 6)
	for k, want := range map[string]any{"model": "gpt2-small", "arch": "gpt2", "dim": 16.0, "heads": 2.0, "kv_heads": 2.0, "head_dim": 8.0, "layers": 2.0, "vocab": 50.0, "hidden": 64.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if _, ok := m["floor_tokens_per_s"]; ok {
		t.Errorf("floor_tokens_per_s without --bandwidth-gbs: %v", m["floor_tokens_per_s"])
	}
	// With a bandwidth: floor = bandwidth / bytes per token.
	m = benchJSON(t, append([]string{"bench", "decode", "--context", "1", "--bandwidth-gbs", "10"}, tinyGPT2...)...)
	checkDecode(t, m, 1)
	floor, _ := m["floor_tokens_per_s"].(float64)
	if want := 10e9 / m["bytes_per_token"].(float64); m["bandwidth_gbs"] != 10.0 || math.Abs(floor-want) > 1e-3*want {
		t.Errorf("bandwidth_gbs %v floor_tokens_per_s %v, want 10 and %v", m["bandwidth_gbs"], floor, want)
	}
	if p, ok := m["decode_pct_of_floor"].(float64); !ok || p <= 0 {
		t.Errorf("decode_pct_of_floor %v", m["decode_pct_of_floor"])
	}
	// The summary line.
	code, out, errOut := runCLI(t, append(append([]string{"bench", "decode", "--context", "3", "--bandwidth-gbs", "5"}, tinyGPT2...), fast...)...)
	if code != 0 || !strings.Contains(out, "tokens/s") || !strings.Contains(out, "floor") || strings.Contains(out, "{") {
		t.Errorf("summary: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// The Llama-shaped random model, shrunk with grouped-query attention kept.
func TestBenchDecodeRandomLlama(t *testing.T) {
	m := benchJSON(t, "bench", "decode", "--model", "smollm-135m", "--context", "5",
		"--dim", "24", "--heads", "6", "--kv-heads", "2", "--layers", "2", "--vocab", "40")
	checkDecode(t, m, 5)
	for k, want := range map[string]any{"model": "smollm-135m", "arch": "llama", "dim": 24.0, "heads": 6.0, "kv_heads": 2.0, "head_dim": 4.0, "layers": 2.0, "vocab": 40.0, "hidden": 96.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	// Weights: per layer q and o D·D, k and v D·(D/3), three SwiGLU
	// matrices D·F and two norms; then the tied embedding and the final norm.
	D, F, L, V := 24, 96, 2, 40
	if want := 4 * (L*(2*D*D+2*D*D/3+3*D*F+2*D) + V*D + D); m["weight_bytes"] != float64(want) {
		t.Errorf("weight_bytes %v, want %d", m["weight_bytes"], want)
	}
	for _, args := range [][]string{
		{"--heads", "6", "--kv-heads", "4", "--dim", "24"}, // 4 does not divide 6
		{"--model", checkpointPath, "--kv-heads", "2"},     // only random models reshape
	} {
		code, _, errOut := runCLI(t, append([]string{"bench", "decode", "--context", "2", "--model", "smollm-135m"}, args...)...)
		if code == 0 || !strings.Contains(errOut, "kv-heads") {
			t.Errorf("%v: exit %d, stderr %q, want an error naming --kv-heads", args, code, errOut)
		}
	}
}

// bench encode on a shrunk random BERT: the fields, the FLOP count, and
// flags it must refuse.
func TestBenchEncode(t *testing.T) {
	m := benchJSON(t, "bench", "encode", "--batch", "2", "--seq", "5", "--dim", "16", "--heads", "2", "--layers", "2", "--vocab", "40")
	for k, want := range map[string]any{"op": "encode", "impl": "attn", "model": "bert-base", "batch": 2.0, "seq": 5.0, "tokens": 10.0,
		"dim": 16.0, "heads": 2.0, "layers": 2.0, "hidden": 64.0, "vocab": 40.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	for _, k := range []string{"reps", "median_ms", "gflops", "tokens_per_s", "peak_rss_bytes"} {
		if v, ok := m[k].(float64); !ok || v <= 0 {
			t.Errorf("encode: field %s = %v, want a number > 0", k, m[k])
		}
	}
	// 2 layers of 2·n·(4D² + 2DF) + 4·n·T·D, plus the pooler 2·B·D².
	n, D, F, T := 10.0, 16.0, 64.0, 5.0
	if want := 2*(2*n*(4*D*D+2*D*F)+4*n*T*D) + 2*2*D*D; m["flops"] != want {
		t.Errorf("flops %v, want %v", m["flops"], want)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--seq", "600"}, "positions"},
		{[]string{"--seq", "4", "--model", checkpointPath, "--dim", "8"}, "reshape only"},
		{[]string{"--seq", "4", "--dim", "10", "--heads", "3"}, "heads dividing dim"},
		{[]string{"--seq", "0"}, "--seq"},
	} {
		code, _, errOut := runCLI(t, append([]string{"bench", "encode"}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want an error containing %q", c.args, code, errOut, c.want)
		}
	}
}

func TestBenchDecodeStories260K(t *testing.T) {
	stories260K := testmodels.Model(t, "stories260K", "stories260K.bin")
	m := benchJSON(t, "bench", "decode", "--model", stories260K, "--context", "16")
	checkDecode(t, m, 16)
	if m["arch"] != "llama2c" || m["dim"] != 64.0 || m["kv_heads"] != 4.0 || m["vocab"] != 512.0 {
		t.Errorf("stories260K: arch %v dim %v kv_heads %v vocab %v", m["arch"], m["dim"], m["kv_heads"], m["vocab"])
	}
}

func TestBenchBandwidth(t *testing.T) {
	m := benchJSON(t, "bench", "bandwidth", "--mib", "2")
	if m["op"] != "bandwidth" || m["buffer_bytes"] != float64(2<<20) || m["chunk_bytes"] != float64(1<<20) {
		t.Errorf("bandwidth JSON %v", m)
	}
	for _, k := range []string{"bandwidth_gbs", "best_gbs", "median_ms", "reps", "peak_rss_bytes"} {
		if v, ok := m[k].(float64); !ok || v <= 0 {
			t.Errorf("bandwidth: field %s = %v, want a number > 0", k, m[k])
		}
	}
	if m["best_gbs"].(float64) < m["bandwidth_gbs"].(float64) {
		t.Errorf("best_gbs %v below the median's %v", m["best_gbs"], m["bandwidth_gbs"])
	}
}

func TestBenchDecodeBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "decode"}, `"context"`},
		{[]string{"bench", "decode", "--context", "0"}, "--context is 0"},
		{[]string{"bench", "decode", "--context", "2000"}, "exceeds the model's context length 1024"},
		{[]string{"bench", "decode", "--context", "4", "--bandwidth-gbs", "-1"}, "--bandwidth-gbs"},
		{[]string{"bench", "decode", "--context", "4", "--dim", "10", "--heads", "3"}, "--heads 3"},
		{[]string{"bench", "decode", "--context", "4", "--model", "/nonexistent/model.bin"}, "nonexistent"},
		{[]string{"bench", "decode", "--context", "4", "--model", "/nonexistent/model.bin", "--dim", "8"}, "reshape only"},
		{[]string{"bench", "bandwidth", "--mib", "0"}, "--mib is 0"},
		{[]string{"bench", "bandwidth", "--mib", "100000"}, "GB"},
	} {
		args := c.args
		if len(args) > 2 && c.want == "exceeds the model's context length 1024" {
			args = append(args, tinyGPT2...)
		}
		code, out, errOut := runCLI(t, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line naming %q", args, code, out, errOut, c.want)
		}
	}
}

func TestBenchAttentionBackward(t *testing.T) {
	for _, causal := range []bool{false, true} {
		args := []string{"bench", "attention", "--batch", "2", "--heads", "4", "--kv-heads", "2", "--head-dim", "8", "--seq", "5", "--backward"}
		pairs := 25.0
		if causal {
			args = append(args, "--causal")
			pairs = 15
		}
		m := benchJSON(t, args...)
		checkFields(t, m, "attention", map[string]any{"batch": 2.0, "heads": 4.0, "kv_heads": 2.0, "seq": 5.0, "kv_seq": 5.0,
			"causal": causal, "backward": true, "pass": "forward+backward"})
		fwd := 4.0 * 2 * 4 * pairs * 8
		if m["forward_flops"] != fwd || m["flops"] != 3.5*fwd {
			t.Errorf("causal=%v: forward_flops %v flops %v, want %v and 3.5× that", causal, m["forward_flops"], m["flops"], fwd)
		}
		if _, ok := m["memory_only"]; ok {
			t.Errorf("memory_only field without --memory-only")
		}
	}
	// Forward only says so.
	m := benchJSON(t, "bench", "attention", "--heads", "2", "--head-dim", "4", "--seq", "3")
	if m["backward"] != false || m["pass"] != "forward" || m["flops"] != m["forward_flops"] {
		t.Errorf("forward: backward %v pass %v flops %v forward_flops %v", m["backward"], m["pass"], m["flops"], m["forward_flops"])
	}
}

func TestBenchAttentionMemoryOnly(t *testing.T) {
	m := benchJSON(t, "bench", "attention", "--heads", "2", "--head-dim", "8", "--seq", "64", "--causal", "--backward", "--memory-only")
	if m["memory_only"] != true || m["reps"] != 1.0 || m["warmup_reps"] != 0.0 {
		t.Errorf("memory_only %v reps %v warmup_reps %v, want true, 1 and 0 (one run)", m["memory_only"], m["reps"], m["warmup_reps"])
	}
	// q, k, v, out, dout, dq, dk, dv [1,2,64,8] and lse [1,2,64].
	if want := 4.0 * (8*2*64*8 + 2*64); m["operand_bytes"] != want {
		t.Errorf("operand_bytes %v, want %v", m["operand_bytes"], want)
	}
	if want := 4.0 * 2 * 64 * 64; m["scores_bytes"] != want {
		t.Errorf("scores_bytes %v, want 4·H·T·S = %v", m["scores_bytes"], want)
	}
	before, _ := m["rss_before_bytes"].(float64)
	work, _ := m["work_rss_bytes"].(float64)
	if before <= 0 || work < 0 || before+work != m["peak_rss_bytes"] {
		t.Errorf("rss_before_bytes %v + work_rss_bytes %v != peak_rss_bytes %v", m["rss_before_bytes"], m["work_rss_bytes"], m["peak_rss_bytes"])
	}
}

func checkTrain(t *testing.T, m map[string]any, model string) {
	t.Helper()
	if m["op"] != "train" || m["impl"] != "attn" || m["model"] != model {
		t.Errorf("op %v impl %v model %v, want train attn %s", m["op"], m["impl"], m["model"], model)
	}
	for _, k := range []string{"tokens_per_step", "params", "batch", "reps", "median_ms", "min_ms", "max_ms", "tokens_per_s", "loss", "peak_rss_bytes"} {
		if v, ok := m[k].(float64); !ok || v <= 0 {
			t.Errorf("%s: field %s = %v, want a number > 0", model, k, m[k])
		}
	}
	if m["threads"] != 1.0 || m["workers"] != 1.0 || m["reps"].(float64) < 2 {
		t.Errorf("%s: threads %v workers %v reps %v", model, m["threads"], m["workers"], m["reps"])
	}
	// tokens_per_s is tokens_per_step over the median (median_ms is rounded
	// to the microsecond).
	tok, med := m["tokens_per_step"].(float64), m["median_ms"].(float64)
	lo, hi := tok/((med+0.0005)/1000)-0.001, tok/(max(med-0.0005, 1e-9)/1000)+0.001
	if got := m["tokens_per_s"].(float64); got < lo || got > hi {
		t.Errorf("%s: tokens_per_s %v, want tokens_per_step/median in [%v, %v]", model, got, lo, hi)
	}
}

func TestBenchTrainDemo(t *testing.T) {
	m := benchJSON(t, "bench", "train", "--model", "demo", "--batch", "3")
	checkTrain(t, m, "demo")
	for k, want := range map[string]any{"task": "reverse", "vocab": 13.0, "d_model": 64.0, "heads": 4.0, "d_ff": 256.0,
		"enc_layers": 2.0, "dec_layers": 2.0, "norm_first": false, "batch": 3.0, "flops": nil, "gflops": nil} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("demo: %s = %v, want %v", k, got, want)
		}
	}
	S, T := m["src_len"].(float64), m["tgt_len"].(float64)
	if S < 8 || S > 16 || T != S+1 || m["tokens_per_step"] != 3*(S+T) {
		t.Errorf("demo: src_len %v tgt_len %v tokens_per_step %v, want S in 8..16, T = S+1, tokens 3·(S+T)", S, T, m["tokens_per_step"])
	}
	if l := m["label_tokens"].(float64); l < 3*9 || l > 3*T {
		t.Errorf("demo: label_tokens %v outside [27, 3T]", l)
	}
}

func TestBenchTrainGPTLayer(t *testing.T) {
	m := benchJSON(t, "bench", "train", "--model", "gpt2-layer", "--seq", "8", "--batch", "2", "--dim", "16", "--heads", "2", "--vocab", "11")
	checkTrain(t, m, "gpt2-layer")
	for k, want := range map[string]any{"vocab": 11.0, "context": 1024.0, "layers": 1.0, "heads": 2.0, "d_model": 16.0,
		"batch": 2.0, "seq": 8.0, "tokens_per_step": 16.0, "optimizer": nil} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("gpt2-layer: %s = %v, want %v", k, got, want)
		}
	}
	// Matrix products × 3 plus causal attention × 3.5 (36 pairs per sequence).
	N, D, V := 16.0, 16.0, 11.0
	want := 3*(24*N*D*D+2*N*D*V) + 3.5*4*2*36*D
	if m["flops"] != want {
		t.Errorf("gpt2-layer flops %v, want %v", m["flops"], want)
	}
	if g, ok := m["gflops"].(float64); !ok || g <= 0 {
		t.Errorf("gpt2-layer gflops %v", m["gflops"])
	}
	// The summary line.
	t.Cleanup(func() { runtime.GOMAXPROCS(runtime.NumCPU()) })
	code, out, errOut := runCLI(t, append([]string{"bench", "train", "--model", "gpt2-layer", "--seq", "4", "--dim", "8", "--heads", "2", "--vocab", "5"}, fast...)...)
	if code != 0 || !strings.Contains(out, "tokens/s") || !strings.Contains(out, "GFLOP/s") || strings.Contains(out, "{") {
		t.Errorf("summary: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestBenchTrainBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "train", "--model", "gpt5"}, "--model"},
		{[]string{"bench", "train", "--batch", "-1"}, "--batch is -1"},
		{[]string{"bench", "train", "--model", "gpt2-layer", "--seq", "0"}, "--seq is 0"},
		{[]string{"bench", "train", "--model", "gpt2-layer", "--seq", "2048"}, "exceeds the model's context length 1024"},
		{[]string{"bench", "train", "--model", "gpt2-layer", "--dim", "10", "--heads", "3"}, "--heads 3"},
		{[]string{"bench", "train", "--model", "demo", "--dim", "8"}, "reshape only"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, c.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line naming %q", c.args, code, out, errOut, c.want)
		}
	}
	code, out, _ := runCLI(t, "bench", "train", "--help")
	if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, "gpt2-layer") {
		t.Errorf("bench train --help: exit %d, output %q", code, out)
	}
}

func TestBenchPlot(t *testing.T) {
	out := t.TempDir()
	code, stdout, errOut := runCLI(t, "bench", "plot", "--results", "../../scripts/bench/results.jsonl", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range []string{"scaling-time.png", "scaling-memory.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
			t.Errorf("%s is %v", name, b)
		}
		if !strings.Contains(stdout, name) {
			t.Errorf("output does not name %s: %q", name, stdout)
		}
	}
	bad := filepath.Join(out, "bad.jsonl")
	os.WriteFile(bad, []byte("{not json\n"), 0o644)
	if code, _, errOut := runCLI(t, "bench", "plot", "--results", bad, "--out", out); code != 1 || !strings.Contains(errOut, "bad.jsonl:1") {
		t.Errorf("malformed results: exit %d, %q", code, errOut)
	}
}
