package safetensors

import (
	"fmt"
	"os"
	"unsafe"
)

// Open parses the safetensors file at path like ReadFile, but maps it into
// memory read-only where the platform allows (Linux, macOS and the other
// Unix systems), so that F32 tensors can be used in place through
// Float32View without a copy and pages are read from disk only when touched.
// Elsewhere, and for files that cannot be mapped, it reads the file.
//
// Call Close when done; slices obtained from Bytes or Float32View must not be
// used after that. A mapped file must not be truncated or rewritten in place
// while it is open (as with any memory-mapped reader, the process would
// fault); WriteFile never does that, since it replaces files by rename.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() < 8 || uint64(st.Size()) > uint64(maxInt) {
		return ReadFile(path) // it words the error
	}
	b, unmap, err := mapFile(fd, int(st.Size()))
	if err != nil || unmap == nil {
		return ReadFile(path)
	}
	f, err := Parse(b)
	if err != nil {
		_ = unmap()
		return nil, &pathError{path: path, err: err}
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the memory mapping made by Open. It is a no-op for files
// made by Parse or ReadFile, and safe to call twice.
func (f *File) Close() error {
	if f == nil || f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	f.data = nil
	f.infos = map[string]Info{}
	f.names = nil
	return u()
}

// Release tells the operating system that the named tensor's bytes will
// not be read for a while, when the file is mapped (Open): its whole pages
// leave the process's resident memory, and a later read brings them back
// from the file (or the page cache), so every view stays valid. A caller
// that has copied a tensor into another form (a model packing its weights
// at load) releases it so that the weights are not resident twice. For
// files read into memory it does nothing.
func (f *File) Release(name string) error {
	b, _, err := f.Bytes(name)
	if err != nil {
		return err
	}
	if f.unmap == nil {
		return nil
	}
	if err := dropPages(b); err != nil {
		return fmt.Errorf("safetensors: release %s: %w", quote(name), err)
	}
	return nil
}

// littleEndian reports whether the machine stores the low byte first, as
// safetensors does.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// Float32View returns the named F32 tensor's values and shape without
// copying: the slice aliases the file's memory (read-only when the file was
// mapped by Open; writing to it would fault). ok is false, and nothing is
// returned, when the tensor is absent, is not F32, is not 4-byte aligned in
// memory or the machine is big-endian; use Float32s then.
func (f *File) Float32View(name string) (v []float32, shape []int, ok bool) {
	b, info, err := f.Bytes(name)
	if err != nil || info.DType != F32 || !littleEndian {
		return nil, nil, false
	}
	if len(b) == 0 {
		return []float32{}, info.Shape, true
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%4 != 0 {
		return nil, nil, false
	}
	return unsafe.Slice((*float32)(p), len(b)/4), info.Shape, true
}
