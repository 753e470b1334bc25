package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// config is a tokenizer_config.json with the given template.
func config(t testing.TB, template any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"bos_token": "<s>", "eos_token": map[string]any{"content": "</s>"}, "chat_template": template})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var user = []Message{{Role: "user", Content: "hi"}}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string
		noTmpl bool
	}{
		{"malformed", `{"chat_template": "x"`, "unexpected end of JSON input", false},
		{"not an object", `["x"]`, "cannot unmarshal array", false},
		{"null", `null`, "not a JSON object", false},
		{"no template", `{"bos_token": "<s>"}`, "has no chat_template", true},
		{"null template", `{"chat_template": null}`, "has no chat_template", true},
		{"template of another type", `{"chat_template": 3}`, "neither a string nor a list", false},
		{"list entry without name", `{"chat_template": [{"template": "x"}]}`, "lacks a name", false},
		{"bad token", `{"bos_token": 3, "chat_template": "x"}`, "bos_token", false},
		{"bad additional tokens", `{"additional_special_tokens": "x", "chat_template": "x"}`, "additional_special_tokens", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.config))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if errors.Is(err, ErrNoTemplate) != tt.noTmpl {
				t.Fatalf("errors.Is(%v, ErrNoTemplate) = %v, want %v", err, !tt.noTmpl, tt.noTmpl)
			}
		})
	}
}

func TestSpecialTokens(t *testing.T) {
	cfg := `{"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "</s>", "pad_token": null,
		"unk_token": "", "additional_special_tokens": ["<a>", {"content": "<b>"}],
		"extra_special_tokens": {"image_token": "<img>"}, "image_token": "<image>",
		"chat_template": "{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}|{{ additional_special_tokens }}|{{ image_token }}"}`
	tmpl, err := Parse([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.BOS() != "<s>" || tmpl.EOS() != "</s>" {
		t.Errorf("BOS, EOS = %q, %q", tmpl.BOS(), tmpl.EOS())
	}
	toks := tmpl.SpecialTokens()
	if len(toks) != 4 || toks["image_token"] != "<image>" {
		t.Errorf("SpecialTokens = %v", toks)
	}
	got, err := tmpl.Render(user, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<s>|</s>|False|['<a>', '<b>']|<image>"; got != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
	got, err = tmpl.Render(user, Options{Vars: map[string]any{"bos_token": "B"}})
	if err != nil || !strings.HasPrefix(got, "B|") {
		t.Errorf("a variable does not replace bos_token: %q, %v", got, err)
	}
}

func TestNamedTemplates(t *testing.T) {
	tmpl, err := Parse(config(t, []map[string]string{
		{"name": "default", "template": "d"}, {"name": "tool_use", "template": "t"}, {"name": "rag", "template": "r"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.Names(), ","); got != "default,rag,tool_use" {
		t.Errorf("Names = %s", got)
	}
	tests := []struct {
		opt  Options
		want string
	}{
		{Options{}, "d"},
		{Options{Tools: []any{}}, "t"},
		{Options{Name: "rag", Tools: []any{}}, "r"},
		{Options{Name: "default", Tools: []any{map[string]any{"x": 1}}}, "d"},
	}
	for _, tt := range tests {
		got, err := tmpl.Render(user, tt.opt)
		if err != nil || got != tt.want {
			t.Errorf("Render(%+v) = %q, %v; want %q", tt.opt, got, err, tt.want)
		}
	}
	if _, err := tmpl.Render(user, Options{Name: "nope"}); !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), "default, rag, tool_use") {
		t.Errorf("unknown name: %v", err)
	}
	single, err := Parse(config(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := single.Render(user, Options{Name: "default"}); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("a name for a single template: %v", err)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	render := func(path string) string {
		t.Helper()
		tmpl, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tmpl.Render(user, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	write("tokenizer_config.json", `{"bos_token": "<s>"}`)
	_, err := Load(dir)
	if !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), filepath.Join(dir, "tokenizer_config.json")) {
		t.Fatalf("no template: %v, want an error naming the file", err)
	}
	write("tokenizer_config.json", `{"bos_token": "<s>", "chat_template": "config"}`)
	if got := render(dir); got != "config" {
		t.Errorf("config template: %q", got)
	}
	write("chat_template.json", `{"chat_template": "json {{ bos_token }}"}`)
	if got := render(filepath.Join(dir, "tokenizer_config.json")); got != "json <s>" {
		t.Errorf("chat_template.json: %q", got)
	}
	write("chat_template.jinja", "jinja {{ messages[0].content }}\n")
	if got := render(dir); got != "jinja hi" {
		t.Errorf("chat_template.jinja: %q", got)
	}
	write("additional_chat_templates/rag.jinja", "rag")
	tmpl, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.Names(), ","); got != "default,rag" {
		t.Errorf("Names = %s", got)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	write("bad/tokenizer_config.json", `{"chat_template": `)
	if _, err := Load(filepath.Join(dir, "bad")); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("malformed config: %v", err)
	}
}

func TestMessageFields(t *testing.T) {
	tmpl, err := Parse(config(t, "{% for m in messages %}{{ m | tojson }}\n{% endfor %}"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		{Role: "assistant", Name: "bot", ReasoningContent: "r", Thinking: "t",
			ToolCalls: []ToolCall{{ID: "c1", Type: "function", Function: FunctionCall{Name: "f", Arguments: json.RawMessage(`{"z": 1, "a": [1.0, 2]}`)}}},
			Extra:     map[string]any{"content": nil, "weight": 0.5}},
		{Role: "tool", Content: "42", ToolCallID: "c1", Extra: map[string]any{"n": float64(3), "m": map[string]any{"b": true, "a": nil}}},
	}
	got, err := tmpl.Render(msgs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role": "assistant", "content": null, "name": "bot", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"z": 1, "a": [1.0, 2]}}}], "reasoning_content": "r", "thinking": "t", "weight": 0.5}
{"role": "tool", "content": "42", "tool_call_id": "c1", "m": {"a": null, "b": true}, "n": 3}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name     string
		template string
		msgs     []Message
		opt      Options
		check    func(error) bool
	}{
		{"raise", "{{ raise_exception('no ' ~ messages[0].role) }}", user, Options{},
			func(err error) bool { var re *RaiseError; return errors.As(err, &re) && re.Message == "no user" }},
		{"unsupported", "{{ 'a'.title() }}", user, Options{},
			func(err error) bool { var ue *UnsupportedError; return errors.As(err, &ue) && ue.Line == 1 }},
		{"syntax", "{{ 'a' ", user, Options{},
			func(err error) bool { var se *SyntaxError; return errors.As(err, &se) }},
		{"engine syntax", "{% if %}", user, Options{},
			func(err error) bool { var se *SyntaxError; return errors.As(err, &se) }},
		{"engine", "{{ 1 | nosuchfilter }}", user, Options{},
			func(err error) bool { var ee *EngineError; return errors.As(err, &ee) }},
		{"no messages", "x", nil, Options{},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "no messages") }},
		{"reserved variable", "x", user, Options{Vars: map[string]any{"__chat_str": 1}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "reserved") }},
		{"argument as variable", "x", user, Options{Vars: map[string]any{"messages": 1}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "Render's arguments") }},
		{"function variable", "x", user, Options{Vars: map[string]any{"f": func() {}}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "func") }},
		{"invalid UTF-8", "{{ messages[0].content }}", []Message{{Role: "user", Content: "\xff"}}, Options{},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "UTF-8") }},
		{"loops", "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", user, Options{},
			func(err error) bool {
				var le *LimitError
				return errors.As(err, &le) && strings.Contains(le.Limit, "iterations")
			}},
		{"range", "{% for a in range(100001) %}{% endfor %}", user, Options{},
			func(err error) bool {
				var le *LimitError
				return errors.As(err, &le) && strings.Contains(le.Limit, "range")
			}},
		{"recursion", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", user, Options{},
			func(err error) bool {
				var le *LimitError
				return errors.As(err, &le) && strings.Contains(le.Limit, "macro")
			}},
		{"output", "{% for a in range(100000) %}{% for b in range(1000) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}{% endfor %}", user, Options{},
			func(err error) bool { var le *LimitError; return errors.As(err, &le) }},
		{"timeout", "{% for a in range(100000) %}{% for b in range(10) %}{% endfor %}{% endfor %}", user, Options{Timeout: time.Nanosecond},
			func(err error) bool { var le *LimitError; return errors.As(err, &le) && le.Limit == "timeout" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse(config(t, tt.template))
			if err != nil {
				t.Fatal(err)
			}
			out, err := tmpl.Render(tt.msgs, tt.opt)
			if !tt.check(err) {
				t.Fatalf("Render = %.80q, %v", out, err)
			}
		})
	}
}

