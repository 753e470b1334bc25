package viz

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"

	"github.com/attn-go/attn/tensor"
)

// Defaults of PageOptions.
const (
	DefaultTopK      = 8
	DefaultFullCells = 64 * 64
	DefaultThumbSize = 48
)

// weightScale is the fixed-point unit of weights in the page's data: a
// weight w is stored as round(w·10000).
const weightScale = 10000

// PageOptions configure the HTML head view and model view.
type PageOptions struct {
	Title string
	// TopK is how many of each query row's largest weights are kept when a
	// head's (windowed) matrix has more than FullCells cells (default 8).
	TopK int
	// FullCells is the largest T·S kept whole (default 4096, 64×64).
	FullCells int
	// ThumbSize is the largest side, in cells, of a head's thumbnail in
	// the model view (default 48); larger matrices are averaged down.
	ThumbSize int
	// Window keeps only query rows [Row0,Row1) and key columns
	// [Col0,Col1); the zero Window keeps everything.
	Window Window
	// LayerNames name layers in the layer selector (default "layer N").
	LayerNames map[int]string
}

// Page collects what the HTML page shows, one head at a time: for each
// added (layer, head) it keeps the windowed matrix when it is small, else
// the top-k weights of each query row, plus an averaged thumbnail. A head's
// full matrix is never kept past Add, so a long input costs O(T·k) per
// head, not O(T·S).
type Page struct {
	opt        PageOptions
	T, S       int
	win        Window
	rows, cols []string
	heads      map[[2]int]*pageHead
}

// pageHead is one head's data as the page's script reads it.
type pageHead struct {
	Layer int `json:"layer"`
	Head  int `json:"head"`
	// Full is the row-major windowed matrix in units of 1/10000, or nil.
	Full []int32 `json:"full,omitempty"`
	// Edges holds, per query row, pairs (column, weight) of the top-k
	// weights, largest first; nil when Full is set.
	Edges [][]int32 `json:"edges,omitempty"`
	// Max is the largest weight in the window, in units of 1/10000.
	Max   int32 `json:"max"`
	Thumb thumb `json:"thumb"`
}

// thumb is a head's matrix averaged down to Rows×Cols cells, scaled so
// its largest cell is 255.
type thumb struct {
	Rows int     `json:"rows"`
	Cols int     `json:"cols"`
	V    []uint8 `json:"v"`
}

// pageData is the JSON embedded in the page.
type pageData struct {
	Title     string      `json:"title"`
	Queries   []string    `json:"queries"`
	Keys      []string    `json:"keys"`
	RowOffset int         `json:"rowOffset"`
	ColOffset int         `json:"colOffset"`
	Scale     int         `json:"scale"`
	TopK      int         `json:"topK"`
	Palette   [][3]uint8  `json:"palette"`
	Layers    []pageLayer `json:"layers"`
}

type pageLayer struct {
	Layer int         `json:"layer"`
	Name  string      `json:"name"`
	Heads []*pageHead `json:"heads"`
}

// NewPage starts a page for attention from queries (the T rows) to keys
// (the S columns); for self-attention both are the same tokens.
func NewPage(queries, keys []string, opt PageOptions) (*Page, error) {
	if len(queries) == 0 || len(keys) == 0 {
		return nil, fmt.Errorf("viz: NewPage: %d query and %d key labels; want at least one of each", len(queries), len(keys))
	}
	if opt.TopK == 0 {
		opt.TopK = DefaultTopK
	}
	if opt.FullCells == 0 {
		opt.FullCells = DefaultFullCells
	}
	if opt.ThumbSize == 0 {
		opt.ThumbSize = DefaultThumbSize
	}
	if opt.TopK < 1 || opt.FullCells < 0 || opt.ThumbSize < 1 {
		return nil, fmt.Errorf("viz: NewPage: TopK %d, FullCells %d, ThumbSize %d: want positive values", opt.TopK, opt.FullCells, opt.ThumbSize)
	}
	win, err := opt.Window.resolve(len(queries), len(keys))
	if err != nil {
		return nil, err
	}
	rows, _ := labelsFor(queries, len(queries), win.Row0, win.Row1, "query")
	cols, _ := labelsFor(keys, len(keys), win.Col0, win.Col1, "key")
	return &Page{opt: opt, T: len(queries), S: len(keys), win: win, rows: rows, cols: cols, heads: map[[2]int]*pageHead{}}, nil
}

// Add records one head's weights w [T,S]. w may be a reused buffer: Add
// copies what it keeps and does not hold on to w.
func (p *Page) Add(layer, head int, w *tensor.Tensor) error {
	if layer < 0 || head < 0 {
		return fmt.Errorf("viz: Add: layer %d, head %d: want >= 0", layer, head)
	}
	if w == nil || w.Rank() != 2 || w.Dim(0) != p.T || w.Dim(1) != p.S {
		var shape []int
		if w != nil {
			shape = w.Shape()
		}
		return fmt.Errorf("viz: Add: layer %d head %d weights have shape %v, want [%d %d]", layer, head, shape, p.T, p.S)
	}
	key := [2]int{layer, head}
	if _, dup := p.heads[key]; dup {
		return fmt.Errorf("viz: Add: layer %d head %d added twice", layer, head)
	}
	m, err := newMatrix("weights", w, p.win)
	if err != nil {
		return err
	}
	ph := &pageHead{Layer: layer, Head: head}
	R, C := m.rows(), m.cols()
	var mx float64
	if R*C <= p.opt.FullCells {
		ph.Full = make([]int32, R*C)
		for i := range R {
			for j := range C {
				v := m.at(i, j)
				ph.Full[i*C+j] = quantize(v)
				mx = maxFinite(mx, v)
			}
		}
	} else {
		ph.Edges = make([][]int32, R)
		row := make([]float64, C)
		for i := range R {
			for j := range C {
				row[j] = m.at(i, j)
				mx = maxFinite(mx, row[j])
			}
			ph.Edges[i] = topK(row, p.opt.TopK)
		}
	}
	ph.Max = quantize(mx)
	ph.Thumb = makeThumb(m, p.opt.ThumbSize)
	p.heads[key] = ph
	return nil
}

