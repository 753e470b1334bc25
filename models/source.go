package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/attn-go/attn/safetensors"
)

// source is where a loader takes named float32 tensors from: one or more
// safetensors files, or a llama2.c checkpoint split into named arrays.
type source interface {
	// shape reports the stored shape of a tensor, and whether it exists.
	shape(name string) ([]int, bool)
	// float32s returns the tensor's values, aliasing the file when it can.
	float32s(name string) ([]float32, error)
	names() []string
	// where names the file that holds a tensor, for error messages.
	where(name string) string
	// release is told that the model no longer reads w, a slice that
	// float32s returned (or its first part): the source may then let its
	// memory go.
	release(w []float32)
	close() error
}

// loader takes tensors from a source by name and shape, remembering the
// first error and which names were used, so that a model's constructor
// reads as a list of its parameters and strictness is checked once at the
// end (like PyTorch's load_state_dict with strict=True).
type loader struct {
	src  source
	used map[string]bool
	err  error
}

func newLoader(src source) *loader { return &loader{src: src, used: map[string]bool{}} }

// take returns the named tensor, which must exist with exactly this shape.
func (l *loader) take(name string, shape ...int) []float32 {
	if l.err != nil {
		return nil
	}
	got, ok := l.src.shape(name)
	if !ok {
		l.err = fmt.Errorf("models: %s: missing tensor %q (the config implies shape %v)", l.src.where(""), name, shape)
		return nil
	}
	return l.read(name, got, shape)
}

// optional is take for a tensor that may be absent (then nil).
func (l *loader) optional(name string, shape ...int) []float32 {
	if l.err != nil {
		return nil
	}
	got, ok := l.src.shape(name)
	if !ok {
		return nil
	}
	return l.read(name, got, shape)
}

func (l *loader) read(name string, got, want []int) []float32 {
	l.used[name] = true
	if !slices.Equal(got, want) {
		l.err = fmt.Errorf("models: %s: tensor %q has shape %v, but the config implies %v", l.src.where(name), name, got, want)
		return nil
	}
	v, err := l.src.float32s(name)
	if err != nil {
		l.err = fmt.Errorf("models: %s: %w", l.src.where(name), err)
		return nil
	}
	return v
}

// skip marks tensors that a checkpoint may carry but the model does not use
// as parameters (GPT-2's attn.bias mask buffers, a stored rotary inv_freq).
func (l *loader) skip(match func(name string) bool) {
	for _, n := range l.src.names() {
		if match(n) {
			l.used[n] = true
		}
	}
}

// finish returns the first error, or an error listing tensors the model
// did not use: a checkpoint of another shape of model, read as this one,
// must not load silently.
func (l *loader) finish() error {
	if l.err != nil {
		return l.err
	}
	var extra []string
	for _, n := range l.src.names() {
		if !l.used[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		more := ""
		if len(extra) > 5 {
			more = fmt.Sprintf(" and %d more", len(extra)-5)
			extra = extra[:5]
		}
		return fmt.Errorf("models: %s: unexpected tensors %s%s (config and weights disagree?)", l.src.where(extra[0]), strings.Join(extra, ", "), more)
	}
	return nil
}

// stSource serves tensors from safetensors files (one, or the shards of an
// index). F32 tensors are used in place when mapped; F16, BF16 and F64 are
// converted once at load.
type stSource struct {
	files  []*safetensors.File
	paths  []string
	byName map[string]int // tensor name -> index into files
	dir    string
	views  map[*float32]string // first element of each view float32s gave -> tensor name
}

func (s *stSource) shape(name string) ([]int, bool) {
	i, ok := s.byName[name]
	if !ok {
		return nil, false
	}
	info, _ := s.files[i].Info(name)
	return info.Shape, true
}

func (s *stSource) float32s(name string) ([]float32, error) {
	f := s.files[s.byName[name]]
	if v, _, ok := f.Float32View(name); ok {
		if len(v) > 0 {
			s.views[&v[0]] = name
		}
		return v, nil
	}
	v, _, err := f.Float32s(name)
	return v, err
}

func (s *stSource) names() []string {
	n := make([]string, 0, len(s.byName))
	for k := range s.byName {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func (s *stSource) where(name string) string {
	if i, ok := s.byName[name]; ok {
		return s.paths[i]
	}
	if len(s.paths) == 1 {
		return s.paths[0]
	}
	return s.dir
}

// release drops the mapped pages of a viewed tensor from memory
// (safetensors.File.Release); a later read would fault them in again.
// Converted tensors are Go memory, freed once unreferenced.
func (s *stSource) release(w []float32) {
	if len(w) == 0 {
		return
	}
	if name, ok := s.views[&w[0]]; ok {
		// Release only advises the OS; on failure the pages just stay.
		_ = s.files[s.byName[name]].Release(name)
	}
}

func (s *stSource) close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// openSafetensors opens the given files and indexes their tensors; a name
// held by two files is an error.
func openSafetensors(dir string, paths []string) (*stSource, error) {
	s := &stSource{byName: map[string]int{}, dir: dir, views: map[*float32]string{}}
	for _, p := range paths {
		f, err := safetensors.Open(p)
		if err != nil {
			_ = s.close()
			return nil, err
		}
		s.files = append(s.files, f)
		s.paths = append(s.paths, p)
		for _, n := range f.Names() {
			if j, dup := s.byName[n]; dup {
				_ = s.close()
				return nil, fmt.Errorf("models: tensor %q is in both %s and %s", n, s.paths[j], p)
			}
			s.byName[n] = len(s.files) - 1
		}
	}
	return s, nil
}

// mapSource serves tensors from in-memory arrays (a llama2.c checkpoint cut
// into its named parts).
type mapSource struct {
	path   string
	shapes map[string][]int
	data   map[string][]float32
}

func (m *mapSource) shape(name string) ([]int, bool) { s, ok := m.shapes[name]; return s, ok }
func (m *mapSource) float32s(name string) ([]float32, error) {
	return m.data[name], nil
}
func (m *mapSource) names() []string {
	n := make([]string, 0, len(m.data))
	for k := range m.data {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}
func (m *mapSource) where(string) string { return m.path }

// release forgets the part that starts at w, so that it is freed once the
// model holds no slice of it either.
func (m *mapSource) release(w []float32) {
	if len(w) == 0 {
		return
	}
	for name, v := range m.data {
		if len(v) > 0 && &v[0] == &w[0] {
			delete(m.data, name)
		}
	}
}
func (m *mapSource) close() error { return nil }
