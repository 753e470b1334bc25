package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ardanlabs/jinja"
)

// snippet is one entry of testdata/snippets.json: a small template, its
// data and what Python's jinja2 made of it in transformers' environment.
type snippet struct {
	Name     string          `json:"name"`
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	Output   *string         `json:"output"`
	Error    *string         `json:"error"`
}

// renderSource renders a template source with data, as Render does for a
// config's template.
func renderSource(src string, data json.RawMessage, now time.Time) (string, error) {
	c := compile(src)
	if c.err != nil {
		return "", c.err
	}
	vals := map[string]jinja.Value{}
	if len(data) > 0 {
		d, err := decodeJSON(data)
		if err != nil {
			return "", err
		}
		for _, k := range d.AsDict().OrderedKeys() {
			vals[k], _ = d.AsDict().Get(k)
		}
	}
	st := &state{now: now, deadline: time.Now().Add(DefaultTimeout)}
	for k, v := range st.globals() {
		vals[k] = v
	}
	return (&Template{origin: "snippet"}).run(c, vals, st)
}

// Snippets where Render returns an error although Python renders: the
// constructs it refuses rather than render differently.
var refusedSnippets = map[string]string{
	"int_div":            "** (the engine's power is a float)",
	"int_big":            "** and integers beyond 64 bits",
	"pow_op":             "**",
	"split_max":          ".split() with maxsplit",
	"split_maxsplit":     ".split() with maxsplit",
	"rsplit":             "the engine has no .rsplit()",
	"upper_title":        ".title()",
	"startswith_tuple":   ".startswith() with a tuple",
	"map_filter":         "map() with a filter name",
	"map_filter_name":    "map() with a filter name",
	"round":              "the round filter",
	"dictsort":           "dictsort printed",
	"tuple_print":        "a tuple printed",
	"string_format":      "%-formatting",
	"is_in":              "the engine has no 'in' test",
	"loop_recursive":     "the engine has no recursive loops",
	"set_tuple":          "{% set a, b = %}",
	"set_target_forms":   "{% set a, b = %}",
	"block_set_filter":   "{% set x | filter %}",
	"dict_literal_order": "dict() with keywords (the engine loses their order)",
	"underscore_attr":    "attributes starting with _ (Python gives an unsafe undefined)",
}

// Snippets where Python fails and the engine renders all the same: the
// engine is laxer about undefined values and types (docs/chat-templates.md).
var laxSnippets = map[string]string{
	"undef_attr":          "an attribute of an undefined value is undefined",
	"undef_attr_of_index": "an attribute of an undefined value is undefined",
	"missing_key_attr":    "an attribute of an undefined value is undefined",
	"undef_concat":        "str + undefined",
	"none_concat":         "str + None",
	"none_in":             "in None",
	"int_str_concat":      "int + str",
	"str_int_mul":         "str + int",
}

// Snippets the engine renders differently and Render cannot tell: the
// known limits of docs/chat-templates.md.
var differentSnippets = map[string]string{
	"upper_unicode":    "Python's upper() and lower() use full case mappings (ß to SS)",
	"unicode_ws_strip": "the engine's .strip() keeps U+001C..U+001F, which Python strips",
}

func TestSnippets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "snippets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ss []snippet
	if err := json.Unmarshal(b, &ss); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range ss {
		seen[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			got, err := renderSource(s.Template, s.Data, goldenClock)
			switch {
			case s.Output != nil && err == nil:
				if _, ok := differentSnippets[s.Name]; ok {
					if got == *s.Output {
						t.Errorf("%q renders exactly now: take it off differentSnippets", s.Template)
					}
					return
				}
				if got != *s.Output {
					t.Errorf("%q\n got  %q\n want %q", s.Template, got, *s.Output)
				}
				if _, ok := refusedSnippets[s.Name]; ok {
					t.Errorf("%q is no longer refused: take it off refusedSnippets", s.Template)
				}
			case s.Output != nil:
				if _, ok := refusedSnippets[s.Name]; !ok {
					t.Errorf("%q: error %v, want %q", s.Template, err, *s.Output)
				}
			case err == nil:
				if _, ok := laxSnippets[s.Name]; !ok {
					t.Errorf("%q: rendered %q where Python failed with %s", s.Template, got, *s.Error)
				}
			default:
				if _, ok := laxSnippets[s.Name]; ok {
					t.Errorf("%q fails now, as in Python: take it off laxSnippets", s.Template)
				}
			}
		})
	}
	for _, m := range []map[string]string{refusedSnippets, laxSnippets, differentSnippets} {
		for name := range m {
			if !seen[name] {
				t.Errorf("listed snippet %s is not in snippets.json", name)
			}
		}
	}
}
