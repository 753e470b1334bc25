package viz

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attn-go/attn/tensor"
)

// w34 is a known 3×4 weight matrix with distinct colours per cell.
func w34(t *testing.T) *tensor.Tensor {
	t.Helper()
	w, err := tensor.FromSlice([]float32{
		0.10, 0.20, 0.30, 0.40,
		0.80, 0.00, 0.05, 0.15,
		0.25, 0.35, 0.45, 0.60,
	}, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func near(a, b color.Color, tol int) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) int { return int(x>>8) - int(y>>8) }
	abs := func(v int) int { return max(v, -v) }
	return abs(d(r1, r2)) <= tol && abs(d(g1, g2)) <= tol && abs(d(b1, b2)) <= tol
}

// pixel returns the image pixel at canvas point (x, y) in points.
func pixel(img image.Image, x, y float64) color.Color {
	s := float64(DPI) / 72
	h := img.Bounds().Dy()
	return img.At(int(x*s), h-1-int(y*s))
}

func TestColorAtAnchors(t *testing.T) {
	for _, c := range []struct {
		t    float64
		want color.RGBA
	}{
		{0, color.RGBA{0x44, 0x01, 0x54, 0xff}},
		{0.5, color.RGBA{0x26, 0x82, 0x8e, 0xff}},
		{1, color.RGBA{0xfd, 0xe7, 0x25, 0xff}},
		{-3, color.RGBA{0x44, 0x01, 0x54, 0xff}},
		{7, color.RGBA{0xfd, 0xe7, 0x25, 0xff}},
		{1.0 / 16, color.RGBA{0x46, 0x15, 0x66, 0xff}}, // halfway between the first two stops
	} {
		if got := ColorAt(c.t); got != c.want {
			t.Errorf("ColorAt(%v) = %v, want %v", c.t, got, c.want)
		}
	}
}

