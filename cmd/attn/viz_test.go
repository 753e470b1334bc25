package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decodePNG reads a PNG and checks it is a real picture: not one colour.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			if r, g, bl, _ := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 {
				return img
			}
		}
	}
	t.Fatalf("%s is one colour", path)
	return nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func vizOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"viz"}, args...)...)
	if code != 0 {
		t.Fatalf("attn viz %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// The golden Llama checkpoint (2 layers, 4 heads, no tokenizer): token ids
// label the pictures; the page holds every layer and head.
func TestVizGoldenLlama(t *testing.T) {
	dir := t.TempDir()
	model := goldenModels + "llama"
	ids := "1,5,9,2,17,33,108"

	html := filepath.Join(dir, "a.html")
	if out := vizOK(t, "--model", model, "--ids", ids, "--out", html); !strings.Contains(out, "wrote "+html) {
		t.Errorf("stdout %q", out)
	}
	page := readFile(t, html)
	for _, want := range []string{`"queries":["1","5","9","2","17","33","108"]`, `"name":"layer 0"`, `"name":"layer 1"`, `id="layer"`, `id="grid"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, `"head":`); n != 2*4 {
		t.Errorf("page has %d heads, want 8 (2 layers × 4 heads)", n)
	}

	png1 := filepath.Join(dir, "h.png")
	vizOK(t, "--model", model, "--ids", ids, "--layer", "0", "--head", "3", "--out", png1)
	decodePNG(t, png1)

	grid := filepath.Join(dir, "g.png")
	vizOK(t, "--model", model, "--ids", ids, "--head", "-1", "--out", grid)
	single := decodePNG(t, png1)
	if g := decodePNG(t, grid); g.Bounds().Dx() <= single.Bounds().Dx()/2 {
		t.Errorf("grid %v is not a grid", g.Bounds())
	}

	svg := filepath.Join(dir, "h.svg")
	vizOK(t, "--model", model, "--ids", ids, "--grid", "--cols", "2:6", "--out", svg)
	s := readFile(t, svg)
	for _, want := range []string{"layer 1", ">head 0<", ">head 3<", ">108<", ">9<"} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG grid lacks %s", want)
		}
	}
	if strings.Contains(s, ">108<") && !strings.Contains(s, ">17<") {
		t.Error("SVG grid lacks column labels of its window")
	}
}

// Bad input gives one line "attn: ..." and exit 1, before any output.
func TestVizErrors(t *testing.T) {
	dir := t.TempDir()
	model := goldenModels + "llama"
	ok := filepath.Join(dir, "x.png")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model, "--ids", "1,2", "--out", ok, "--layer", "2"}, "--layer 2: the model has 2 layers"},
		{[]string{"--model", model, "--ids", "1,2", "--out", ok, "--layer", "-5"}, "--layer -5"},
		{[]string{"--model", model, "--ids", "1,2", "--out", ok, "--head", "4"}, "--head 4: the model has 4 heads"},
		{[]string{"--model", model, "--ids", "1,2", "--out", filepath.Join(dir, "x.jpg")}, `unknown extension ".jpg"`},
		{[]string{"--model", model, "--ids", "1,2", "--out", filepath.Join(dir, "no", "x.png")}, "does not exist"},
		{[]string{"--model", model, "--ids", "1,2", "--out", dir + "/"}, "unknown extension"},
		{[]string{"--model", goldenModels + "bert", "--ids", "1,2", "--out", ok}, "bert encoder, not a decoder-only"},
		{[]string{"--model", dir, "--ids", "1,2", "--out", ok}, "viz needs a decoder-only checkpoint or a folder written by attn train"},
		{[]string{"--model", model, "--ids", "1,2", "--prompt", "hi", "--out", ok}, "exactly one of --prompt and --ids"},
		{[]string{"--model", model, "--ids", "1,x", "--out", ok}, "not an integer"},
		{[]string{"--model", model, "--ids", "1,999", "--out", ok}, "999"},
		{[]string{"--model", model, "--ids", "1,2", "--rows", "5:3", "--out", ok}, "--rows"},
		{[]string{"--model", model, "--ids", "1,2", "--rows", "1:9", "--out", ok}, "window rows [1,9)"},
		{[]string{"--model", model, "--prompt", "hello", "--out", ok}, "no tokenizer found"},
		{[]string{"--model", model, "--ids", "1,2"}, `"out" not set`},
	} {
		code, _, errOut := runCLI(t, append([]string{"viz"}, c.args...)...)
		if code != 1 || !strings.HasPrefix(errOut, "attn: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("viz %s: exit %d, stderr %q; want exit 1 and one line containing %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed runs left files: %v", ents)
	}
}

// A text prompt through a real llama2.c checkpoint and its tokenizer.
func TestVizStories260K(t *testing.T) {
	model := filepath.Join(sharedModelPath(t, "stories260K"), "stories260K.bin")
	dir := t.TempDir()
	html := filepath.Join(dir, "s.html")
	vizOK(t, "--model", model, "--prompt", "Once upon a time", "--out", html)
	page := readFile(t, html)
	for _, want := range []string{`" Once"`, `" upon"`, `"name":"layer 4"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	svg := filepath.Join(dir, "s.svg")
	vizOK(t, "--model", model, "--prompt", "Once upon a time", "--layer", "2", "--head", "5", "--out", svg)
	if s := readFile(t, svg); !strings.Contains(s, "> Once<") || !strings.Contains(s, "layer 2, head 5") {
		t.Error("SVG lacks the token labels or the title")
	}
}

// A checkpoint from attn train: the last decoder layer's cross-attention.
func TestVizTrainCheckpoint(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "train", "--task", "reverse", "--out", dir, "--steps", "5", "--batch", "8", "--d-model", "16",
		"--heads", "2", "--d-ff", "32", "--layers", "1", "--save-every", "1000", "--eval-every", "1000", "--quiet")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	html := filepath.Join(dir, "x.html")
	vizOK(t, "--model", dir, "--prompt", "31415926", "--out", html)
	page := readFile(t, html)
	for _, want := range []string{`"keys":["3","1","4","1","5","9","2","6"]`, "decoder layer 0 cross-attention", `"EOS"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, `"head":`); n != 2 {
		t.Errorf("page has %d heads, want 2", n)
	}
	png1 := filepath.Join(dir, "x.png")
	vizOK(t, "--model", dir, "--prompt", "31415926", "--head", "1", "--out", png1)
	decodePNG(t, png1)
	vizOK(t, "--model", dir, "--prompt", "31415926", "--grid", "--max-labels", "40", "--out", filepath.Join(dir, "g.svg"))
	if s := readFile(t, filepath.Join(dir, "g.svg")); !strings.Contains(s, ">head 1<") || !strings.Contains(s, ">EOS<") {
		t.Error("cross-attention grid lacks head titles or the EOS row")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--layer", "3"}, "--layer 3"},
		{[]string{"--head", "2"}, "--head 2: the model has 2 heads"},
		{[]string{"--prompt", "12ab"}, ""},
	} {
		args := append([]string{"viz", "--model", dir, "--prompt", "31415926", "--out", png1}, c.args...)
		code, _, errOut := runCLI(t, args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want one line containing %q", c.args, code, errOut, c.want)
		}
	}
}
