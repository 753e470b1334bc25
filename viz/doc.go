// Package viz draws attention weights: heatmaps of one head and grids of a
// layer's heads as PNG or SVG, and a self-contained HTML page with a head
// view and a model view.
//
// # Input
//
// viz works from attention weights given as values, never from a model's
// hidden state. A head's weights are a rank-2 *tensor.Tensor w [T,S] (any
// strides, so views are fine): row i holds how query position i weighs the S
// key positions, normally a softmax row summing to 1. Labels are strings,
// one per row (Rows / queries) and one per column (Cols / keys); a nil label
// slice labels with position numbers. Labels are shown through DisplayLabel:
// control characters escaped, invalid UTF-8 replaced, white-space-only
// tokens quoted, long ones cut. Heads splits an [H,T,S] tensor into views.
//
// # Pictures
//
// Heatmap draws one head: row 0 (the first query) at the top, key 0 at
// the left, colour from the viridis scale (ColorAt) from 0 to the largest
// weight drawn (or HeatmapOptions.Max), with a colour bar and a title.
// Long inputs stay readable: at most MaxLabels tick labels per axis
// (default 40, every ⌈n/40⌉-th position, see ThinLabels) and an optional
// Window of rows [Row0,Row1) and columns [Col0,Col1). Up to 128×128 cells
// are drawn as one rectangle each (an SVG has one path per cell); a larger
// window is drawn as one embedded image with a pixel per cell. Grid draws
// the heads of a layer as small multiples on one shared colour scale.
// WriteHeatmap and WriteGrid choose PNG or SVG from the file extension
// (FormatOf) and replace the file atomically.
//
// # The page
//
// NewPage starts a page for T query and S key labels; Add is called once per
// (layer, head) with that head's [T,S] weights, typically from a model's
// per-head callback that reuses one buffer, and copies only what the page
// shows: the whole (windowed) matrix when it has at most FullCells cells
// (default 64×64), otherwise each query row's TopK largest weights (default
// 8), plus a thumbnail averaged down to at most ThumbSize² cells. So a
// 4096-token input costs O(T·k) memory per head and never needs more than
// one head's full matrix at a time. Write produces one HTML file with its
// script, style and data inline: nothing is fetched, and it opens from disk.
// The data is JSON from encoding/json, which escapes <, > and & inside
// strings, so a token such as "</script>" cannot end the script element.
// Weights are stored in units of 1/10000.
//
// The head view shows the tokens in two columns with a line from each query
// (left) to each key it attends to (right): opacity = weight, colour = head;
// a layer selector, a checkbox per head, a minimum weight, and hovering a
// token shows only its lines. The model view is a grid of thumbnails
// (layers × heads), each scaled to its own maximum; clicking one enlarges
// it, and hovering the enlargement reads out the weight under the pointer.
//
// Errors, not panics: shapes, windows, labels and options are checked and
// reported with the values seen.
package viz
