package viz

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
)

// viridisAnchors are nine evenly spaced stops of the viridis colour map
// (perceptually uniform, readable in grey and by most colour-blind viewers).
// Colours between stops are interpolated linearly in sRGB.
var viridisAnchors = [...][3]uint8{
	{0x44, 0x01, 0x54},
	{0x48, 0x28, 0x78},
	{0x3e, 0x49, 0x89},
	{0x31, 0x68, 0x8e},
	{0x26, 0x82, 0x8e},
	{0x1f, 0x9e, 0x89},
	{0x35, 0xb7, 0x79},
	{0x6e, 0xce, 0x58},
	{0xfd, 0xe7, 0x25},
}

// ColorAt returns the heatmap colour of t, a position on the colour scale
// in [0, 1] (0 = no weight, 1 = the top of the scale). Values outside are
// clamped, and NaN is drawn as 0.
func ColorAt(t float64) color.RGBA {
	if !(t > 0) { // also NaN
		t = 0
	}
	if t > 1 {
		t = 1
	}
	x := t * float64(len(viridisAnchors)-1)
	i := int(x)
	if i >= len(viridisAnchors)-1 {
		a := viridisAnchors[len(viridisAnchors)-1]
		return color.RGBA{a[0], a[1], a[2], 0xff}
	}
	f := x - float64(i)
	a, b := viridisAnchors[i], viridisAnchors[i+1]
	mix := func(p, q uint8) uint8 {
		return uint8(math.Round(float64(p) + f*(float64(q)-float64(p))))
	}
	return color.RGBA{mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]), 0xff}
}

// scale maps weights in [min, max] to ColorAt; it implements
// palette.ColorMap for the colour bar.
type scale struct {
	min, max, alpha float64
}

var _ palette.ColorMap = (*scale)(nil)

func newScale(min, max float64) *scale {
	return &scale{min: min, max: max, alpha: 1}
}

// pos is v's position on the scale in [0, 1].
func (s *scale) pos(v float64) float64 {
	if s.max <= s.min {
		return 0
	}
	return (v - s.min) / (s.max - s.min)
}

func (s *scale) color(v float64) color.RGBA { return ColorAt(s.pos(v)) }

func (s *scale) At(v float64) (color.Color, error) {
	if math.IsNaN(v) {
		return nil, fmt.Errorf("viz: colour of NaN")
	}
	return s.color(v), nil
}

func (s *scale) Max() float64       { return s.max }
func (s *scale) Min() float64       { return s.min }
func (s *scale) SetMax(v float64)   { s.max = v }
func (s *scale) SetMin(v float64)   { s.min = v }
func (s *scale) Alpha() float64     { return s.alpha }
func (s *scale) SetAlpha(a float64) { s.alpha = a }
func (s *scale) Palette(n int) palette.Palette {
	cs := make([]color.Color, n)
	for i := range cs {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		cs[i] = ColorAt(t)
	}
	return colorList(cs)
}

type colorList []color.Color

func (c colorList) Colors() []color.Color { return c }

var (
	colorWhite = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colorBlack = color.RGBA{0, 0, 0, 0xff}
)
