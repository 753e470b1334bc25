package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attn-go/attn/internal/testmodels"
)

// golden is one case of testdata/golden.json, written by
// scripts/golden/chat_templates.py from Python's jinja2 in transformers'
// environment.
type golden struct {
	Config              string            `json:"config"`
	Case                string            `json:"case"`
	Messages            []json.RawMessage `json:"messages"`
	AddGenerationPrompt bool              `json:"add_generation_prompt"`
	Tools               []json.RawMessage `json:"tools"`
	Documents           []json.RawMessage `json:"documents"`
	Name                string            `json:"name"`
	Vars                map[string]json.RawMessage
	Output              *string `json:"output"`
	Error               *string `json:"error"`
	ErrorKind           *string `json:"error_kind"`
}

// realConfigs are the configs under the shared tokenizers folder; the others
// are in testdata/configs.
var realConfigs = map[string]bool{"llama3": true, "qwen3": true, "gemma3": true, "deepseek_v3": true, "llama2": true, "gptoss": true}

// goldenClock is the time the script pins strftime_now to.
var goldenClock = time.Date(2026, 1, 15, 9, 30, 5, 0, time.UTC)

func readGoldens(t *testing.T) []golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gs []golden
	if err := json.Unmarshal(b, &gs); err != nil {
		t.Fatal(err)
	}
	if len(gs) < 50 {
		t.Fatalf("golden.json has %d cases, want at least 50", len(gs))
	}
	return gs
}

// goldenMessage turns a message of golden.json into a Message: the known
// keys into fields, a content that is not a string into Extra.
func goldenMessage(raw json.RawMessage) (Message, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Message{}, err
	}
	var m Message
	str := func(k string, dst *string) error {
		if r, ok := fields[k]; ok {
			delete(fields, k)
			return json.Unmarshal(r, dst)
		}
		return nil
	}
	for k, dst := range map[string]*string{"role": &m.Role, "name": &m.Name, "tool_call_id": &m.ToolCallID, "reasoning_content": &m.ReasoningContent} {
		if err := str(k, dst); err != nil {
			return m, err
		}
	}
	if r, ok := fields["content"]; ok {
		delete(fields, "content")
		if len(r) == 0 || r[0] != '"' || json.Unmarshal(r, &m.Content) != nil {
			m.Extra = map[string]any{"content": r}
		}
	}
	if r, ok := fields["tool_calls"]; ok {
		delete(fields, "tool_calls")
		var calls []struct {
			Type     string `json:"type"`
			Function struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		}
		if err := json.Unmarshal(r, &calls); err != nil {
			return m, err
		}
		for _, c := range calls {
			var args any = c.Function.Arguments
			var s string
			if c.Function.Arguments[0] == '"' && json.Unmarshal(c.Function.Arguments, &s) == nil {
				args = s
			}
			m.ToolCalls = append(m.ToolCalls, ToolCall{Type: c.Type, Function: FunctionCall{Name: c.Function.Name, Arguments: args}})
		}
	}
	if len(fields) > 0 {
		return m, fmt.Errorf("message keys left over: %v", fields)
	}
	return m, nil
}

func rawList(rs []json.RawMessage) []any {
	if rs == nil {
		return nil
	}
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

func loadGolden(t *testing.T, g golden) (*Template, error) {
	t.Helper()
	if realConfigs[g.Config] {
		return Load(testmodels.Tokenizer(t, g.Config, "tokenizer_config.json"))
	}
	return Load(filepath.Join("testdata", "configs", g.Config))
}

func TestGolden(t *testing.T) {
	for _, g := range readGoldens(t) {
		t.Run(g.Config+"/"+g.Case, func(t *testing.T) {
			tmpl, err := loadGolden(t, g)
			if g.ErrorKind != nil && *g.ErrorKind == "no_template" {
				if err == nil {
					_, err = tmpl.Render([]Message{{Role: "user", Content: "x"}}, Options{Name: g.Name})
				}
				if !errors.Is(err, ErrNoTemplate) {
					t.Fatalf("error %v, want one wrapping ErrNoTemplate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := make([]Message, len(g.Messages))
			for i, r := range g.Messages {
				if msgs[i], err = goldenMessage(r); err != nil {
					t.Fatal(err)
				}
			}
			vars := map[string]any{}
			for k, v := range g.Vars {
				vars[k] = v
			}
			opt := Options{
				AddGenerationPrompt: g.AddGenerationPrompt,
				Tools:               rawList(g.Tools),
				Documents:           rawList(g.Documents),
				Vars:                vars,
				Name:                g.Name,
				Now:                 func() time.Time { return goldenClock },
			}
			got, err := tmpl.Render(msgs, opt)
			switch {
			case len(msgs) == 0:
				// Render refuses an empty conversation, whatever Python
				// made of it.
				if err == nil {
					t.Fatalf("rendered an empty conversation: %q", got)
				}
			case g.Output != nil:
				if err != nil {
					t.Fatalf("error %v, want %q", err, *g.Output)
				}
				if got != *g.Output {
					t.Fatalf("prompt differs:\n%s", firstDiff(got, *g.Output))
				}
			case *g.ErrorKind == "raise_exception":
				var re *RaiseError
				if !errors.As(err, &re) {
					t.Fatalf("got %q, %v; want raise_exception(%q)", got, err, *g.Error)
				}
				if re.Message != *g.Error {
					t.Fatalf("raised %q, want %q", re.Message, *g.Error)
				}
			default:
				if err == nil {
					t.Fatalf("rendered %q where Python failed with %s", got, *g.Error)
				}
			}
		})
	}
}

// firstDiff shows where got and want part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-60)
	return fmt.Sprintf("at byte %d of %d (want %d):\n got  %q\n want %q", i, len(got), len(want), got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
}

// TestGoldenUpToDate checks that golden.json holds every case the script
// writes for the committed configs (the script's --check reruns Python).
func TestGoldenUpToDate(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Error("golden.json does not end with a newline")
	}
	seen := map[string]bool{}
	for _, g := range readGoldens(t) {
		key := g.Config + "/" + g.Case
		if seen[key] {
			t.Errorf("case %s twice", key)
		}
		seen[key] = true
		if (g.Output == nil) == (g.Error == nil) {
			t.Errorf("%s: want exactly one of output and error", key)
		}
		if !realConfigs[g.Config] {
			if _, err := os.Stat(filepath.Join("testdata", "configs", g.Config)); err != nil {
				t.Errorf("%s: %v", key, err)
			}
		}
	}
}
