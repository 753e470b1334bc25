package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/attn-go/attn/tensor"
)

// MaxHeaderSize bounds the JSON header length a file may declare (100 MiB,
// the same bound the reference implementation uses).
const MaxHeaderSize = 100 << 20

// maxJSONInt is the largest integer accepted in a header (2^53): beyond it
// JSON numbers stop being exact in most readers, and no real file needs more.
const maxJSONInt = 1 << 53

// metadataKey is the reserved header key holding string metadata.
const metadataKey = "__metadata__"

// ErrNotFound is wrapped by the errors accessors return for a tensor name the
// file does not hold; test for it with errors.Is.
var ErrNotFound = errors.New("safetensors: no tensor named")

// Info describes one tensor of a file. Begin and End are byte offsets into
// the data section (which starts right after the header).
type Info struct {
	Name  string
	DType DType
	Shape []int
	Begin int64
	End   int64
}

// File is a parsed safetensors file. It keeps the byte slice it was parsed
// from (no copy); Bytes returns sub-slices of it. A File is safe for
// concurrent use by readers as long as nobody modifies that slice.
type File struct {
	data  []byte // the data section: the input after the header
	infos map[string]Info
	names []string // sorted
	meta  map[string]string
	unmap func() error // releases the mapping made by Open, or nil
}

// ReadFile reads and parses the safetensors file at path. The file's size is
// taken from stat before anything is read, so the buffer allocated is the
// file's real size, never a size claimed inside it. Errors name the path.
func ReadFile(path string) (*File, error) {
	b, err := readWhole(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(b)
	if err != nil {
		return nil, &pathError{path: path, err: err}
	}
	return f, nil
}

func readWhole(path string) ([]byte, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err) // *fs.PathError names the path
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("safetensors: %s: not a regular file", path)
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %s: header: file is %d bytes, shorter than the 8-byte header length", path, size)
	}
	if uint64(size) > uint64(maxInt) {
		return nil, fmt.Errorf("safetensors: %s: file is %d bytes, too large to read into memory", path, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(fd, b); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading %d bytes: %v (file changed size?)", path, size, err)
	}
	// The file must not have grown since stat: a reader that silently
	// dropped the tail would hide a truncated-then-rewritten file.
	var one [1]byte
	if n, _ := fd.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("safetensors: %s: file grew while being read", path)
	}
	return b, nil
}

const maxInt = int(^uint(0) >> 1)

// pathError prefixes a parse error with the file's path, keeping it
// unwrappable.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string {
	return "safetensors: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "safetensors: ")
}

func (e *pathError) Unwrap() error { return e.err }

// Parse parses a safetensors file held in b and checks it against the
// strictness rules listed in the package documentation. The File keeps b;
// b must not be modified while the File is in use.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: header: file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header: length %d exceeds the maximum %d", n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header: length %d exceeds the %d bytes after the length prefix (file truncated?)", n, len(b)-8)
	}
	header := b[8 : 8+n]
	f := &File{data: b[8+n:], infos: map[string]Info{}}
	if err := f.parseHeader(header); err != nil {
		return nil, err
	}
	if err := f.checkLayout(); err != nil {
		return nil, err
	}
	f.names = make([]string, 0, len(f.infos))
	for name := range f.infos {
		f.names = append(f.names, name)
	}
	slices.Sort(f.names)
	return f, nil
}

