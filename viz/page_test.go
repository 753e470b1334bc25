package viz

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/attn-go/attn/tensor"
)

// softmaxRows fills a [T,S] tensor with random rows that sum to 1.
func softmaxRows(rng *rand.Rand, T, S int) *tensor.Tensor {
	w := tensor.Must(tensor.New(T, S))
	for i := range T {
		var sum float32
		row := w.Row(i)
		for j := range row {
			row[j] = rng.Float32() * rng.Float32() * rng.Float32()
			sum += row[j]
		}
		for j := range row {
			row[j] /= sum
		}
	}
	return w
}

// pageJSON extracts and decodes the data embedded in a page.
func pageJSON(t *testing.T, html string) pageData {
	t.Helper()
	const start, end = "const ATTN_DATA = ", ";</script>"
	i := strings.Index(html, start)
	if i < 0 {
		t.Fatal("page has no ATTN_DATA")
	}
	j := strings.Index(html[i:], end)
	if j < 0 {
		t.Fatal("ATTN_DATA is not closed")
	}
	var d pageData
	if err := json.Unmarshal([]byte(html[i+len(start):i+j]), &d); err != nil {
		t.Fatalf("ATTN_DATA is not JSON: %v", err)
	}
	return d
}

func renderPage(t *testing.T, p *Page) string {
	t.Helper()
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// Tokens cannot break out of the data script, and arrive intact.
func TestPageEscapesTokens(t *testing.T) {
	evil := []string{
		"</script><script>alert(1)</script>",
		`"quoted' & <!-- -->`,
		"line\nbreak",
		"\u2028sep\u2029",
		"é日本🙂",
		"{{.Title}}",
	}
	w := tensor.Must(tensor.New(len(evil), len(evil)))
	for i := range evil {
		w.Set(1, i, i)
	}
	p, err := NewPage(evil, evil, PageOptions{Title: "<title>&</title>"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Add(0, 0, w); err != nil {
		t.Fatal(err)
	}
	html := renderPage(t, p)
	if n := strings.Count(html, "<script"); n != 2 {
		t.Errorf("%d <script elements, want 2 (data and code)", n)
	}
	if n := strings.Count(html, "</script>"); n != 2 {
		t.Errorf("%d </script> tags, want 2", n)
	}
	for _, bad := range []string{"<script>alert", "<!--", "\u2028", "<title>&</title>"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	d := pageJSON(t, html)
	for i, tok := range evil {
		if d.Queries[i] != DisplayLabel(tok) || d.Keys[i] != DisplayLabel(tok) {
			t.Errorf("token %d: got %q/%q, want %q", i, d.Queries[i], d.Keys[i], DisplayLabel(tok))
		}
	}
	if d.Queries[0] != "</script><scrip…" {
		t.Errorf("token 0 shown as %q", d.Queries[0])
	}
	if d.Title != "<title>&</title>" {
		t.Errorf("title %q", d.Title)
	}
}

// The page refers to nothing outside itself.
func TestPageSelfContained(t *testing.T) {
	p, _ := NewPage([]string{"a", "b"}, []string{"a", "b"}, PageOptions{})
	_ = p.Add(0, 0, tensor.Must(tensor.FromSlice([]float32{1, 0, 0.5, 0.5}, 2, 2)))
	html := renderPage(t, p)
	for _, re := range []string{
		`(?i)\b(src|href|action|poster|srcset)\s*=\s*["']?\s*(https?:|//|ftp:)`,
		`(?i)url\(\s*["']?\s*(https?:|//)`,
		`(?i)@import`,
		`(?i)\b(fetch|XMLHttpRequest|WebSocket|EventSource|importScripts)\b`,
		`(?i)<(iframe|object|embed|link[^>]*stylesheet)`,
	} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("page has an external reference: %q", m)
		}
	}
	// The only URL is the SVG namespace name, which is never fetched.
	if n, ns := strings.Count(html, "http"), strings.Count(html, `"http://www.w3.org/2000/svg"`); n != ns || ns != 1 {
		t.Errorf("%d occurrences of http, %d of them the SVG namespace; want exactly that one", n, ns)
	}
}

// Large heads keep each row's top-k weights, largest first; small heads
// keep everything.
func TestPageTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const T, S, k = 70, 90, 5
	w := softmaxRows(rng, T, S)
	// A row of ties: the lower columns win.
	for j := range S {
		w.Set(1/float32(S), 3, j)
	}
	labels := func(n int) []string { return make([]string, n) }
	p, err := NewPage(labels(T), labels(S), PageOptions{TopK: k})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Add(2, 1, w); err != nil {
		t.Fatal(err)
	}
	small := softmaxRows(rng, 4, 6)
	p2, _ := NewPage(labels(4), labels(6), PageOptions{TopK: k})
	if err := p2.Add(0, 0, small); err != nil {
		t.Fatal(err)
	}
	d := pageJSON(t, renderPage(t, p))
	h := d.Layers[0].Heads[0]
	if d.Layers[0].Layer != 2 || h.Head != 1 || h.Full != nil || len(h.Edges) != T {
		t.Fatalf("layer %d head %d: full %v, %d edge rows; want layer 2 head 1 as %d rows of edges", d.Layers[0].Layer, h.Head, h.Full != nil, len(h.Edges), T)
	}
	for i := range T {
		row := w.Row(i)
		idx := make([]int, S)
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		e := h.Edges[i]
		if len(e) != 2*k {
			t.Fatalf("row %d: %d edges, want %d", i, len(e)/2, k)
		}
		for n := range k {
			col, q := int(e[2*n]), e[2*n+1]
			if col != idx[n] {
				t.Errorf("row %d edge %d: column %d, want %d", i, n, col, idx[n])
			}
			if want := quantize(float64(row[idx[n]])); q != want {
				t.Errorf("row %d edge %d: weight %d, want %d", i, n, q, want)
			}
		}
	}
	if got := h.Edges[3]; got[0] != 0 || got[2] != 1 || got[8] != 4 {
		t.Errorf("tied row: columns %v, want 0..4", got)
	}
	d2 := pageJSON(t, renderPage(t, p2))
	h2 := d2.Layers[0].Heads[0]
	if h2.Edges != nil || len(h2.Full) != 24 {
		t.Fatalf("small head: %d full weights, want all 24", len(h2.Full))
	}
	for i := range 4 {
		for j := range 6 {
			if got, want := h2.Full[i*6+j], quantize(float64(small.At(i, j))); got != want {
				t.Errorf("full (%d,%d) = %d, want %d", i, j, got, want)
			}
		}
	}
}

// Add copies what it keeps: the caller may reuse its buffer. Thumbnails
// average down to ThumbSize and keep a diagonal visible.
func TestPageStreamingAndThumbnails(t *testing.T) {
	const T = 200
	labels := make([]string, T)
	p, err := NewPage(labels, labels, PageOptions{ThumbSize: 20, TopK: 2})
	if err != nil {
		t.Fatal(err)
	}
	buf := tensor.Must(tensor.New(T, T))
	for h := range 3 {
		for i := range T {
			row := buf.Row(i)
			clear(row)
			row[(i+h)%T] = 1
		}
		if err := p.Add(0, h, buf); err != nil {
			t.Fatal(err)
		}
	}
	clear(buf.Data())
	d := pageJSON(t, renderPage(t, p))
	for h, hd := range d.Layers[0].Heads {
		if hd.Head != h || hd.Max != weightScale {
			t.Errorf("head %d: head %d max %d", h, hd.Head, hd.Max)
		}
		for i := range T {
			if e := hd.Edges[i]; len(e) != 2 || int(e[0]) != (i+h)%T || e[1] != weightScale {
				t.Fatalf("head %d row %d edges %v, want [%d %d]", h, i, e, (i+h)%T, weightScale)
			}
		}
		th := hd.Thumb
		if th.Rows != 20 || th.Cols != 20 || len(th.V) != 400 {
			t.Fatalf("thumb %d×%d with %d values, want 20×20", th.Rows, th.Cols, len(th.V))
		}
		if h == 0 {
			for a := range 20 {
				for b := range 20 {
					v := th.V[a*20+b]
					if a == b && v != 255 || a != b && v != 0 {
						t.Fatalf("identity thumb (%d,%d) = %d", a, b, v)
					}
				}
			}
		}
	}
}

func TestPageWindowAndErrors(t *testing.T) {
	labels := []string{"a", "b", "c", "d", "e"}
	w := tensor.Must(tensor.New(5, 5))
	for i := range 5 {
		for j := range 5 {
			w.Set(float32(10*i+j)/100, i, j)
		}
	}
	p, err := NewPage(labels, labels, PageOptions{Window: Window{Row0: 1, Row1: 3, Col0: 2}, LayerNames: map[int]string{4: "last"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Add(4, 0, w); err != nil {
		t.Fatal(err)
	}
	d := pageJSON(t, renderPage(t, p))
	if strings.Join(d.Queries, "") != "bc" || strings.Join(d.Keys, "") != "cde" || d.RowOffset != 1 || d.ColOffset != 2 {
		t.Errorf("window: queries %v keys %v offsets %d,%d", d.Queries, d.Keys, d.RowOffset, d.ColOffset)
	}
	if h := d.Layers[0].Heads[0]; len(h.Full) != 6 || h.Full[0] != quantize(0.12) || h.Full[5] != quantize(0.24) {
		t.Errorf("window weights %v", h.Full)
	}
	if d.Layers[0].Name != "last" {
		t.Errorf("layer name %q", d.Layers[0].Name)
	}
	for i, c := range []struct {
		err  error
		want string
	}{
		{p.Add(4, 0, w), "added twice"},
		{p.Add(0, 1, tensor.Must(tensor.New(5, 4))), "want [5 5]"},
		{p.Add(-1, 0, w), "want >= 0"},
		{func() error { _, err := NewPage(labels, labels, PageOptions{Window: Window{Row0: 6}}); return err }(), "window"},
		{func() error { _, err := NewPage(nil, labels, PageOptions{}); return err }(), "at least one"},
		{func() error { _, err := NewPage(labels, labels, PageOptions{TopK: -2}); return err }(), "positive"},
		{func() error { q, _ := NewPage(labels, labels, PageOptions{}); return q.Write(&bytes.Buffer{}) }(), "no heads"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("case %d: err %v, want one containing %q", i, c.err, c.want)
		}
	}
}
