// Package safetensors reads and writes the Hugging Face safetensors format,
// treating every input file as hostile.
//
// # Format
//
// A safetensors file is:
//
//	8 bytes   N, the header length, unsigned little-endian
//	N bytes   the header: a UTF-8 JSON object, optionally padded with spaces
//	rest      the data section: the tensors' bytes, little-endian, row-major
//
// Each header key is a tensor name mapping to
//
//	{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
//
// where begin and end are byte offsets relative to the start of the data
// section. The optional key "__metadata__" maps to an object of string
// values. The dtypes known here are F64, F32, F16, BF16, I64, I32, I16, I8,
// U64, U32, U16, U8 and BOOL (one byte, 0 or 1).
//
// # Strictness
//
// Parse (and ReadFile) return an error, never panic, for any input that
// breaks one of these rules. Every message starts with "safetensors: " and
// names the tensor at fault, or says "header" for problems of the header
// as a whole:
//
//   - the file is at least 8 bytes long;
//   - the header length N is at most MaxHeaderSize and at most the bytes
//     that follow the length prefix;
//   - the header is valid UTF-8;
//   - the header is a single JSON object: it starts with '{' and only
//     spaces may follow the closing '}';
//   - no key appears twice, at any level (top level, inside a tensor entry,
//     inside "__metadata__");
//   - tensor names are non-empty;
//   - "__metadata__", if present, is an object whose values are all strings;
//   - each tensor entry is an object with exactly the fields dtype, shape
//     and data_offsets, none missing and no others;
//   - dtype is one of the known dtypes;
//   - shape is an array of non-negative integers (no fractions, exponents,
//     signs or values above 2^53); [] is a scalar with one element;
//   - the element count fits tensor.MaxElements;
//   - data_offsets is an array of exactly two such integers with
//     begin <= end, and end - begin equals the element count times the
//     dtype size;
//   - every range lies inside the data section;
//   - the ranges of the tensors that hold bytes, taken in offset order, tile
//     the data section exactly from 0 to its end: no overlap, no gap, no
//     trailing bytes. Zero-size tensors (a 0 in the shape) may sit at any
//     offset within the section.
//
// All sizes a header claims are checked against the bytes actually present
// before anything is allocated from them, so a small file cannot make the
// reader allocate much more than its own size.
//
// # Reading
//
// A File keeps the byte slice it was parsed from; Bytes returns shared,
// capped sub-slices of it. The typed accessors decode into new slices:
// Float32s and Tensor accept F32, F16, BF16 and F64; Float64s accepts the
// same and is always exact; Int64s accepts the integer dtypes; Bools
// accepts BOOL and U8 holding only 0 and 1. Asking for a name the file does
// not hold gives an error wrapping ErrNotFound.
//
// # Writing
//
// Write and WriteFile validate their entries, then lay out header keys and
// data in sorted-name order, with "__metadata__" first. The header is padded
// with spaces to a multiple of 8 bytes, so the data section starts on an
// 8-byte boundary of the file. The output is a pure function of the
// arguments.
// WriteFile replaces its target atomically (temporary file, fsync, rename,
// directory fsync).
//
// # Conversions
//
// Float16ToFloat32 and BFloat16ToFloat32 are exact for every input,
// subnormals, infinities and NaN payloads included. Float32ToFloat16 and
// Float32ToBFloat16 round to nearest with ties to even; values beyond the
// target's range become ±Inf, values at most half its smallest subnormal
// round to ±0, and NaN stays NaN. Converting a binary16 or bfloat16 to float32 and
// back gives the original bits for every one of the 65536 inputs. F64 is
// narrowed to float32 by rounding to nearest; a finite F64 value that would
// overflow float32 is reported as an error rather than turned into Inf.
package safetensors