// parseHeader decodes the JSON header into f.infos and f.meta, checking each
// entry on its own (the entries' relation to each other and to the data
// section is checked by checkLayout).
//
// encoding/json's Unmarshal keeps the last of duplicate keys and tolerates
// unknown fields, so the header is instead walked token by token: every
// token is checked against the one schema allowed, and anything else stops
// the walk with an error at once (nothing unexpected is ever skipped).
func (f *File) parseHeader(header []byte) error {
	if !utf8.Valid(header) {
		return errors.New("safetensors: header: not valid UTF-8")
	}
	// Only spaces may follow the object (writers pad the header with them).
	body := bytes.TrimRight(header, " ")
	if len(body) == 0 || body[0] != '{' {
		return errors.New("safetensors: header: not a JSON object (must start with '{')")
	}
	// A full syntax check first gives a clear message with an offset, and
	// guarantees the token walk below only ever sees well-formed JSON.
	if !json.Valid(body) {
		var raw json.RawMessage
		err := json.Unmarshal(body, &raw)
		return fmt.Errorf("safetensors: header: invalid JSON: %v", err)
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{' checked above
		return fmt.Errorf("safetensors: header: invalid JSON: %v", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("safetensors: header: invalid JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok { // cannot happen for valid JSON; be safe anyway
			return fmt.Errorf("safetensors: header: unexpected %v where a key belongs", tok)
		}
		if seen[key] {
			if key == metadataKey {
				return errors.New("safetensors: header: duplicate key \"__metadata__\"")
			}
			return fmt.Errorf("safetensors: tensor %s: duplicate key in header", quote(key))
		}
		seen[key] = true
		if key == metadataKey {
			meta, err := parseMetadata(dec)
			if err != nil {
				return err
			}
			f.meta = meta
			continue
		}
		if key == "" {
			return errors.New("safetensors: header: empty tensor name")
		}
		info, err := parseEntry(dec, key)
		if err != nil {
			return err
		}
		f.infos[key] = info
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return fmt.Errorf("safetensors: header: malformed end of object (%v)", err)
	}
	// json.Valid accepted body as one value with optional whitespace around
	// it; reject the non-space whitespace (newlines, tabs) after the object.
	if off := dec.InputOffset(); off != int64(len(body)) {
		return fmt.Errorf("safetensors: header: trailing data after the JSON object at header offset %d", off)
	}
	return nil
}

// parseMetadata reads the value of "__metadata__": an object of strings.
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: __metadata__: invalid JSON: %v", err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("safetensors: header: __metadata__ is %s, want an object of strings", describe(tok))
	}
	meta := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("safetensors: header: __metadata__: invalid JSON: %v", err)
		}
		key, _ := tok.(string)
		if _, dup := meta[key]; dup {
			return nil, fmt.Errorf("safetensors: header: __metadata__ has duplicate key %s", quote(key))
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("safetensors: header: __metadata__: invalid JSON: %v", err)
		}
		val, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("safetensors: header: __metadata__ value for key %s is %s, want a string", quote(key), describe(tok))
		}
		meta[key] = val
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("safetensors: header: __metadata__: invalid JSON: %v", err)
	}
	return meta, nil
}

// parseEntry reads one tensor's description and checks it on its own:
// fields, dtype, shape, offsets, and that the byte range fits the shape.
func parseEntry(dec *json.Decoder, name string) (Info, error) {
	info := Info{Name: name}
	bad := func(format string, args ...any) (Info, error) {
		return Info{}, fmt.Errorf("safetensors: tensor %s: %s", quote(name), fmt.Sprintf(format, args...))
	}
	tok, err := dec.Token()
	if err != nil {
		return bad("invalid JSON: %v", err)
	}
	if tok != json.Delim('{') {
		return bad("entry is %s, want an object", describe(tok))
	}
	var haveDType, haveShape, haveOffsets bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("invalid JSON: %v", err)
		}
		field, _ := tok.(string)
		switch field {
		case "dtype":
			if haveDType {
				return bad("duplicate field \"dtype\"")
			}
			haveDType = true
			tok, err := dec.Token()
			if err != nil {
				return bad("invalid JSON: %v", err)
			}
			s, ok := tok.(string)
			if !ok {
				return bad("dtype is %s, want a string", describe(tok))
			}
			info.DType = DType(s)
			if info.DType.Size() == 0 {
				return bad("unknown dtype %s", quote(s))
			}
		case "shape":
			if haveShape {
				return bad("duplicate field \"shape\"")
			}
			haveShape = true
			dims, err := readInts(dec, -1)
			if err != nil {
				return bad("shape %v", err)
			}
			info.Shape = make([]int, len(dims))
			for i, d := range dims {
				if d > uint64(maxInt) {
					return bad("shape dimension %d is %d, too large for this platform", i, d)
				}
				info.Shape[i] = int(d)
			}
		case "data_offsets":
			if haveOffsets {
				return bad("duplicate field \"data_offsets\"")
			}
			haveOffsets = true
			offs, err := readInts(dec, 2)
			if err != nil {
				return bad("data_offsets %v", err)
			}
			info.Begin, info.End = int64(offs[0]), int64(offs[1])
			if info.Begin > info.End {
				return bad("data_offsets [%d, %d] have begin after end", info.Begin, info.End)
			}
		default:
			return bad("unknown field %s", quote(field))
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return bad("invalid JSON: %v", err)
	}
	switch {
	case !haveDType:
		return bad("missing field \"dtype\"")
	case !haveShape:
		return bad("missing field \"shape\"")
	case !haveOffsets:
		return bad("missing field \"data_offsets\"")
	}
	numel, err := tensor.NumElements(info.Shape...)
	if err != nil {
		return bad("shape %v: element count overflow (more than %d elements)", info.Shape, tensor.MaxElements)
	}
	// numel ≤ 2^36 and size ≤ 8, so this cannot overflow int64.
	want := int64(numel) * int64(info.DType.Size())
	if got := info.End - info.Begin; got != want {
		return bad("data_offsets [%d, %d] span %d bytes, but shape %v of %s needs %d (size mismatch)",
			info.Begin, info.End, got, info.Shape, info.DType, want)
	}
	return info, nil
}

