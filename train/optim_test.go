package train

import (
	"math"
	"testing"

	"github.com/attn-go/attn/internal/numcheck"

	"github.com/attn-go/attn/nn"
)

// Adam and AdamW against the update rules written out in float64
// (Kingma and Ba, algorithm 1; Loshchilov and Hutter, algorithm 2) over a
// few steps; the implementation rounds to float32 once per step, so the
// bound is a few float32 ulps of the weights (1e-6 relative).
func TestAdamMatchesDefinition(t *testing.T) {
	for _, decoupled := range []bool{false, true} {
		a := &Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-9, WeightDecay: 0.1, Decoupled: decoupled}
		p := nn.NewParam("w", false, 3)
		copy(p.W, []float32{1, -2, 0.5})
		w := []float64{1, -2, 0.5}
		m, v := make([]float64, 3), make([]float64, 3)
		grads := [][]float32{{0.1, -0.3, 2}, {0.2, 0.1, -1}, {-0.5, 0, 0.25}}
		for step, g := range grads {
			copy(p.G, g)
			lr := 0.01 * float64(step+1)
			if err := a.Update([]*nn.Param{p}, lr); err != nil {
				t.Fatal(err)
			}
			n := float64(step + 1)
			for i := range w {
				gi := float64(g[i])
				if !decoupled {
					gi += 0.1 * w[i]
				}
				m[i] = 0.9*m[i] + 0.1*gi
				v[i] = 0.98*v[i] + 0.02*gi*gi
				if decoupled {
					w[i] -= lr * 0.1 * w[i]
				}
				w[i] -= lr * (m[i] / (1 - math.Pow(0.9, n))) / (math.Sqrt(v[i]/(1-math.Pow(0.98, n))) + 1e-9)
				if e := math.Abs(float64(p.W[i]) - w[i]); numcheck.Exceeds(e, 1e-6*math.Abs(w[i])) {
					t.Fatalf("decoupled=%v step %d: w[%d] = %v, want %v", decoupled, step+1, i, p.W[i], w[i])
				}
			}
		}
	}
	// NoDecay parameters are not decayed.
	a := &Adam{Beta1: 0.9, Beta2: 0.98, Eps: 1e-9, WeightDecay: 0.5, Decoupled: true}
	p := nn.NewParam("b", true, 1)
	p.W[0] = 3
	if err := a.Update([]*nn.Param{p}, 0.1); err != nil || p.W[0] != 3 {
		t.Errorf("a zero-gradient NoDecay parameter moved to %v (%v)", p.W[0], err)
	}
	if err := (&Adam{Beta1: 1, Beta2: 0.9, Eps: 1e-8}).Validate(); err == nil {
		t.Error("beta1 = 1 accepted")
	}
}

func TestSchedules(t *testing.T) {
	// The paper's schedule: d_model^-0.5 · min(step^-0.5, step·warmup^-1.5),
	// peaking at the end of the warm-up.
	s := NoamSchedule{DModel: 512, Warmup: 4000}
	for _, c := range []struct {
		step int
		want float64
	}{{1, math.Pow(512, -0.5) * math.Pow(4000, -1.5)}, {4000, math.Pow(512, -0.5) * math.Pow(4000, -0.5)}, {16000, math.Pow(512, -0.5) / 126.49110640673517}} {
		if got := s.LR(c.step); numcheck.Exceeds(math.Abs(got-c.want), 1e-12) {
			t.Errorf("noam step %d: %v, want %v", c.step, got, c.want)
		}
	}
	cs := CosineSchedule{Base: 1, Min: 0.1, Warmup: 10, Total: 110}
	for _, c := range []struct {
		step int
		want float64
	}{{0, 0.1}, {9, 1}, {10, 1}, {60, 0.55}, {110, 0.1}, {500, 0.1}} {
		if got := cs.LR(c.step); numcheck.Exceeds(math.Abs(got-c.want), 1e-12) {
			t.Errorf("cosine step %d: %v, want %v", c.step, got, c.want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a, b := nn.NewParam("a", false, 2), nn.NewParam("b", false, 1)
	copy(a.G, []float32{3, 0})
	b.G[0] = 4
	if n := ClipGradNorm([]*nn.Param{a, b}, 1); n != 5 {
		t.Errorf("norm before clipping %v, want 5", n)
	}
	if n := GradNorm([]*nn.Param{a, b}); numcheck.Exceeds(math.Abs(n-1), 1e-6) {
		t.Errorf("norm after clipping %v, want 1", n)
	}
	if n := ClipGradNorm([]*nn.Param{a, b}, 10); numcheck.Exceeds(math.Abs(n-1), 1e-6) || numcheck.Exceeds(math.Abs(GradNorm([]*nn.Param{a, b})-1), 1e-6) {
		t.Errorf("clipping below the norm changed the gradients")
	}
}

// Tasks produce what they promise, deterministically from the seed.
func TestTasks(t *testing.T) {
	for _, name := range TaskNames {
		task, err := NewTask(name)
		if err != nil {
			t.Fatal(err)
		}
		b1 := MakeBatch(task, 7, 100, 32)
		b2 := MakeBatch(task, 7, 100, 32)
		for i := range b1.Sources {
			src, tgt := task.Format(b1.Sources[i]), task.Format(b1.Targets[i])
			if src != task.Format(b2.Sources[i]) {
				t.Fatalf("%s: same seed and index, different examples", name)
			}
			var want string
			switch name {
			case "copy":
				want = src
			case "reverse":
				r := []byte(src)
				for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
					r[a], r[b] = r[b], r[a]
				}
				want = string(r)
			case "sort":
				r := []byte(src)
				for a := range r {
					for b := a + 1; b < len(r); b++ {
						if r[b] < r[a] {
							r[a], r[b] = r[b], r[a]
						}
					}
				}
				want = string(r)
			case "add":
				var x, y int
				parts := [2]*int{&x, &y}
				k := 0
				for _, c := range src {
					if c == '+' {
						k++
						continue
					}
					*parts[k] = *parts[k]*10 + int(c-'0')
				}
				want = itoa(x + y)
			}
			if tgt != want {
				t.Fatalf("%s: %q -> %q, want %q", name, src, tgt, want)
			}
			if len(b1.Sources[i]) > task.MaxSrc() || len(b1.Targets[i]) > task.MaxTgt() {
				t.Fatalf("%s: lengths %d/%d exceed %d/%d", name, len(b1.Sources[i]), len(b1.Targets[i]), task.MaxSrc(), task.MaxTgt())
			}
		}
		// Padding: labels past EOS are ignored, sources past their length are PAD.
		for i := range b1.B {
			n := len(b1.Targets[i])
			if b1.TgtOut[i*b1.T+n] != EOS || b1.TgtIn[i*b1.T] != BOS {
				t.Fatalf("%s: BOS/EOS misplaced", name)
			}
			for j := n + 1; j < b1.T; j++ {
				if b1.TgtOut[i*b1.T+j] != Ignore {
					t.Fatalf("%s: padded label not ignored", name)
				}
			}
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestParseInput(t *testing.T) {
	add, _ := NewTask("add")
	rev, _ := NewTask("reverse")
	for _, c := range []struct {
		task Task
		in   string
		ok   bool
	}{{add, "12+34", true}, {add, "+12", false}, {add, "1+2+3", false}, {rev, "123", true}, {rev, "12a", false}, {rev, "", false}, {rev, "12345678901234567", false}} {
		if _, err := ParseInput(c.task, c.in); (err == nil) != c.ok {
			t.Errorf("%s %q: error %v", c.task.Name(), c.in, err)
		}
	}
}
