package viz_test

import (
	"bytes"
	"fmt"
	"image/png"

	"github.com/attn-go/attn/tensor"
	"github.com/attn-go/attn/viz"
)

// A head's weights [T,S] as a PNG heatmap with token labels.
func ExampleHeatmap() {
	w := tensor.Must(tensor.FromSlice([]float32{
		1, 0, 0,
		0.5, 0.5, 0,
		0.2, 0.3, 0.5,
	}, 3, 3))
	tokens := []string{"the", "cat", "sat"}
	var buf bytes.Buffer
	if err := viz.Heatmap(&buf, viz.PNG, w, viz.HeatmapOptions{Title: "layer 0, head 0", Rows: tokens, Cols: tokens}); err != nil {
		fmt.Println(err)
		return
	}
	img, err := png.Decode(&buf)
	fmt.Println(err == nil && img.Bounds().Dx() > 100)
	// Output: true
}

// An interactive page: add each layer's and head's weights, then write one
// self-contained HTML file.
func ExampleNewPage() {
	tokens := []string{"a", "b"}
	page, err := viz.NewPage(tokens, tokens, viz.PageOptions{Title: "two tokens"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for head := range 2 {
		w := tensor.Must(tensor.FromSlice([]float32{1, 0, 0.4, 0.6}, 2, 2))
		if err := page.Add(0, head, w); err != nil {
			fmt.Println(err)
			return
		}
	}
	var buf bytes.Buffer
	if err := page.Write(&buf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bytes.Contains(buf.Bytes(), []byte("<html")), bytes.Contains(buf.Bytes(), []byte("https://")))
	// Output: true false
}