func maxFinite(mx, v float64) float64 {
	if v > mx && !math.IsInf(v, 1) {
		return v
	}
	return mx
}

// quantize stores a weight in units of 1/weightScale, clamped to [0, 1];
// NaN is stored as 0.
func quantize(v float64) int32 {
	if !(v > 0) {
		return 0
	}
	if v > 1 {
		v = 1
	}
	return int32(math.Round(v * weightScale))
}

// topK returns the k largest positive weights of row as pairs
// (column, quantized weight), largest first, the lower column first on
// ties. Weights that quantize to 0 are dropped. It keeps a sorted list of
// at most k columns, so a row costs O(S) for small k.
func topK(row []float64, k int) []int32 {
	best := make([]int, 0, k+1)
	for j, v := range row {
		if quantize(v) == 0 || (len(best) == k && !(v > row[best[k-1]])) {
			continue
		}
		// Insert after every kept weight >= v: earlier columns win ties.
		at := len(best)
		for at > 0 && row[best[at-1]] < v {
			at--
		}
		best = append(best, 0)
		copy(best[at+1:], best[at:])
		best[at] = j
		if len(best) > k {
			best = best[:k]
		}
	}
	out := make([]int32, 0, 2*len(best))
	for _, j := range best {
		out = append(out, int32(j), quantize(row[j]))
	}
	return out
}

// makeThumb averages m down to at most size×size cells.
func makeThumb(m *matrix, size int) thumb {
	R, C := m.rows(), m.cols()
	tr, tc := min(R, size), min(C, size)
	sum := make([]float64, tr*tc)
	cnt := make([]float64, tr*tc)
	for i := range R {
		a := i * tr / R
		for j := range C {
			v := m.at(i, j)
			if !(v >= 0) || math.IsInf(v, 1) {
				v = 0
			}
			b := j * tc / C
			sum[a*tc+b] += v
			cnt[a*tc+b]++
		}
	}
	var mx float64
	for i := range sum {
		sum[i] /= cnt[i]
		mx = math.Max(mx, sum[i])
	}
	t := thumb{Rows: tr, Cols: tc, V: make([]uint8, tr*tc)}
	if mx > 0 {
		for i, v := range sum {
			t.V[i] = uint8(math.Round(255 * v / mx))
		}
	}
	return t
}

// MarshalJSON of thumb writes V as numbers, not base64.
func (t thumb) MarshalJSON() ([]byte, error) {
	v := make([]int, len(t.V))
	for i, x := range t.V {
		v[i] = int(x)
	}
	return json.Marshal(struct {
		Rows int   `json:"rows"`
		Cols int   `json:"cols"`
		V    []int `json:"v"`
	}{t.Rows, t.Cols, v})
}

func (p *Page) data() pageData {
	d := pageData{
		Title: p.opt.Title, Queries: p.rows, Keys: p.cols,
		RowOffset: p.win.Row0, ColOffset: p.win.Col0,
		Scale: weightScale, TopK: p.opt.TopK,
	}
	for _, a := range viridisAnchors {
		d.Palette = append(d.Palette, a)
	}
	byLayer := map[int]*pageLayer{}
	for _, h := range p.heads {
		l := byLayer[h.Layer]
		if l == nil {
			name := p.opt.LayerNames[h.Layer]
			if name == "" {
				name = fmt.Sprintf("layer %d", h.Layer)
			}
			l = &pageLayer{Layer: h.Layer, Name: name}
			byLayer[h.Layer] = l
		}
		l.Heads = append(l.Heads, h)
	}
	for _, l := range byLayer {
		sort.Slice(l.Heads, func(a, b int) bool { return l.Heads[a].Head < l.Heads[b].Head })
		d.Layers = append(d.Layers, *l)
	}
	sort.Slice(d.Layers, func(a, b int) bool { return d.Layers[a].Layer < d.Layers[b].Layer })
	return d
}

//go:embed page.html
var pageHTML string

//go:embed page.js
var pageJS string

//go:embed page.css
var pageCSS string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// scriptJSON marshals v for a <script> element. encoding/json escapes <,
// > and & as \u003c, \u003e and \u0026 (and U+2028, U+2029), so no token
// can close the element or open a comment; the result is also a valid
// JavaScript expression.
func scriptJSON(v any) (template.JS, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if bytes.Contains(b, []byte("</")) || bytes.Contains(b, []byte("<!--")) {
		return "", fmt.Errorf("viz: internal error: unescaped markup in page data")
	}
	return template.JS(b), nil
}

// Write writes the page: one HTML file with its script, style and data
// inline and no external references, to be opened from disk.
func (p *Page) Write(out io.Writer) error {
	if len(p.heads) == 0 {
		return fmt.Errorf("viz: the page has no heads; Add at least one")
	}
	data, err := scriptJSON(p.data())
	if err != nil {
		return err
	}
	title := p.opt.Title
	if title == "" {
		title = "attention"
	}
	return pageTemplate.Execute(out, struct {
		Title string
		CSS   template.CSS
		JS    template.JS
		Data  template.JS
	}{title, template.CSS(pageCSS), template.JS(pageJS), data})
}

// WriteFile writes the page to path, replacing it atomically.
func (p *Page) WriteFile(path string) error {
	return writeFile(path, p.Write)
}
