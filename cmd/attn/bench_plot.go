package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// benchRow is the part of a scripts/bench/results.jsonl row the plots use.
type benchRow struct {
	Kind  string   `json:"kind"`
	Op    string   `json:"op"`
	Flags []string `json:"flags"`
	Attn  *sideRes `json:"attn"`
	Torch *sideRes `json:"torch"`
}

type sideRes struct {
	MedianMS float64 `json:"median_ms"`
	PeakRSS  float64 `json:"peak_rss_bytes"`
	Error    string  `json:"error"`
}

func newBenchPlotCmd() *cobra.Command {
	var results, out string
	cmd := &cobra.Command{
		Use:   "plot --results scripts/bench/results.jsonl --out DIR",
		Short: "Plot attention time and peak memory against sequence length, attn next to PyTorch",
		Long: `plot reads the results of scripts/bench/run.sh and writes two PNG plots
into DIR: scaling-time.png (median time of one attention call) and
scaling-memory.png (peak resident memory of the process), both against the
sequence length T on log-log axes, for every attention row (B=1, H=12,
Dh=64), with and without a causal mask. PyTorch points are missing where it
could not run (it builds the T×T matrices).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rows, err := readBenchRows(results)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			for _, p := range []struct {
				file, title, ylabel string
				value               func(*sideRes) float64
			}{
				{"scaling-time.png", "Attention time (B=1, H=12, Dh=64, 2 threads)", "median time (ms)", func(s *sideRes) float64 { return s.MedianMS }},
				{"scaling-memory.png", "Peak memory of the process", "peak RSS (MiB)", func(s *sideRes) float64 { return s.PeakRSS / (1 << 20) }},
			} {
				path := filepath.Join(out, p.file)
				if err := scalingPlot(path, p.title, p.ylabel, rows, p.value); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&results, "results", "scripts/bench/results.jsonl", "results file written by scripts/bench/run.sh")
	cmd.Flags().StringVar(&out, "out", "docs/bench", "folder for the PNG files")
	return cmd
}

func readBenchRows(path string) ([]benchRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []benchRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var r benchRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if r.Kind == "row" && r.Op == "attention" {
			rows = append(rows, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no attention rows to plot", path)
	}
	return rows, nil
}

// flagValue returns the value after name in flags, or "".
func flagValue(flags []string, name string) string {
	if i := slices.Index(flags, name); i >= 0 && i+1 < len(flags) {
		return flags[i+1]
	}
	return ""
}

func scalingPlot(path, title, ylabel string, rows []benchRow, value func(*sideRes) float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "sequence length T"
	p.Y.Label.Text = ylabel
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	type key struct {
		impl   string
		causal bool
	}
	series := map[key]plotter.XYs{}
	for _, r := range rows {
		// Forward passes of square attention only: no decoding (--kv-seq),
		// no GQA, no backward or memory-only rows.
		if flagValue(r.Flags, "--batch") != "1" || flagValue(r.Flags, "--heads") != "12" || flagValue(r.Flags, "--head-dim") != "64" {
			continue
		}
		if slices.ContainsFunc(r.Flags, func(f string) bool {
			return f == "--kv-seq" || f == "--kv-heads" || f == "--backward" || f == "--memory-only"
		}) {
			continue
		}
		T, err := strconv.Atoi(flagValue(r.Flags, "--seq"))
		if err != nil || T < 1 {
			continue
		}
		causal := slices.Contains(r.Flags, "--causal")
		for impl, s := range map[string]*sideRes{"attn": r.Attn, "PyTorch": r.Torch} {
			if s == nil || s.Error != "" {
				continue
			}
			if v := value(s); v > 0 && !math.IsInf(v, 0) {
				series[key{impl, causal}] = append(series[key{impl, causal}], plotter.XY{X: float64(T), Y: v})
			}
		}
	}
	if len(series) == 0 {
		return fmt.Errorf("no B=1, H=12, Dh=64 attention rows with results to plot")
	}
	colors := map[string]color.Color{"attn": color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 255}, "PyTorch": color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 255}}
	for _, impl := range []string{"attn", "PyTorch"} {
		for _, causal := range []bool{false, true} {
			pts := series[key{impl, causal}]
			if len(pts) == 0 {
				continue
			}
			slices.SortFunc(pts, func(a, b plotter.XY) int { return int(a.X - b.X) })
			line, scatter, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color, scatter.Color = colors[impl], colors[impl]
			scatter.Shape = draw.CircleGlyph{}
			name := impl
			if causal {
				name += ", causal"
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				scatter.Shape = draw.TriangleGlyph{}
			}
			p.Add(line, scatter)
			p.Legend.Add(name, line, scatter)
		}
	}
	if !strings.HasSuffix(path, ".png") {
		return fmt.Errorf("%s: plots are written as .png", path)
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