// readInts reads a JSON array of non-negative integers no larger than 2^53.
// If want ≥ 0 the array must have exactly that many elements.
func readInts(dec *json.Decoder, want int) ([]uint64, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("is %s, want an array of integers", describe(tok))
	}
	var out []uint64
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("element %d is %s, want a non-negative integer", len(out), describe(tok))
		}
		v, err := parseJSONInt(string(num))
		if err != nil {
			return nil, fmt.Errorf("element %d %v", len(out), err)
		}
		if want >= 0 && len(out) == want {
			return nil, fmt.Errorf("has more than %d elements, want exactly %d", want, want)
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if want >= 0 && len(out) != want {
		return nil, fmt.Errorf("has %d elements, want exactly %d", len(out), want)
	}
	return out, nil
}

// parseJSONInt accepts only plain digit strings (JSON already forbids leading
// zeros) with a value of at most 2^53: no sign, fraction or exponent.
func parseJSONInt(s string) (uint64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("is %s: negative", s)
	}
	if strings.ContainsAny(s, ".eE") {
		return 0, fmt.Errorf("is %s: not an integer", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > maxJSONInt {
		return 0, fmt.Errorf("is %s: too large (more than 2^53)", truncate(s))
	}
	return v, nil
}

// checkLayout checks the tensors against the data section and each other:
// every byte range lies inside the section, and the ranges of the tensors
// that hold data tile the section exactly, in offset order, with no overlap,
// gap or trailing bytes. Zero-size tensors hold no bytes and may sit at any
// offset within the section.
func (f *File) checkLayout() error {
	size := int64(len(f.data))
	var ranged []Info
	for _, info := range f.infos {
		if info.End > size {
			return fmt.Errorf("safetensors: tensor %s: data_offsets [%d, %d] end beyond the %d-byte data section (file truncated?)",
				quote(info.Name), info.Begin, info.End, size)
		}
		if info.End > info.Begin {
			ranged = append(ranged, info)
		}
	}
	// Sort by offset; ties (which are overlaps) broken by name so the error
	// reported for a given file is always the same.
	slices.SortFunc(ranged, func(a, b Info) int {
		if a.Begin != b.Begin {
			return cmpInt64(a.Begin, b.Begin)
		}
		return strings.Compare(a.Name, b.Name)
	})
	var pos int64 // end of the bytes covered so far
	for i, info := range ranged {
		switch {
		case info.Begin < pos:
			return fmt.Errorf("safetensors: tensor %s: data_offsets [%d, %d] overlap tensor %s at [%d, %d]",
				quote(info.Name), info.Begin, info.End, quote(ranged[i-1].Name), ranged[i-1].Begin, ranged[i-1].End)
		case info.Begin > pos:
			return fmt.Errorf("safetensors: tensor %s: data_offsets [%d, %d] leave a gap (hole) of %d unused bytes before it",
				quote(info.Name), info.Begin, info.End, info.Begin-pos)
		}
		pos = info.End
	}
	if pos != size {
		return fmt.Errorf("safetensors: header: tensors cover %d bytes of the %d-byte data section, leaving %d trailing bytes unused",
			pos, size, size-pos)
	}
	return nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// describe names a JSON token's kind for error messages.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "an array"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case json.Number:
		return "the number " + truncate(string(t))
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

// maxQuoted bounds how much of a name or value goes into an error message: a
// hostile file may hold a name megabytes long.
const maxQuoted = 200

func truncate(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// quote returns s quoted for an error message, shortened if very long.
func quote(s string) string { return strconv.Quote(truncate(s)) }
