package chat

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Bounds of one render. A chat template loops over a conversation a few
// times; these only stop a template (or a fuzzed one) that would not end.
const (
	// MaxIterations bounds the loop iterations of one render, counted over
	// every {% for %}.
	MaxIterations = 1 << 20
	// MaxRange bounds the items of one range(), as Jinja's sandbox does
	// (MAX_RANGE).
	MaxRange = 100000
	// MaxMacroDepth bounds nested macro calls; Jinja stops recursion at
	// Python's recursion limit, the engine would exhaust the stack.
	MaxMacroDepth = 200
	// MaxOutput bounds the bytes a render prints (captured blocks count).
	MaxOutput = 64 << 20
	// DefaultTimeout is the time a render may take unless Options.Timeout
	// says otherwise.
	DefaultTimeout = 10 * time.Second
)

// state is what one render keeps: the budgets and the first error a
// function of ours raised (the engine may wrap or flatten it).
type state struct {
	now        time.Time
	deadline   time.Time
	iterations int
	printed    int
	depth      int
	err        error
}

func (s *state) fail(err error) (jinja.Value, error) {
	if s.err == nil {
		s.err = err
	}
	return jinja.Undefined(), err
}

func (s *state) print(str string) (jinja.Value, error) {
	s.printed += len(str)
	if s.printed > MaxOutput {
		return s.fail(&LimitError{Limit: fmt.Sprintf("%d bytes of output", MaxOutput)})
	}
	return jinja.NewString(str), nil
}

func (s *state) overdue() error {
	if time.Now().After(s.deadline) {
		return &LimitError{Limit: "timeout"}
	}
	return nil
}

type callable = func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error)

// globals are the names every render adds: transformers' raise_exception
// and strftime_now, a bounded range, and the functions the translated
// template calls.
func (s *state) globals() map[string]jinja.Value {
	fns := map[string]callable{
		"raise_exception": func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || len(kwargs) != 0 {
				return s.fail(errors.New("raise_exception takes one argument"))
			}
			msg, err := pyStr(args[0])
			if err != nil {
				return s.fail(err)
			}
			return s.fail(&RaiseError{Message: msg})
		},
		"strftime_now": func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || len(kwargs) != 0 || !args[0].IsString() {
				return s.fail(errors.New("strftime_now takes one string"))
			}
			return jinja.NewString(strftime(args[0].AsString(), s.now)), nil
		},
		"range": s.rangeFn,
		fnStr: func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			if len(args) != 1 || len(kwargs) != 0 {
				return s.fail(errors.New("expected one expression in {{ }}"))
			}
			str, err := pyStr(args[0])
			if err != nil {
				return s.fail(err)
			}
			return s.print(str)
		},
		fnText: func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			return s.print(args[0].AsString())
		},
		fnTick: func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			s.iterations++
			if s.iterations > MaxIterations {
				return s.fail(&LimitError{Limit: fmt.Sprintf("%d loop iterations", MaxIterations)})
			}
			if err := s.overdue(); err != nil {
				return s.fail(err)
			}
			return jinja.NewString(""), nil
		},
		fnEnter: func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			s.depth++
			if s.depth > MaxMacroDepth {
				return s.fail(&LimitError{Limit: fmt.Sprintf("macro calls nested %d deep", MaxMacroDepth)})
			}
			if err := s.overdue(); err != nil {
				return s.fail(err)
			}
			return jinja.NewString(""), nil
		},
		fnLeave: func(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
			s.depth--
			return jinja.NewString(""), nil
		},
		filterPref + "tojson": s.tojson,
		filterPref + "string": s.stringFilter,
		filterPref + "join":   s.join,
		filterPref + "first":  s.first,
		filterPref + "last":   s.last,
		filterPref + "list":   s.list,
		filterPref + "trim":   s.trim,
	}
	out := make(map[string]jinja.Value, len(fns))
	for name, fn := range fns {
		out[name] = jinja.NewCallable(name, fn)
	}
	return out
}

func (s *state) rangeFn(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(kwargs) != 0 || len(args) < 1 || len(args) > 3 {
		return s.fail(errors.New("range takes one to three integers"))
	}
	var n [3]int64
	for i, a := range args {
		if !a.IsInt() {
			return s.fail(fmt.Errorf("range: %s is not an integer", a.String()))
		}
		n[i] = a.AsInt()
	}
	start, stop, step := int64(0), n[0], int64(1)
	if len(args) > 1 {
		start, stop = n[0], n[1]
	}
	if len(args) == 3 {
		step = n[2]
	}
	if step == 0 {
		return s.fail(errors.New("range() arg 3 must not be zero"))
	}
	var count int64
	switch {
	case step > 0 && stop > start:
		count = (stop-start-1)/step + 1
	case step < 0 && stop < start:
		count = (start-stop-1)/(-step) + 1
	}
	if count < 0 || count > MaxRange {
		return s.fail(&LimitError{Limit: fmt.Sprintf("%d items in a range()", MaxRange)})
	}
	items := make([]jinja.Value, count)
	for i := range items {
		items[i] = jinja.NewInt(start + int64(i)*step)
	}
	return jinja.NewList(items), nil
}

