package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// toValue converts a Go value to the engine's. json.RawMessage and
// json.Number keep what the JSON text says (key order, 1 against 1.0); a
// float64 with an integral value becomes an int, since encoding/json decodes
// every number to float64; other maps get sorted keys; anything else
// (structs, pointers) goes through encoding/json, which keeps field order.
func toValue(v any) (jinja.Value, error) {
	switch x := v.(type) {
	case nil:
		return jinja.None(), nil
	case jinja.Value:
		return x, nil
	case json.RawMessage:
		return decodeJSON(x)
	case json.Number:
		return numberValue(string(x))
	case bool:
		return jinja.NewBool(x), nil
	case string:
		return stringValue(x)
	case int:
		return jinja.NewInt(int64(x)), nil
	case int64:
		return jinja.NewInt(x), nil
	case float64:
		return floatValue(x)
	case []any:
		items := make([]jinja.Value, len(x))
		for i, e := range x {
			ev, err := toValue(e)
			if err != nil {
				return ev, err
			}
			items[i] = ev
		}
		return jinja.NewList(items), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := jinja.NewDict()
		for _, k := range keys {
			ev, err := toValue(x[k])
			if err != nil {
				return ev, err
			}
			d.AsDict().Set(k, ev)
		}
		return d, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return jinja.NewInt(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > math.MaxInt64 {
			return jinja.Undefined(), fmt.Errorf("integer %d is beyond 64 bits", rv.Uint())
		}
		return jinja.NewInt(int64(rv.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return floatValue(rv.Float())
	case reflect.String:
		return stringValue(rv.String())
	case reflect.Bool:
		return jinja.NewBool(rv.Bool()), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return jinja.None(), nil
		}
		items := make([]jinja.Value, rv.Len())
		for i := range items {
			ev, err := toValue(rv.Index(i).Interface())
			if err != nil {
				return ev, err
			}
			items[i] = ev
		}
		return jinja.NewList(items), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		if rv.IsNil() {
			return jinja.None(), nil
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		d := jinja.NewDict()
		for _, k := range keys {
			ev, err := toValue(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface())
			if err != nil {
				return ev, err
			}
			d.AsDict().Set(k, ev)
		}
		return d, nil
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		return jinja.Undefined(), fmt.Errorf("a %s cannot be passed to a template", rv.Kind())
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return jinja.Undefined(), err
	}
	return decodeJSON(raw)
}

func stringValue(s string) (jinja.Value, error) {
	if !utf8.ValidString(s) {
		return jinja.Undefined(), fmt.Errorf("string %.40q is not valid UTF-8", s)
	}
	return jinja.NewString(s), nil
}

func floatValue(f float64) (jinja.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return jinja.NewFloat(f), nil
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return jinja.NewInt(int64(f)), nil
	}
	return jinja.NewFloat(f), nil
}

func numberValue(s string) (jinja.Value, error) {
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return jinja.Undefined(), fmt.Errorf("number %s: %w", s, err)
		}
		return jinja.NewInt(n), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return jinja.Undefined(), fmt.Errorf("number %s: %w", s, err)
	}
	return jinja.NewFloat(f), nil
}

// decodeJSON decodes JSON text into the engine's values, objects in the
// order the text gives their keys (as Python's json.loads does).
func decodeJSON(raw []byte) (jinja.Value, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	v, err := decodeNext(d, 0)
	if err != nil {
		return v, fmt.Errorf("JSON value: %w", err)
	}
	if _, err := d.Token(); err == nil {
		return jinja.Undefined(), errors.New("JSON value: text after the value")
	}
	return v, nil
}

