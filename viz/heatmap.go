package viz

import (
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/attn-go/attn/tensor"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is an output format, named like the file extension.
type Format string

// The formats viz writes.
const (
	PNG  Format = "png"
	SVG  Format = "svg"
	HTML Format = "html"
)

// FormatOf picks the format from a file name's extension (.png, .svg,
// .html or .htm; any case).
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return PNG, nil
	case ".svg":
		return SVG, nil
	case ".html", ".htm":
		return HTML, nil
	}
	return "", fmt.Errorf("viz: %s: unknown extension %q (want .png, .svg or .html)", path, filepath.Ext(path))
}

// DPI is the resolution of PNG output.
const DPI = 96

// rasterCells is the number of cells above which a heatmap is drawn as one
// image (one pixel per cell, scaled) rather than one rectangle per cell.
const rasterCells = 128 * 128

// HeatmapOptions describe one head's picture.
type HeatmapOptions struct {
	Title string
	// Rows and Cols label the query rows and key columns of the whole
	// matrix (before the Window is applied); nil labels with positions.
	Rows, Cols []string
	// Window selects the block drawn; the zero Window is everything.
	Window Window
	// MaxLabels is the most tick labels per axis (default 40); labels are
	// thinned to every k-th position.
	MaxLabels int
	// Max is the weight at the top of the colour scale (the bottom is 0);
	// 0 means the largest weight drawn.
	Max float64
	// Width and Height of the picture; 0 picks a size from the matrix.
	Width, Height vg.Length
}

// matrix is a rank-2 tensor's window, read through its strides.
type matrix struct {
	t   *tensor.Tensor
	w   Window
	s0  int
	s1  int
	off int
}

func newMatrix(arg string, t *tensor.Tensor, w Window) (*matrix, error) {
	if t == nil {
		return nil, fmt.Errorf("viz: %s is nil", arg)
	}
	if t.Rank() != 2 {
		return nil, fmt.Errorf("viz: %s has shape %v, want [T,S]", arg, t.Shape())
	}
	rw, err := w.resolve(t.Dim(0), t.Dim(1))
	if err != nil {
		return nil, err
	}
	st := t.Strides()
	return &matrix{t: t, w: rw, s0: st[0], s1: st[1], off: t.Offset()}, nil
}

func (m *matrix) rows() int { return m.w.rows() }
func (m *matrix) cols() int { return m.w.cols() }

// at is the weight at (i, j) of the window.
func (m *matrix) at(i, j int) float64 {
	return float64(m.t.Data()[m.off+(m.w.Row0+i)*m.s0+(m.w.Col0+j)*m.s1])
}

func (m *matrix) max() float64 {
	mx := 0.0
	for i := range m.rows() {
		for j := range m.cols() {
			if v := m.at(i, j); v > mx {
				mx = v
			}
		}
	}
	return mx
}

// scaleTop is the weight at the top of the colour scale: max if given,
// else the largest weight of ms (1 when every weight is 0).
func scaleTop(max float64, ms ...*matrix) (float64, error) {
	if math.IsNaN(max) || math.IsInf(max, 0) || max < 0 {
		return 0, fmt.Errorf("viz: colour scale maximum %v: want a finite value >= 0 (0 = automatic)", max)
	}
	if max > 0 {
		return max, nil
	}
	for _, m := range ms {
		max = math.Max(max, m.max())
	}
	if max == 0 {
		max = 1
	}
	return max, nil
}

// Heads splits a [H,T,S] tensor into its H heads' [T,S] views (no copy).
func Heads(w *tensor.Tensor) ([]*tensor.Tensor, error) {
	if w == nil || w.Rank() != 3 {
		var shape []int
		if w != nil {
			shape = w.Shape()
		}
		return nil, fmt.Errorf("viz: weights have shape %v, want [H,T,S]", shape)
	}
	out := make([]*tensor.Tensor, w.Dim(0))
	for h := range out {
		v, err := w.Select(0, h)
		if err != nil {
			return nil, err
		}
		out[h] = v
	}
	return out, nil
}

