package models

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/attn-go/attn/attention"
	"github.com/attn-go/attn/tensor"
)

// llama2.c's legacy checkpoint (karpathy/llama2.c, run.c): a header of
// seven little-endian int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len), a negative vocab_size meaning the
// classifier is stored separately, then float32 arrays in this order:
//
//	token_embedding [V,D], rms_att [L,D], wq [L,D,D], wk [L,Hkv·Dh,D],
//	wv [L,Hkv·Dh,D], wo [L,D,D], rms_ffn [L,D], w1 [L,F,D], w2 [L,D,F],
//	w3 [L,F,D], rms_final [D], freq_cis_real and freq_cis_imag
//	[seq_len, Dh/2] each (unused: RoPE is recomputed), wcls [V,D] if unshared.
//
// Matrices are nn.Linear [out, in]; RoPE rotates interleaved pairs with
// theta 10000; RMSNorm eps is 1e-5.

const llama2cHeader = 7 * 4

// llama2cMagic starts llama2.c's newer "version" exports, which lay the
// weights out differently.
const llama2cMagic = 0x616b3432 // "ak42" read little-endian

// isLlama2c reports whether the first bytes of a file look like a legacy
// llama2.c header (positive sizes where they must be).
func isLlama2c(head []byte) bool {
	if len(head) < llama2cHeader {
		return false
	}
	v := func(i int) int32 { return int32(binary.LittleEndian.Uint32(head[4*i:])) }
	if uint32(v(0)) == llama2cMagic {
		return true
	}
	ok := func(x int32) bool { return x > 0 && x <= 1<<24 }
	return ok(v(0)) && ok(v(1)) && ok(v(2)) && ok(v(3)) && ok(v(4)) && v(5) != 0 && ok(max(v(5), -v(5))) && ok(v(6))
}

// llama2cPart is one named array of a llama2.c checkpoint.
type llama2cPart struct {
	name  string
	shape []int
}

// llama2cLayout is what a llama2.c header implies.
type llama2cLayout struct {
	cfg    DecoderConfig
	parts  []llama2cPart
	total  int64 // float32 values after the header
	shared bool
}

// readLlama2cHeader reads and checks the header of f (size bytes in all),
// including that the file holds exactly the weights the header implies.
func readLlama2cHeader(f io.Reader, path string, size int64) (*llama2cLayout, error) {
	var hdr [llama2cHeader]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, fmt.Errorf("models: %s: llama2.c header: file is %d bytes, want at least %d", path, size, llama2cHeader)
	}
	var h [7]int64
	for i := range h {
		h[i] = int64(int32(binary.LittleEndian.Uint32(hdr[4*i:])))
	}
	if uint32(h[0]) == llama2cMagic {
		return nil, fmt.Errorf("models: %s: llama2.c \"ak42\" versioned export; only the legacy export (export.py --version 0) is supported", path)
	}
	dim, hidden, layers, heads, kvHeads, vocab, seqLen := h[0], h[1], h[2], h[3], h[4], h[5], h[6]
	shared := vocab > 0
	if vocab < 0 {
		vocab = -vocab
	}
	for _, x := range []struct {
		name string
		v    int64
	}{{"dim", dim}, {"hidden_dim", hidden}, {"n_layers", layers}, {"n_heads", heads}, {"n_kv_heads", kvHeads}, {"vocab_size", vocab}, {"seq_len", seqLen}} {
		if x.v < 1 || x.v > 1<<24 {
			return nil, fmt.Errorf("models: %s: llama2.c header %s = %d, want 1..2^24", path, x.name, x.v)
		}
	}
	if dim%heads != 0 || heads%kvHeads != 0 {
		return nil, fmt.Errorf("models: %s: llama2.c header: n_heads %d must divide dim %d, and n_kv_heads %d must divide n_heads", path, heads, dim, kvHeads)
	}
	dh := dim / heads
	if dh%2 != 0 {
		return nil, fmt.Errorf("models: %s: llama2.c head size %d is odd; RoPE needs it even", path, dh)
	}
	kvDim := kvHeads * dh
	lay := &llama2cLayout{shared: shared}
	var shapeErr error
	add := func(name string, shape ...int64) {
		s := make([]int, len(shape))
		for i, d := range shape {
			s[i] = int(d)
		}
		n, err := tensor.NumElements(s...)
		if err != nil && shapeErr == nil {
			shapeErr = fmt.Errorf("models: %s: llama2.c %s: %v", path, name, err)
		}
		lay.total += int64(n) // at most 14 parts of at most 2^36 values
		lay.parts = append(lay.parts, llama2cPart{name, s})
	}
	add("tok_embeddings.weight", vocab, dim)
	add("rms_att", layers, dim)
	add("wq", layers, dim, dim)
	add("wk", layers, kvDim, dim)
	add("wv", layers, kvDim, dim)
	add("wo", layers, dim, dim)
	add("rms_ffn", layers, dim)
	add("w1", layers, hidden, dim)
	add("w2", layers, dim, hidden)
	add("w3", layers, hidden, dim)
	add("norm.weight", dim)
	add("freq_cis_real", seqLen, dh/2)
	add("freq_cis_imag", seqLen, dh/2)
	if !shared {
		add("output.weight", vocab, dim)
	}
	if shapeErr != nil {
		return nil, shapeErr
	}
	if want := llama2cHeader + 4*lay.total; size != want {
		return nil, fmt.Errorf("models: %s: llama2.c header (dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, seq_len %d, shared classifier %v) implies %d bytes, file has %d (truncated, or not a legacy llama2.c checkpoint)",
			path, dim, hidden, layers, heads, kvHeads, vocab, seqLen, shared, want, size)
	}
	lay.cfg = DecoderConfig{
		Arch: ArchLlama2c, Vocab: int(vocab), DModel: int(dim), Layers: int(layers), Heads: int(heads), KVHeads: int(kvHeads),
		HeadDim: int(dh), DFF: int(hidden), Context: int(seqLen), Norm: RMSNormKind, Eps: 1e-5, MLP: MLPSwiGLU,
		RoPE:       attention.RoPE{Dim: int(dh), Theta: 10000, Layout: attention.RoPEInterleaved},
		UntiedHead: !shared, BOS: 1, EOS: 2, BOSRule: BOSFirst,
		ExtraStops: []int{1}, // run.c stops when BOS comes back
	}
	if err := lay.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("models: %s: %s", path, strings.TrimPrefix(err.Error(), "models: "))
	}
	return lay, nil
}

