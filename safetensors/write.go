package safetensors

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/attn-go/attn/tensor"
)

// Entry is one tensor to write: its name, dtype, shape and raw little-endian
// bytes (len(Data) must be the element count times DType.Size()).
type Entry struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Float32Entry encodes v as an F32 entry. Write checks that len(v) matches
// shape.
func Float32Entry(name string, shape []int, v []float32) Entry {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Entry{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// Float64Entry encodes v as an F64 entry.
func Float64Entry(name string, shape []int, v []float64) Entry {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return Entry{Name: name, DType: F64, Shape: slices.Clone(shape), Data: b}
}

// BoolEntry encodes v as a BOOL entry (one byte per element, 0 or 1).
func BoolEntry(name string, shape []int, v []bool) Entry {
	b := make([]byte, len(v))
	for i, x := range v {
		if x {
			b[i] = 1
		}
	}
	return Entry{Name: name, DType: BOOL, Shape: slices.Clone(shape), Data: b}
}

// Int64Entry encodes v as an I64 entry.
func Int64Entry(name string, shape []int, v []int64) Entry {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Entry{Name: name, DType: I64, Shape: slices.Clone(shape), Data: b}
}

// TensorEntry encodes t's values (in row-major order, whatever its strides)
// as an F32 entry. A nil t gives an entry Write rejects.
func TensorEntry(name string, t *tensor.Tensor) Entry {
	if t == nil {
		return Entry{Name: name, DType: F32}
	}
	return Float32Entry(name, t.Shape(), t.Values())
}

// Write writes entries and metadata to w as a safetensors file. It first
// checks every entry (non-empty unique names other than "__metadata__",
// valid UTF-8 names and metadata, known dtype, non-negative shape within
// tensor.MaxElements, len(Data) matching the shape) and writes nothing if one
// is wrong. Header keys and data are laid out in sorted-name order, the
// metadata (omitted when empty) comes first, and the header is padded with
// spaces to a multiple of 8 bytes so the data section is 8-byte aligned. The
// output depends only on the arguments, never on map or slice order.
func Write(w io.Writer, entries []Entry, metadata map[string]string) error {
	header, order, err := encodeHeader(entries, metadata)
	if err != nil {
		return err
	}
	if err := writeBody(w, header, order, entries); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	return nil
}

// encodeHeader validates the entries and builds the padded header. order
// lists the entry indexes in the order their data is laid out.
func encodeHeader(entries []Entry, metadata map[string]string) ([]byte, []int, error) {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(entries[a].Name, entries[b].Name) })

	for k, i := range order {
		e := &entries[i]
		switch {
		case e.Name == "":
			return nil, nil, fmt.Errorf("safetensors: entry %d: empty tensor name", i)
		case e.Name == metadataKey:
			return nil, nil, fmt.Errorf("safetensors: entry %d: tensor name %q is reserved", i, metadataKey)
		case !utf8.ValidString(e.Name):
			return nil, nil, fmt.Errorf("safetensors: tensor %s: name is not valid UTF-8", quote(e.Name))
		case k > 0 && entries[order[k-1]].Name == e.Name:
			return nil, nil, fmt.Errorf("safetensors: tensor %s: duplicate name", quote(e.Name))
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, nil, fmt.Errorf("safetensors: tensor %s: unknown dtype %s", quote(e.Name), quote(string(e.DType)))
		}
		for d, n := range e.Shape {
			if n < 0 {
				return nil, nil, fmt.Errorf("safetensors: tensor %s: shape %v: dimension %d is negative", quote(e.Name), e.Shape, d)
			}
			if int64(n) > maxJSONInt {
				return nil, nil, fmt.Errorf("safetensors: tensor %s: shape %v: dimension %d is too large", quote(e.Name), e.Shape, d)
			}
		}
		numel, err := tensor.NumElements(e.Shape...)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %s: shape %v: element count overflow (more than %d elements)", quote(e.Name), e.Shape, tensor.MaxElements)
		}
		if want := int64(numel) * int64(size); int64(len(e.Data)) != want {
			return nil, nil, fmt.Errorf("safetensors: tensor %s: data is %d bytes, but shape %v of %s needs %d (size mismatch)",
				quote(e.Name), len(e.Data), e.Shape, e.DType, want)
		}
	}
	keys := make([]string, 0, len(metadata))
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, fmt.Errorf("safetensors: header: __metadata__ entry %s is not valid UTF-8", quote(k))
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)

	h := []byte{'{'}
	if len(keys) > 0 {
		h = appendJSONString(h, metadataKey)
		h = append(h, ":{"...)
		for i, k := range keys {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendJSONString(h, k)
			h = append(h, ':')
			h = appendJSONString(h, metadata[k])
		}
		h = append(h, '}')
	}
	var off int64
	for k, i := range order {
		e := &entries[i]
		if k > 0 || len(keys) > 0 {
			h = append(h, ',')
		}
		h = appendJSONString(h, e.Name)
		h = append(h, `:{"dtype":`...)
		h = appendJSONString(h, string(e.DType))
		h = append(h, `,"shape":[`...)
		for d, n := range e.Shape {
			if d > 0 {
				h = append(h, ',')
			}
			h = strconv.AppendInt(h, int64(n), 10)
		}
		h = append(h, `],"data_offsets":[`...)
		h = strconv.AppendInt(h, off, 10)
		h = append(h, ',')
		off += int64(len(e.Data))
		h = strconv.AppendInt(h, off, 10)
		h = append(h, "]}"...)
	}
	h = append(h, '}')
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header: %d bytes exceeds the maximum %d", len(h), MaxHeaderSize)
	}
	return h, order, nil
}

// appendJSONString appends s (valid UTF-8) as a JSON string, escaping only
// what JSON requires, so the output is the same on every run.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func writeBody(w io.Writer, header []byte, order []int, entries []Entry) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	bw.Write(n[:]) // bufio.Writer keeps the first error; Flush reports it
	bw.Write(header)
	for _, i := range order {
		bw.Write(entries[i].Data)
	}
	return bw.Flush()
}

// testHookBeforeRename, when set (by tests), runs after the temporary file
// is written and closed and before it is renamed; an error it returns makes
// WriteFile fail at that point.
var testHookBeforeRename func(tmp string) error

// WriteFile writes a safetensors file to path atomically: the file is written
// to a temporary file in the same directory, synced, closed and renamed over
// path, and then the directory is synced. On any error the temporary file is
// removed and a file already at path is left untouched. A new file gets mode
// 0644; replacing a file keeps the old file's permission bits.
func WriteFile(path string, entries []Entry, metadata map[string]string) (err error) {
	header, order, err := encodeHeader(entries, metadata)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		mode = st.Mode().Perm()
	}

	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: %s: creating temporary file: %w", path, err)
	}
	tmpName := tmp.Name()
	closed, renamed := false, false
	defer func() {
		if err != nil && !renamed {
			if !closed {
				tmp.Close()
			}
			os.Remove(tmpName)
		}
	}()

	if err := writeBody(tmp, header, order, entries); err != nil {
		return fmt.Errorf("safetensors: %s: writing: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: %s: syncing: %w", path, err)
	}
	closed = true
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %s: closing: %w", path, err)
	}
	if testHookBeforeRename != nil {
		if err := testHookBeforeRename(tmpName); err != nil {
			return fmt.Errorf("safetensors: %s: %w", path, err)
		}
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	renamed = true
	// The rename is durable only once the directory entry is on disk.
	// Windows cannot open a directory for syncing; skip it there.
	if runtime.GOOS != "windows" {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("safetensors: %s: file written, but syncing its directory failed: %w", path, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