// cellGeometry records where a heatmap's cells landed, in canvas
// coordinates (points, origin at the bottom left), for tests.
type cellGeometry struct {
	rows, cols int
	data       vg.Rectangle // the cells' area
	bar        vg.Rectangle // the colour bar's area
}

// cells is the plot.Plotter that draws the matrix: row 0 at the top.
type cells struct {
	m     *matrix
	sc    *scale
	geom  *cellGeometry
	image bool
}

func (c *cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, float64(c.m.cols()), 0, float64(c.m.rows())
}

func (c *cells) Plot(dc draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&dc)
	R, C := c.m.rows(), c.m.cols()
	area := vg.Rectangle{Min: vg.Point{X: trX(0), Y: trY(0)}, Max: vg.Point{X: trX(float64(C)), Y: trY(float64(R))}}
	if c.geom != nil {
		c.geom.rows, c.geom.cols, c.geom.data = R, C, area
	}
	if c.image {
		img := image.NewRGBA(image.Rect(0, 0, C, R))
		for i := range R {
			for j := range C {
				img.SetRGBA(j, i, c.sc.color(c.m.at(i, j)))
			}
		}
		dc.DrawImage(area, img)
		return
	}
	// Each cell overlaps its right and lower neighbours (drawn after it)
	// by a point, so anti-aliasing leaves no light seams between cells.
	const overlap = vg.Length(1)
	for i := range R {
		y0, y1 := trY(float64(R-i-1)), trY(float64(R-i))
		if i < R-1 {
			y0 -= overlap
		}
		for j := range C {
			x0, x1 := trX(float64(j)), trX(float64(j+1))
			if j < C-1 {
				x1 += overlap
			}
			var path vg.Path
			path.Move(vg.Point{X: x0, Y: y0})
			path.Line(vg.Point{X: x1, Y: y0})
			path.Line(vg.Point{X: x1, Y: y1})
			path.Line(vg.Point{X: x0, Y: y1})
			path.Close()
			dc.SetColor(c.sc.color(c.m.at(i, j)))
			dc.Fill(path)
		}
	}
}

// labelTicker puts thinned labels at cell centres; rows count from the top.
type labelTicker struct {
	labels []string
	max    int
	rows   bool
}

func (t labelTicker) Ticks(min, max float64) []plot.Tick {
	n := len(t.labels)
	var ticks []plot.Tick
	for _, i := range ThinLabels(n, t.max) {
		v := float64(i) + 0.5
		if t.rows {
			v = float64(n-i) - 0.5
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: t.labels[i]})
	}
	return ticks
}

// headPlot builds the plot of one matrix window with its labels.
func headPlot(m *matrix, sc *scale, rows, cols []string, maxLabels int, title string, tick font.Length, geom *cellGeometry) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Add(&cells{m: m, sc: sc, geom: geom, image: m.rows()*m.cols() > rasterCells})
	p.X.Min, p.X.Max = 0, float64(m.cols())
	p.Y.Min, p.Y.Max = 0, float64(m.rows())
	p.X.Tick.Marker = labelTicker{labels: cols, max: maxLabels}
	p.Y.Tick.Marker = labelTicker{labels: rows, max: maxLabels, rows: true}
	p.X.Tick.Label.Font.Size = tick
	p.Y.Tick.Label.Font.Size = tick
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.X.Padding, p.Y.Padding = 0, 0
	return p
}

// colorBar builds the vertical colour bar plot for sc.
func colorBar(sc *scale) *plot.Plot {
	p := plot.New()
	p.Add(&plotter.ColorBar{ColorMap: sc, Vertical: true, Colors: 256})
	p.HideX()
	p.Y.Padding = 0
	p.Y.Label.Text = "weight"
	p.Y.Tick.Label.Font.Size = 8
	return p
}

// canvas is a PNG or SVG drawing surface.
type canvas interface {
	vg.CanvasWriterTo
}