// Each cell's centre pixel has the palette colour of its weight (scale 0 to
// the largest weight, 0.8), and the colour bar runs from the bottom colour
// to the top colour.
func TestHeatmapPNGCellColours(t *testing.T) {
	w := w34(t)
	var buf bytes.Buffer
	geom, err := heatmap(&buf, PNG, w, HeatmapOptions{Title: "known", Rows: []string{"a", "b", "c"}, Cols: []string{"w", "x", "y", "z"}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if geom.rows != 3 || geom.cols != 4 {
		t.Fatalf("drew %d×%d cells, want 3×4", geom.rows, geom.cols)
	}
	cw := float64(geom.data.Max.X-geom.data.Min.X) / 4
	ch := float64(geom.data.Max.Y-geom.data.Min.Y) / 3
	if cw < 20 || ch < 20 {
		t.Fatalf("cells %.1f×%.1f points: too small to test", cw, ch)
	}
	for i := range 3 {
		for j := range 4 {
			x := float64(geom.data.Min.X) + (float64(j)+0.5)*cw
			y := float64(geom.data.Max.Y) - (float64(i)+0.5)*ch
			want := ColorAt(float64(w.At(i, j)) / 0.8)
			if got := pixel(img, x, y); !near(got, want, 1) {
				t.Errorf("cell (%d,%d) weight %.2f: centre pixel %v, want %v", i, j, w.At(i, j), got, want)
			}
		}
	}
	// The largest weight is the top of the scale, a zero weight its bottom.
	if got := pixel(img, float64(geom.data.Min.X)+0.5*cw, float64(geom.data.Max.Y)-1.5*ch); !near(got, color.RGBA{0xfd, 0xe7, 0x25, 0xff}, 1) {
		t.Errorf("the 0.8 cell is %v, want viridis yellow", got)
	}
	// The colour bar: a column through its middle goes from ColorAt(≈0)
	// at the bottom to ColorAt(≈1) at the top, through the middle colour.
	bx := float64(geom.bar.Min.X+geom.bar.Max.X) / 2
	by0, by1 := float64(geom.bar.Min.Y), float64(geom.bar.Max.Y)
	if by1-by0 < 100 || geom.bar.Max.X-geom.bar.Min.X < 5 {
		t.Fatalf("colour bar %v is too small", geom.bar)
	}
	for _, f := range []float64{0.02, 0.5, 0.98} {
		got := pixel(img, bx, by0+f*(by1-by0))
		if want := ColorAt(f); !near(got, want, 4) {
			t.Errorf("colour bar at %.0f%% height: %v, want %v", 100*f, got, want)
		}
	}
}

// The SVG is well-formed XML, holds every label (escaped), and has one
// filled path per cell in the cell's colour.
func TestHeatmapSVG(t *testing.T) {
	w := w34(t)
	var buf bytes.Buffer
	rows := []string{"alpha", "<b>&amp", "gamma\n"}
	cols := []string{"k0", "k1", "k2", "k3"}
	if err := Heatmap(&buf, SVG, w, HeatmapOptions{Title: "svg title", Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	dec := xml.NewDecoder(strings.NewReader(svg))
	var texts []string
	var fills []color.RGBA
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if e.Name.Local == "path" {
				for _, a := range e.Attr {
					var r, g, b uint8
					if a.Name.Local == "style" && strings.HasPrefix(a.Value, "fill:#") {
						if _, err := fmt.Sscanf(a.Value[len("fill:#"):len("fill:#rrggbb")], "%02x%02x%02x", &r, &g, &b); err != nil {
							t.Fatalf("fill %q: %v", a.Value, err)
						}
						fills = append(fills, color.RGBA{r, g, b, 0xff})
					}
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(e)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	for _, want := range []string{"svg title", "alpha", "<b>&amp", `gamma\n`, "k0", "k3", "query", "key", "weight"} {
		found := false
		for _, s := range texts {
			found = found || s == want
		}
		if !found {
			t.Errorf("SVG text lacks %q (has %q)", want, texts)
		}
	}
	// vgsvg writes colours truncated from 16 bits, so allow 1 per channel.
	for i := range 3 {
		for j := range 4 {
			want := ColorAt(float64(w.At(i, j)) / 0.8)
			same, n := 0, 0
			for k := range 3 {
				for l := range 4 {
					if ColorAt(float64(w.At(k, l))/0.8) == want {
						same++
					}
				}
			}
			for _, c := range fills {
				if near(c, want, 1) {
					n++
				}
			}
			if n != same {
				t.Errorf("cell (%d,%d): %d paths filled %v, want %d (one per cell of that weight)", i, j, n, want, same)
			}
		}
	}
}

func TestThinLabels(t *testing.T) {
	for _, c := range []struct{ n, max int }{{0, 40}, {1, 40}, {40, 40}, {41, 40}, {100, 40}, {4096, 40}, {7, 3}, {1000, 0}} {
		got := ThinLabels(c.n, c.max)
		m := c.max
		if m == 0 {
			m = DefaultMaxLabels
		}
		if len(got) > m {
			t.Errorf("ThinLabels(%d, %d) kept %d > %d", c.n, c.max, len(got), m)
		}
		if c.n > 0 && (len(got) == 0 || got[0] != 0) {
			t.Errorf("ThinLabels(%d, %d) = %v: want to start at 0", c.n, c.max, got)
		}
		if c.n <= m && len(got) != c.n {
			t.Errorf("ThinLabels(%d, %d) kept %d, want all", c.n, c.max, len(got))
		}
		if c.n > 2*m && len(got) < m/2 {
			t.Errorf("ThinLabels(%d, %d) kept only %d", c.n, c.max, len(got))
		}
		for k := 2; k < len(got); k++ {
			if got[k]-got[k-1] != got[1]-got[0] {
				t.Errorf("ThinLabels(%d, %d) not evenly spaced: %v", c.n, c.max, got)
				break
			}
		}
	}
}

// A long input's SVG has at most MaxLabels labels per axis.
func TestHeatmapLabelThinning(t *testing.T) {
	const T = 300
	w := tensor.Must(tensor.New(T, T))
	labels := make([]string, T)
	for i := range labels {
		labels[i] = fmt.Sprintf("tok%03d", i)
		w.Set(1, i, i)
	}
	var buf bytes.Buffer
	if err := Heatmap(&buf, SVG, w, HeatmapOptions{Rows: labels, Cols: labels, MaxLabels: 25}); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(buf.String(), ">tok")
	if n == 0 || n > 2*25 {
		t.Errorf("%d labels drawn on two axes, want 1 to 50", n)
	}
	if !strings.Contains(buf.String(), ">tok000<") || !strings.Contains(buf.String(), "<image") {
		t.Errorf("want label tok000 and a raster image for %d×%d cells", T, T)
	}
}

// A window draws only its block, labelled with its positions.
func TestHeatmapWindow(t *testing.T) {
	w := w34(t)
	var buf bytes.Buffer
	geom, err := heatmap(&buf, PNG, w, HeatmapOptions{Window: Window{Row0: 1, Row1: 3, Col0: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if geom.rows != 2 || geom.cols != 2 {
		t.Fatalf("window drew %d×%d cells, want 2×2", geom.rows, geom.cols)
	}
	img, _ := png.Decode(&buf)
	cw := float64(geom.data.Max.X-geom.data.Min.X) / 2
	ch := float64(geom.data.Max.Y-geom.data.Min.Y) / 2
	for i := range 2 {
		for j := range 2 {
			v := float64(w.At(1+i, 2+j)) / 0.6 // the window's largest weight is 0.6
			got := pixel(img, float64(geom.data.Min.X)+(float64(j)+0.5)*cw, float64(geom.data.Max.Y)-(float64(i)+0.5)*ch)
			if !near(got, ColorAt(v), 1) {
				t.Errorf("window cell (%d,%d): %v, want %v", i, j, got, ColorAt(v))
			}
		}
	}
	buf.Reset()
	if err := Heatmap(&buf, SVG, w, HeatmapOptions{Window: Window{Row0: 1, Row1: 3, Col0: 2}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{">1<", ">2<", ">3<"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("window SVG lacks position label %s", s)
		}
	}
	for _, bad := range []Window{{Row0: 2, Row1: 2}, {Row1: 4}, {Col0: -1}, {Col0: 3, Col1: 9}} {
		if err := Heatmap(io.Discard, PNG, w, HeatmapOptions{Window: bad}); err == nil || !strings.Contains(err.Error(), "window") {
			t.Errorf("window %+v: err %v, want a window error", bad, err)
		}
	}
}

func TestHeatmapErrors(t *testing.T) {
	w := w34(t)
	dir := t.TempDir()
	cases := []struct {
		err  error
		want string
	}{
		{Heatmap(io.Discard, PNG, tensor.Must(tensor.New(2, 3, 4)), HeatmapOptions{}), "want [T,S]"},
		{Heatmap(io.Discard, PNG, nil, HeatmapOptions{}), "nil"},
		{Heatmap(io.Discard, PNG, w, HeatmapOptions{Rows: []string{"a"}}), "1 query labels for 3"},
		{Heatmap(io.Discard, "jpg", w, HeatmapOptions{}), "want png or svg"},
		{WriteHeatmap(filepath.Join(dir, "x.gif"), w, HeatmapOptions{}), "unknown extension"},
		{WriteHeatmap(filepath.Join(dir, "missing", "x.png"), w, HeatmapOptions{}), "cannot write"},
		{Grid(io.Discard, PNG, nil, GridOptions{}), "no heads"},
		{Grid(io.Discard, PNG, []*tensor.Tensor{w, tensor.Must(tensor.New(4, 3))}, GridOptions{}), "head 1 has shape"},
		{Heatmap(io.Discard, PNG, w, HeatmapOptions{Max: -1}), "maximum"},
	}
	for i, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("case %d: err %v, want one containing %q", i, c.err, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left files: %v", ents)
	}
}

// A grid has a title per head, one colour bar, and every head's cells.
func TestGrid(t *testing.T) {
	w := w34(t)
	heads, err := Heads(tensor.Must(tensor.FromSlice(append(append([]float32{}, w.Data()...), w.Data()...), 2, 3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Grid(&buf, SVG, heads, GridOptions{Title: "layer 3", HeadTitles: []string{"first head", "second head"}}); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	for _, s := range []string{">layer 3<", ">first head<", ">second head<", ">weight<"} {
		if !strings.Contains(svg, s) {
			t.Errorf("grid SVG lacks %s", s)
		}
	}
	if n := strings.Count(svg, "<path"); n < 2*12 {
		t.Errorf("grid SVG has %d paths, want at least one per cell of both heads (24)", n)
	}
	dir := t.TempDir()
	if err := WriteGrid(filepath.Join(dir, "g.png"), heads, GridOptions{}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(dir, "g.png"))
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("grid PNG: %v", err)
	}
}

func TestDisplayLabel(t *testing.T) {
	for in, want := range map[string]string{
		"hello":                  "hello",
		" the":                   " the",
		"\n":                     `\n`,
		" ":                      `" "`,
		"a\tb\x00":               `a\tb\x00`,
		"\xff":                   "\uFFFD",
		"abcdefghijklmnopqrstuv": "abcdefghijklmno…",
		"日本語":                    "日本語",
	} {
		if got := DisplayLabel(in); got != want {
			t.Errorf("DisplayLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
