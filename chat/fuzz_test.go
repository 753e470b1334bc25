package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var fuzzMessages = []Message{
	{Role: "system", Content: "be brief"},
	{Role: "user", Content: "hi"},
	{Role: "assistant", Content: "hello"},
	{Role: "user", Content: "bye"},
}

// fuzzRender renders and requires the same result twice. A panic would fail
// the target; Render turns the engine's panics into errors, so those pass.
func fuzzRender(t *testing.T, tmpl *Template, msgs []Message, opt Options) {
	opt.Timeout = time.Second
	opt.Now = func() time.Time { return goldenClock }
	a, errA := tmpl.Render(msgs, opt)
	b, errB := tmpl.Render(msgs, opt)
	if (errA == nil) != (errB == nil) || a != b {
		t.Fatalf("two renders differ: %q, %v and %q, %v", a, errA, b, errB)
	}
}

func addConfigSeeds(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "configs", "*", "tokenizer_config.json"))
	for _, p := range dirs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"chat_template": "{% for m in messages %}{{ m.role }}{% endfor %}"}`))
	f.Add([]byte(`{"chat_template": [{"name": "default", "template": "{{ 1 }}"}]}`))
	f.Add([]byte(`{"bos_token": {"content": "<s>"}, "chat_template": "{%- raw -%} {{ x }} {%- endraw %}"}`))
}

// FuzzParse feeds arbitrary config bytes to Parse and renders what parses.
func FuzzParse(f *testing.F) {
	addConfigSeeds(f)
	f.Fuzz(func(t *testing.T, config []byte) {
		tmpl, err := Parse(config)
		if err != nil {
			return
		}
		opt := Options{AddGenerationPrompt: true}
		for _, name := range append([]string{""}, tmpl.Names()...) {
			opt.Name = name
			fuzzRender(t, tmpl, fuzzMessages, opt)
		}
	})
}

// FuzzTemplate feeds an arbitrary template source through the front end
// and the engine.
func FuzzTemplate(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "snippets.json"))
	if err != nil {
		f.Fatal(err)
	}
	var ss []snippet
	if err := json.Unmarshal(b, &ss); err != nil {
		f.Fatal(err)
	}
	for _, s := range ss {
		f.Add(s.Template)
	}
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := json.Marshal(map[string]string{"chat_template": src, "bos_token": "<s>"})
		if err != nil {
			return
		}
		tmpl, err := Parse(cfg)
		if err != nil {
			t.Fatalf("a config with a string template did not parse: %v", err)
		}
		fuzzRender(t, tmpl, fuzzMessages, Options{AddGenerationPrompt: true, Vars: map[string]any{"x": []any{1, "a", nil}}})
	})
}

// FuzzRender renders arbitrary message roles and contents through fixed
// templates: the ChatML one of testdata, whose prompt must hold them as
// they went in, and the Llama 2 style one, which raises on a role out of
// turn.
func FuzzRender(f *testing.F) {
	tmpl, err := Load(filepath.Join("testdata", "configs", "chatml"))
	if err != nil {
		f.Fatal(err)
	}
	strict, err := Load(filepath.Join("testdata", "configs", "llama2_inst"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("user", "hello {{ x }} {% if %}", "assistant", "é\n\t\"'\\")
	f.Add("system", "", "system", "<|im_end|>")
	f.Fuzz(func(t *testing.T, role1, content1, role2, content2 string) {
		msgs := []Message{{Role: role1, Content: content1}, {Role: role2, Content: content2}}
		fuzzRender(t, strict, msgs, Options{})
		got, err := tmpl.Render(msgs, Options{AddGenerationPrompt: true})
		if err != nil {
			var ee *EngineError
			if errors.As(err, &ee) {
				t.Fatalf("engine error on plain strings: %v", err)
			}
			return
		}
		want := "<|im_start|>" + role1 + "\n" + content1 + "<|im_end|>\n<|im_start|>" + role2 + "\n" + content2 + "<|im_end|>\n<|im_start|>assistant\n\n"
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