func newCanvas(f Format, w, h vg.Length) (canvas, error) {
	switch f {
	case PNG:
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(colorWhite))}, nil
	case SVG:
		return vgsvg.New(w, h), nil
	}
	return nil, fmt.Errorf("viz: format %q: want png or svg", f)
}

// Heatmap draws one head's weights w [T,S] (a rank-2 tensor of any
// strides; row i is how query i weighs the keys) as a PNG or SVG picture
// with labels, a colour bar and a title.
func Heatmap(out io.Writer, f Format, w *tensor.Tensor, opt HeatmapOptions) error {
	_, err := heatmap(out, f, w, opt)
	return err
}

func heatmap(out io.Writer, f Format, w *tensor.Tensor, opt HeatmapOptions) (*cellGeometry, error) {
	m, err := newMatrix("weights", w, opt.Window)
	if err != nil {
		return nil, err
	}
	rows, err := labelsFor(opt.Rows, w.Dim(0), m.w.Row0, m.w.Row1, "query")
	if err != nil {
		return nil, err
	}
	cols, err := labelsFor(opt.Cols, w.Dim(1), m.w.Col0, m.w.Col1, "key")
	if err != nil {
		return nil, err
	}
	top, err := scaleTop(opt.Max, m)
	if err != nil {
		return nil, err
	}
	sc := newScale(0, top)
	width, height := opt.Width, opt.Height
	if width <= 0 {
		width = 7 * vg.Inch
	}
	if height <= 0 {
		height = 6 * vg.Inch
	}
	c, err := newCanvas(f, width, height)
	if err != nil {
		return nil, err
	}
	geom := &cellGeometry{}
	p := headPlot(m, sc, rows, cols, opt.MaxLabels, opt.Title, 8, geom)
	p.X.Label.Text = "key"
	p.Y.Label.Text = "query"
	dc := draw.New(c)
	barW := 1.1 * vg.Inch
	main := draw.Crop(dc, 0, -barW, 0, -0.08*vg.Inch)
	p.Draw(main)
	data := p.DataCanvas(main)
	bar := draw.Crop(dc, width-barW+0.2*vg.Inch, -0.1*vg.Inch, data.Min.Y, data.Max.Y-height)
	cb := colorBar(sc)
	cb.Draw(bar)
	geom.bar = cb.DataCanvas(bar).Rectangle
	if _, err := c.WriteTo(out); err != nil {
		return nil, err
	}
	return geom, nil
}

// GridOptions describe the small multiples of one layer's heads.
type GridOptions struct {
	Title string
	// HeadTitles name the tiles (default "head 0", "head 1", ...).
	HeadTitles []string
	// Rows, Cols and Window are as in HeatmapOptions, shared by all heads.
	Rows, Cols []string
	Window     Window
	// MaxLabels is the most tick labels per axis of a tile (default 10).
	MaxLabels int
	// Max is the top of the colour scale shared by every tile; 0 means
	// the largest weight drawn in any head.
	Max float64
	// Tile is the side of one head's tile (default 2.5 inches).
	Tile vg.Length
}