// tojson is transformers' override of Jinja's filter:
// json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
func (s *state) tojson(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	params := []string{"x", "ensure_ascii", "indent", "separators", "sort_keys"}
	got := map[string]jinja.Value{}
	if len(args) > len(params) {
		return s.fail(errors.New("tojson: too many arguments"))
	}
	for i, a := range args {
		got[params[i]] = a
	}
	for k, v := range kwargs {
		if _, dup := got[k]; dup || !contains(params[1:], k) {
			return s.fail(fmt.Errorf("tojson: unexpected argument %s", k))
		}
		got[k] = v
	}
	o := &jsonOptions{itemSep: ", ", keySep: ": "}
	if v, ok := got["ensure_ascii"]; ok {
		o.ensureASCII = v.IsTruthy()
	}
	if v, ok := got["sort_keys"]; ok {
		o.sortKeys = v.IsTruthy()
	}
	if v, ok := got["indent"]; ok && !v.IsNone() {
		switch {
		case v.IsInt():
			ind := strings.Repeat(" ", int(max(0, min(v.AsInt(), 1000))))
			o.indent = &ind
		case v.IsString():
			ind := v.AsString()
			o.indent = &ind
		default:
			return s.fail(fmt.Errorf("tojson: indent %s is neither an int nor a string", v.String()))
		}
		o.itemSep = ","
	}
	if v, ok := got["separators"]; ok && !v.IsNone() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Items[0].IsString() || !v.AsList().Items[1].IsString() {
			return s.fail(errors.New("tojson: separators must be two strings"))
		}
		o.itemSep, o.keySep = v.AsList().Items[0].AsString(), v.AsList().Items[1].AsString()
	}
	var b strings.Builder
	if err := pyJSON(&b, got["x"], o, 0); err != nil {
		return s.fail(err)
	}
	return jinja.NewString(b.String()), nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// iterate lists what Python's iter() gives: a list's items, a string's
// characters, a dict's keys; undefined gives nothing.
func iterate(v jinja.Value) ([]jinja.Value, error) {
	switch {
	case v.IsUndefined():
		return nil, nil
	case v.IsList():
		return v.AsList().Items, nil
	case v.IsString():
		var out []jinja.Value
		for _, r := range v.AsString() {
			out = append(out, jinja.NewString(string(r)))
		}
		return out, nil
	case v.IsDict():
		var out []jinja.Value
		for _, k := range v.AsDict().OrderedKeys() {
			out = append(out, jinja.NewString(k))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not iterable", v.String())
}

func oneArg(name string, args []jinja.Value, kwargs map[string]jinja.Value) error {
	if len(args) != 1 || len(kwargs) != 0 {
		return fmt.Errorf("%s takes no arguments", name)
	}
	return nil
}

func (s *state) stringFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if err := oneArg("string", args, kwargs); err != nil {
		return s.fail(err)
	}
	str, err := pyStr(args[0])
	if err != nil {
		return s.fail(err)
	}
	return jinja.NewString(str), nil
}

func (s *state) list(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if err := oneArg("list", args, kwargs); err != nil {
		return s.fail(err)
	}
	items, err := iterate(args[0])
	if err != nil {
		return s.fail(err)
	}
	return jinja.NewList(append([]jinja.Value{}, items...)), nil
}

func (s *state) first(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if err := oneArg("first", args, kwargs); err != nil {
		return s.fail(err)
	}
	items, err := iterate(args[0])
	if err != nil {
		return s.fail(err)
	}
	if len(items) == 0 {
		return jinja.Undefined(), nil
	}
	return items[0], nil
}

func (s *state) last(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if err := oneArg("last", args, kwargs); err != nil {
		return s.fail(err)
	}
	items, err := iterate(args[0])
	if err != nil {
		return s.fail(err)
	}
	if len(items) == 0 {
		return jinja.Undefined(), nil
	}
	return items[len(items)-1], nil
}

// trim is Jinja's trim(value, chars=None): str(value).strip(chars).
func (s *state) trim(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) < 1 || len(args) > 2 || len(kwargs) > 1 {
		return s.fail(errors.New("trim takes at most one argument"))
	}
	chars := jinja.None()
	if len(args) == 2 {
		chars = args[1]
	}
	for k, v := range kwargs {
		if k != "chars" || len(args) == 2 {
			return s.fail(fmt.Errorf("trim: unexpected argument %s", k))
		}
		chars = v
	}
	str, err := pyStr(args[0])
	if err != nil {
		return s.fail(err)
	}
	switch {
	case chars.IsNone():
		str = strings.TrimFunc(str, pyIsSpace)
	case chars.IsString():
		set := chars.AsString()
		str = strings.TrimFunc(str, func(r rune) bool { return strings.ContainsRune(set, r) })
	default:
		return s.fail(errors.New("trim: chars must be a string"))
	}
	return jinja.NewString(str), nil
}

