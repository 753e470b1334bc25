package models

import "github.com/attn-go/attn/kernel"

// Weights are packed once at load (kernel.PackB) into the micro-panels the
// GEMM reads, whatever their stored layout: nn.Linear's [out, in] or GPT-2's
// Conv1D [in, out]. Products then skip packing the weight on every call,
// and decoding streams each weight from contiguous memory. Projections that
// read the same input (q, k and v) are packed side by side into one matrix
// and run as one product. docs/checkpoints.md has the measurements.

// part is the layer's stored weight as a column block of a packed matrix.
func (l *linear) part() kernel.BPart {
	if l.inOut {
		return kernel.BPart{N: l.out, B: l.w, Ld: l.ldw}
	}
	return kernel.BPart{Trans: true, N: l.out, B: l.w, Ld: l.in}
}

// set reports whether the layer has weights.
func (l *linear) set() bool { return l.w != nil || l.p != nil }

// pack replaces the stored weight by its packed form, handing the stored
// slice to release (the checkpoint's pages can then leave memory).
func (l *linear) pack(release func([]float32)) {
	if l.w == nil {
		return
	}
	l.p = kernel.PackB(l.in, l.part())
	release(l.w)
	l.w = nil
}

// fuse packs layers that read the same input as one, their outputs side by
// side (and their biases, zero where a layer has none). It returns the
// zero linear unless every layer is stored and shares the input width.
func fuse(release func([]float32), ls ...*linear) linear {
	hasBias := false
	for _, l := range ls {
		if l.w == nil || l.in != ls[0].in {
			return linear{}
		}
		hasBias = hasBias || l.b != nil
	}
	f := linear{in: ls[0].in}
	parts := make([]kernel.BPart, len(ls))
	for i, l := range ls {
		parts[i] = l.part()
		f.out += l.out
	}
	if hasBias {
		f.b = make([]float32, 0, f.out)
		for _, l := range ls {
			if l.b != nil {
				f.b = append(f.b, l.b[:l.out]...)
			} else {
				f.b = append(f.b, make([]float32, l.out)...)
			}
		}
	}
	f.p = kernel.PackB(f.in, parts...)
	for _, l := range ls {
		release(l.w)
		*l = linear{}
	}
	return f
}

// pack packs every projection of the model (see decoderLayer.pack).
func (m *Decoder) pack(release func([]float32)) {
	for i := range m.layers {
		m.layers[i].pack(release)
	}
}

// pack packs the layer's projections, fusing q, k and v into qkv.
func (ly *decoderLayer) pack(release func([]float32)) {
	if !ly.qkv.set() {
		ly.qkv = fuse(release, &ly.q, &ly.k, &ly.v)
	}
	for _, l := range []*linear{&ly.qkv, &ly.q, &ly.k, &ly.v, &ly.o, &ly.up, &ly.gate, &ly.down} {
		l.pack(release)
	}
}

// pack packs every projection of the encoder, fusing q, k and v into qkv.
func (m *Bert) pack(release func([]float32)) {
	for i := range m.layers {
		ly := &m.layers[i]
		ly.qkv = fuse(release, &ly.q, &ly.k, &ly.v)
		for _, l := range []*linear{&ly.qkv, &ly.o, &ly.up, &ly.down} {
			l.pack(release)
		}
	}
}

// keep is the release function of weights that stay in memory anyway.
func keep([]float32) {}