// openLlama2c opens a llama2.c checkpoint and checks its header; the file
// is left positioned at the first weight.
func openLlama2c(path string) (*os.File, *llama2cLayout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("models: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		var lay *llama2cLayout
		if lay, err = readLlama2cHeader(f, path, st.Size()); err == nil {
			return f, lay, nil
		}
	} else {
		err = fmt.Errorf("models: %w", err)
	}
	f.Close()
	return nil, nil, err
}

// loadLlama2c reads a legacy llama2.c checkpoint. The file's size must be
// exactly what the header implies, checked before the weights are read.
func loadLlama2c(path string) (*Decoder, error) {
	f, lay, err := openLlama2c(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, parts, shared, total, kvDim := lay.cfg, lay.parts, lay.shared, lay.total, lay.cfg.KVHeads*lay.cfg.HeadDim
	// Each part in its own array, so that the matrices can be freed once
	// packed. Read in chunks: binary.Read of a whole part would hold a
	// second copy of it as bytes.
	src := &mapSource{path: path, shapes: map[string][]int{}, data: map[string][]float32{}}
	buf := make([]byte, 1<<20)
	read := 0
	for _, p := range parts {
		n := 1
		for _, d := range p.shape {
			n *= d
		}
		v := make([]float32, n)
		for done := 0; done < n; {
			c := min(n-done, len(buf)/4)
			if _, err := io.ReadFull(f, buf[:4*c]); err != nil {
				return nil, fmt.Errorf("models: %s: reading weights: %v (file changed while reading?)", path, err)
			}
			for i := range c {
				v[done+i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			done += c
		}
		src.shapes[p.name] = p.shape
		src.data[p.name] = v
		read += n
	}
	if int64(read) != total {
		panic(fmt.Sprintf("models: llama2c parts hold %d floats, the layout %d", read, total))
	}
	m := &Decoder{Config: cfg, src: src}
	ld := newLoader(src)
	L, D, F, KV := cfg.Layers, cfg.DModel, cfg.DFF, kvDim
	m.embed = ld.take("tok_embeddings.weight", cfg.Vocab, D)
	per := func(name string, rows, cols int) func(l int) []float32 {
		all := ld.take(name, append([]int{L}, dims(rows, cols)...)...)
		return func(l int) []float32 {
			if all == nil {
				return nil
			}
			n := rows * max(cols, 1)
			return all[l*n : (l+1)*n]
		}
	}
	rmsAtt, rmsFFN := per("rms_att", D, 0), per("rms_ffn", D, 0)
	wq, wk, wv, wo := per("wq", D, D), per("wk", KV, D), per("wv", KV, D), per("wo", D, D)
	w1, w2, w3 := per("w1", F, D), per("w2", D, F), per("w3", F, D)
	for l := range L {
		m.layers = append(m.layers, decoderLayer{
			norm1: norm{w: rmsAtt(l)}, norm2: norm{w: rmsFFN(l)},
			q: linear{w: wq(l), in: D, out: D}, k: linear{w: wk(l), in: D, out: KV},
			v: linear{w: wv(l), in: D, out: KV}, o: linear{w: wo(l), in: D, out: D},
			gate: linear{w: w1(l), in: D, out: F}, down: linear{w: w2(l), in: F, out: D},
			up: linear{w: w3(l), in: D, out: F},
		})
	}
	m.final = norm{w: ld.take("norm.weight", D)}
	ld.skip(func(n string) bool { return n == "freq_cis_real" || n == "freq_cis_imag" })
	m.head = m.embed
	if !shared {
		m.head = ld.take("output.weight", cfg.Vocab, D)
	}
	if err := ld.finish(); err != nil {
		return nil, err
	}
	m.pack(src.release)
	return m, nil
}

// dims is rows, or rows×cols when cols > 0.
func dims(rows, cols int) []int {
	if cols == 0 {
		return []int{rows}
	}
	return []int{rows, cols}
}