// Grid draws the heads of one layer, each a [T,S] weight matrix of the
// same shape, as small multiples on one colour scale with one colour bar.
func Grid(out io.Writer, f Format, heads []*tensor.Tensor, opt GridOptions) error {
	if len(heads) == 0 {
		return fmt.Errorf("viz: Grid: no heads")
	}
	if opt.HeadTitles != nil && len(opt.HeadTitles) != len(heads) {
		return fmt.Errorf("viz: Grid: %d head titles for %d heads", len(opt.HeadTitles), len(heads))
	}
	ms := make([]*matrix, len(heads))
	for h, w := range heads {
		m, err := newMatrix(fmt.Sprintf("head %d", h), w, opt.Window)
		if err != nil {
			return err
		}
		if w.Dim(0) != heads[0].Dim(0) || w.Dim(1) != heads[0].Dim(1) {
			return fmt.Errorf("viz: Grid: head %d has shape %v, head 0 %v", h, w.Shape(), heads[0].Shape())
		}
		ms[h] = m
	}
	rows, err := labelsFor(opt.Rows, heads[0].Dim(0), ms[0].w.Row0, ms[0].w.Row1, "query")
	if err != nil {
		return err
	}
	cols, err := labelsFor(opt.Cols, heads[0].Dim(1), ms[0].w.Col0, ms[0].w.Col1, "key")
	if err != nil {
		return err
	}
	top, err := scaleTop(opt.Max, ms...)
	if err != nil {
		return err
	}
	sc := newScale(0, top)
	maxLabels := opt.MaxLabels
	if maxLabels < 1 {
		maxLabels = 10
	}
	tile := opt.Tile
	if tile <= 0 {
		tile = 2.5 * vg.Inch
	}
	nc := int(math.Ceil(math.Sqrt(float64(len(heads)))))
	nr := (len(heads) + nc - 1) / nc
	barW, titleH := 1.1*vg.Inch, vg.Length(0)
	if opt.Title != "" {
		titleH = 0.4 * vg.Inch
	}
	width := vg.Length(nc)*tile + barW
	height := vg.Length(nr)*tile + titleH
	c, err := newCanvas(f, width, height)
	if err != nil {
		return err
	}
	plots := make([][]*plot.Plot, nr)
	for r := range plots {
		plots[r] = make([]*plot.Plot, nc)
		for k := range nc {
			h := r*nc + k
			if h >= len(heads) {
				continue
			}
			title := fmt.Sprintf("head %d", h)
			if opt.HeadTitles != nil {
				title = opt.HeadTitles[h]
			}
			plots[r][k] = headPlot(ms[h], sc, rows, cols, maxLabels, title, 6, nil)
		}
	}
	dc := draw.New(c)
	if opt.Title != "" {
		sty := draw.TextStyle{Color: colorBlack, Font: font.From(plot.DefaultFont, 12), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: (width - barW) / 2, Y: height - 0.1*vg.Inch}, opt.Title)
	}
	body := draw.Crop(dc, 0, -barW, 0, -titleH)
	tiles := draw.Tiles{Rows: nr, Cols: nc, PadX: 0.1 * vg.Inch, PadY: 0.15 * vg.Inch, PadTop: 0.05 * vg.Inch, PadBottom: 0.15 * vg.Inch, PadLeft: 0.05 * vg.Inch, PadRight: 0.05 * vg.Inch}
	canvases := plot.Align(plots, tiles, body)
	for r := range plots {
		for k, p := range plots[r] {
			if p != nil {
				p.Draw(canvases[r][k])
			}
		}
	}
	bar := draw.Crop(dc, width-barW+0.2*vg.Inch, -0.1*vg.Inch, 0.5*vg.Inch, -titleH-0.3*vg.Inch)
	colorBar(sc).Draw(bar)
	_, err = c.WriteTo(out)
	return err
}

// WriteHeatmap writes Heatmap to path, in the format its extension names
// (.png or .svg). The file is replaced atomically.
func WriteHeatmap(path string, w *tensor.Tensor, opt HeatmapOptions) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	return writeFile(path, func(out io.Writer) error { return Heatmap(out, f, w, opt) })
}

// WriteGrid writes Grid to path, in the format its extension names (.png
// or .svg). The file is replaced atomically.
func WriteGrid(path string, heads []*tensor.Tensor, opt GridOptions) error {
	f, err := FormatOf(path)
	if err != nil {
		return err
	}
	return writeFile(path, func(out io.Writer) error { return Grid(out, f, heads, opt) })
}

// writeFile writes to a temporary file beside path and renames it into
// place, so a failed render never leaves a truncated file.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("viz: cannot write %s: %w", path, err)
	}
	name := tmp.Name()
	if err := write(tmp); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Chmod(name, 0o644); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return nil
}