func decodeNext(d *json.Decoder, depth int) (jinja.Value, error) {
	if depth > 10000 {
		return jinja.Undefined(), errors.New("nested too deep")
	}
	tok, err := d.Token()
	if err != nil {
		return jinja.Undefined(), err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			items := []jinja.Value{}
			for d.More() {
				v, err := decodeNext(d, depth+1)
				if err != nil {
					return v, err
				}
				items = append(items, v)
			}
			if _, err := d.Token(); err != nil {
				return jinja.Undefined(), err
			}
			return jinja.NewList(items), nil
		case '{':
			dv := jinja.NewDict()
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return jinja.Undefined(), err
				}
				v, err := decodeNext(d, depth+1)
				if err != nil {
					return v, err
				}
				dv.AsDict().Set(k.(string), v)
			}
			if _, err := d.Token(); err != nil {
				return jinja.Undefined(), err
			}
			return dv, nil
		}
	case string:
		return jinja.NewString(t), nil
	case bool:
		return jinja.NewBool(t), nil
	case nil:
		return jinja.None(), nil
	case json.Number:
		return numberValue(string(t))
	}
	return jinja.Undefined(), fmt.Errorf("unexpected JSON token %v", tok)
}

// pyFloat formats f as Python's repr(float) does.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exps, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(exps)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyStr is Python's str() of a value, as {{ }} prints it; undefined prints
// as nothing, as Jinja's default Undefined does.
func pyStr(v jinja.Value) (string, error) {
	switch {
	case v.IsUndefined():
		return "", nil
	case v.IsString():
		return v.AsString(), nil
	}
	var b strings.Builder
	if err := pyRepr(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func pyRepr(b *strings.Builder, v jinja.Value, depth int) error {
	if depth > 1000 {
		return errors.New("value nested too deep to print")
	}
	switch {
	case v.IsUndefined(), v.IsNone():
		b.WriteString("None")
	case v.IsBool():
		if v.AsBool() {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case v.IsInt():
		b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		b.WriteString(pyFloat(v.AsFloat()))
	case v.IsString():
		pyQuote(b, v.AsString())
	case v.IsList():
		b.WriteByte('[')
		for i, e := range v.AsList().Items {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyRepr(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		b.WriteByte('{')
		for i, k := range d.OrderedKeys() {
			if i > 0 {
				b.WriteString(", ")
			}
			pyQuote(b, k)
			b.WriteString(": ")
			e, _ := d.Get(k)
			if err := pyRepr(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("cannot print %s", v.String())
	}
	return nil
}

// pyQuote writes Python's repr of a string.
func pyQuote(b *strings.Builder, s string) {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		quote = '"'
	}
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
}

// jsonOptions are json.dumps' arguments as transformers' tojson passes them.
type jsonOptions struct {
	ensureASCII bool
	indent      *string
	itemSep     string
	keySep      string
	sortKeys    bool
}

// pyJSON writes json.dumps(v) with the given options.
func pyJSON(b *strings.Builder, v jinja.Value, o *jsonOptions, level int) error {
	if level > 1000 {
		return errors.New("value nested too deep for tojson")
	}
	newline := func(l int) {
		if o.indent != nil {
			b.WriteByte('\n')
			for range l {
				b.WriteString(*o.indent)
			}
		}
	}
	switch {
	case v.IsNone():
		b.WriteString("null")
	case v.IsBool():
		if v.AsBool() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case v.IsInt():
		b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		f := v.AsFloat()
		switch {
		case math.IsNaN(f):
			b.WriteString("NaN")
		case math.IsInf(f, 1):
			b.WriteString("Infinity")
		case math.IsInf(f, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(f))
		}
	case v.IsString():
		jsonQuote(b, v.AsString(), o.ensureASCII)
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, e := range items {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(level + 1)
			if err := pyJSON(b, e, o, level+1); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		keys := d.OrderedKeys()
		if len(keys) == 0 {
			b.WriteString("{}")
			return nil
		}
		if o.sortKeys {
			sort.Strings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(level + 1)
			jsonQuote(b, k, o.ensureASCII)
			b.WriteString(o.keySep)
			e, _ := d.Get(k)
			if err := pyJSON(b, e, o, level+1); err != nil {
				return err
			}
		}
		newline(level)
		b.WriteByte('}')
	case v.IsUndefined():
		return errors.New("tojson: an undefined value is not JSON serializable")
	default:
		return fmt.Errorf("object %s is not JSON serializable", v.String())
	}
	return nil
}

// jsonQuote writes a JSON string as Python's json module does.
func jsonQuote(b *strings.Builder, s string, ascii bool) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		case ascii && r >= 0x7f:
			if r >= 0x10000 {
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}