func TestCheckAndSource(t *testing.T) {
	tmpl, err := Parse(config(t, []map[string]string{{"name": "default", "template": "ok"}, {"name": "bad", "template": "{{ x.pop() }}"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := tmpl.Check(Options{}); err != nil {
		t.Errorf("Check(default) = %v", err)
	}
	var ue *UnsupportedError
	if err := tmpl.Check(Options{Name: "bad"}); !errors.As(err, &ue) || !strings.Contains(ue.Construct, "pop") {
		t.Errorf("Check(bad) = %v", err)
	}
	if src, err := tmpl.Source(Options{Name: "bad"}); err != nil || src != "{{ x.pop() }}" {
		t.Errorf("Source = %q, %v", src, err)
	}
}

func TestStrftimeNow(t *testing.T) {
	tmpl, err := Parse(config(t, "{{ strftime_now('%d %b %Y') }}"))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2024, 7, 4, 23, 59, 0, 0, time.UTC) }
	if got, err := tmpl.Render(user, Options{Now: now}); err != nil || got != "04 Jul 2024" {
		t.Errorf("Render = %q, %v", got, err)
	}
	got, err := tmpl.Render(user, Options{})
	if want := time.Now().Format("02 Jan 2006"); err != nil || got != want {
		t.Errorf("default clock: %q, %v; want %q", got, err, want)
	}
}

// TestConcurrentRender renders one Template from several goroutines (run
// with -race).
func TestConcurrentRender(t *testing.T) {
	tmpl, err := Load(filepath.Join("testdata", "configs", "features"))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{AddGenerationPrompt: true, Now: func() time.Time { return goldenClock }}
	want, err := tmpl.Render(user, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := tmpl.Render(user, opt)
				if err == nil && got != want {
					err = errors.New("a concurrent render differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
