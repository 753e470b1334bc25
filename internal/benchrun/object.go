package benchrun

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Field is one field of an Object.
type Field struct {
	Key   string
	Value any // anything encoding/json marshals; nil is null
}

// Object is a JSON object that keeps its fields in order. Build it with
// Fields and append to it like any slice.
type Object []Field

// Fields returns the object of the key/value pairs kv, in order:
// Fields("m", 7, "n", 5). It panics when kv has an odd length or a key that
// is not a string: the call is wrong as written.
func Fields(kv ...any) Object {
	if len(kv)%2 != 0 {
		panic(fmt.Sprintf("benchrun: Fields with %d arguments, want key/value pairs", len(kv)))
	}
	o := make(Object, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			panic(fmt.Sprintf("benchrun: Fields argument %d is the %T %v, want a string key", i, kv[i], kv[i]))
		}
		o = append(o, Field{k, kv[i+1]})
	}
	return o
}

// MarshalJSON writes the fields in order. An error names the field whose
// value failed (a NaN or an infinity, say).
func (o Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