// join is Jinja's join(value, d="", attribute=None).
func (s *state) join(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) < 1 || len(args) > 3 {
		return s.fail(errors.New("join takes a separator and an attribute"))
	}
	sep, attr := jinja.NewString(""), jinja.None()
	if len(args) > 1 {
		sep = args[1]
	}
	if len(args) > 2 {
		attr = args[2]
	}
	for k, v := range kwargs {
		switch {
		case k == "d" && len(args) < 2:
			sep = v
		case k == "attribute" && len(args) < 3:
			attr = v
		default:
			return s.fail(fmt.Errorf("join: unexpected argument %s", k))
		}
	}
	items, err := iterate(args[0])
	if err != nil {
		return s.fail(err)
	}
	sepStr, err := pyStr(sep)
	if err != nil {
		return s.fail(err)
	}
	parts := make([]string, len(items))
	for i, it := range items {
		if !attr.IsNone() {
			it = getAttribute(it, attr)
		}
		if parts[i], err = pyStr(it); err != nil {
			return s.fail(err)
		}
	}
	return jinja.NewString(strings.Join(parts, sepStr)), nil
}

// getAttribute looks up Jinja's attribute= path: dotted keys, where a part of
// digits indexes a list.
func getAttribute(v jinja.Value, attr jinja.Value) jinja.Value {
	if attr.IsInt() {
		return index(v, int(attr.AsInt()))
	}
	if !attr.IsString() {
		return jinja.Undefined()
	}
	for _, part := range strings.Split(attr.AsString(), ".") {
		if n, err := strconv.Atoi(part); err == nil {
			v = index(v, n)
			continue
		}
		if !v.IsDict() {
			return jinja.Undefined()
		}
		e, ok := v.AsDict().Get(part)
		if !ok {
			return jinja.Undefined()
		}
		v = e
	}
	return v
}

func index(v jinja.Value, n int) jinja.Value {
	if v.IsList() && n >= 0 && n < v.AsList().Len() {
		return v.AsList().Items[n]
	}
	return jinja.Undefined()
}

// strftime formats t as Python's datetime.strftime does on Linux (glibc, C
// locale) for a naive datetime: %z and %Z are empty, and %-d and the like
// drop the padding. Codes it does not know are written as they are.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	num := func(n, width int, pad bool) {
		s := strconv.Itoa(n)
		if pad {
			for len(s) < width {
				s = "0" + s
			}
		}
		b.WriteString(s)
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		pad := true
		if format[j] == '-' && j+1 < len(format) {
			pad = false
			j++
		}
		yday := t.YearDay() - 1
		wday := int(t.Weekday())
		switch format[j] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			num(t.Year()%100, 2, pad)
		case 'C':
			num(t.Year()/100, 2, pad)
		case 'm':
			num(int(t.Month()), 2, pad)
		case 'd':
			num(t.Day(), 2, pad)
		case 'e':
			if pad {
				fmt.Fprintf(&b, "%2d", t.Day())
			} else {
				num(t.Day(), 0, false)
			}
		case 'H':
			num(t.Hour(), 2, pad)
		case 'I':
			num((t.Hour()+11)%12+1, 2, pad)
		case 'M':
			num(t.Minute(), 2, pad)
		case 'S':
			num(t.Second(), 2, pad)
		case 'f':
			num(t.Nanosecond()/1000, 6, true)
		case 'j':
			num(yday+1, 3, pad)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'w':
			num(wday, 1, pad)
		case 'u':
			num((wday+6)%7+1, 1, pad)
		case 'U':
			num((yday+7-wday)/7, 2, pad)
		case 'W':
			num((yday+7-(wday+6)%7)/7, 2, pad)
		case 'V':
			_, w := t.ISOWeek()
			num(w, 2, pad)
		case 'G':
			y, _ := t.ISOWeek()
			b.WriteString(strconv.Itoa(y))
		case 'D':
			b.WriteString(strftime("%m/%d/%y", t))
		case 'x':
			b.WriteString(strftime("%m/%d/%y", t))
		case 'F':
			b.WriteString(strftime("%Y-%m-%d", t))
		case 'T', 'X':
			b.WriteString(strftime("%H:%M:%S", t))
		case 'R':
			b.WriteString(strftime("%H:%M", t))
		case 'r':
			b.WriteString(strftime("%I:%M:%S %p", t))
		case 'c':
			b.WriteString(strftime("%a %b %e %H:%M:%S %Y", t))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'z', 'Z':
		case '%':
			b.WriteByte('%')
		default:
			b.WriteString(format[i : j+1])
		}
		i = j
	}
	return b.String()
}
