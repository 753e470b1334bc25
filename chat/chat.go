package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation. The template sees it as a dict
// with the keys role and content and, when they are set, name, tool_calls,
// tool_call_id, reasoning_content and thinking, in that order, then the keys
// of Extra in sorted order. A key of Extra replaces the field of that name:
// Extra{"content": nil} passes None (as an assistant turn that only calls
// tools has), and Extra{"content": []any{...}} passes a list of parts.
type Message struct {
	Role             string
	Content          string
	Name             string
	ToolCalls        []ToolCall
	ToolCallID       string
	ReasoningContent string
	Thinking         string
	Extra            map[string]any
}

// ToolCall is one call in an assistant turn: {"id", "type", "function":
// {"name", "arguments"}}, id and type only when set.
type ToolCall struct {
	ID       string
	Type     string
	Function FunctionCall
}

// FunctionCall names the function and its arguments: a string of JSON, or
// a value (a map, or json.RawMessage to keep the key order).
type FunctionCall struct {
	Name      string
	Arguments any
}

// Options are apply_chat_template's other arguments.
type Options struct {
	// AddGenerationPrompt ends the prompt with the header of an assistant
	// turn.
	AddGenerationPrompt bool
	// Tools is the tools argument, each a JSON-like value (a map, or
	// json.RawMessage to keep the key order, which tojson shows); nil
	// passes None.
	Tools []any
	// Documents is the documents argument, as Tools.
	Documents []any
	// Vars are the other keyword arguments, enable_thinking and the like;
	// they replace the special tokens of the same name.
	Vars map[string]any
	// Name picks a named template; empty picks "tool_use" when Tools is
	// set and the config has it, else "default".
	Name string
	// Now is the clock of strftime_now; nil is time.Now.
	Now func() time.Time
	// Timeout bounds the render; zero is DefaultTimeout.
	Timeout time.Duration
}

// Template is a chat template with the special tokens of its config. It is
// safe for concurrent use.
type Template struct {
	origin    string // the file it came from, for errors
	single    *compiled
	named     map[string]*compiled
	tokens    map[string]any
	tokenKeys []string
}

type compiled struct {
	source string
	engine *jinja.Template
	err    error // why it cannot be rendered
}

func compile(source string) (c *compiled) {
	c = &compiled{source: source}
	defer func() {
		if r := recover(); r != nil {
			c.engine, c.err = nil, &EngineError{Err: fmt.Errorf("compiling the template panicked: %v", r)}
		}
	}()
	translated, err := translate(source)
	if err != nil {
		c.err = err
		return c
	}
	c.engine, err = jinja.Compile(translated)
	if err != nil {
		c.err = &SyntaxError{Msg: fmt.Sprintf("the engine cannot compile the template: %v", err)}
	}
	return c
}

// specialTokens are the attributes of transformers' special_tokens_map.
var specialTokens = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token", "additional_special_tokens"}

// Parse reads a tokenizer_config.json. Its chat_template is a string or a
// list of {"name", "template"}; a config without one is an error wrapping
// ErrNoTemplate. A template that cannot be rendered exactly does not fail
// Parse: Render and Check report it.
func Parse(config []byte) (*Template, error) {
	t, err := parse(config, "tokenizer config")
	if err != nil {
		return nil, err
	}
	if t.single == nil && t.named == nil {
		return nil, fmt.Errorf("chat: the tokenizer config has no chat_template: %w", ErrNoTemplate)
	}
	return t, nil
}

func parse(config []byte, origin string) (*Template, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(config, &top); err != nil {
		return nil, fmt.Errorf("chat: %s: %w", origin, err)
	}
	if top == nil {
		return nil, fmt.Errorf("chat: %s is not a JSON object", origin)
	}
	t := &Template{origin: origin, tokens: map[string]any{}}
	if err := t.readTokens(top); err != nil {
		return nil, fmt.Errorf("chat: %s: %w", origin, err)
	}
	if raw, ok := top["chat_template"]; ok {
		if err := t.setTemplates(raw); err != nil {
			return nil, fmt.Errorf("chat: %s: chat_template: %w", origin, err)
		}
	}
	return t, nil
}

// tokenText is a token as a string or an AddedToken object {"content": ...};
// "" when it is null or empty (transformers leaves those out).
func tokenText(raw json.RawMessage) (string, error) {
	var s *string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == nil {
			return "", nil
		}
		return *s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return "", fmt.Errorf("a token is neither a string nor an object with content: %.60s", raw)
	}
	return *obj.Content, nil
}

func (t *Template) readTokens(top map[string]json.RawMessage) error {
	names := append([]string{}, specialTokens...)
	var extra map[string]json.RawMessage
	if raw, ok := top["extra_special_tokens"]; ok {
		// A list (older configs) names no attributes; only a dict does.
		if json.Unmarshal(raw, &extra) == nil {
			keys := make([]string, 0, len(extra))
			for k := range extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if !contains(names, k) {
					names = append(names, k)
				}
			}
		}
	}
	for _, name := range names {
		raw, ok := top[name]
		if !ok {
			raw, ok = extra[name]
		}
		if !ok {
			continue
		}
		if name == "additional_special_tokens" {
			var list []json.RawMessage
			if err := json.Unmarshal(raw, &list); err != nil {
				return fmt.Errorf("additional_special_tokens: %w", err)
			}
			var toks []string
			for _, r := range list {
				s, err := tokenText(r)
				if err != nil {
					return fmt.Errorf("additional_special_tokens: %w", err)
				}
				toks = append(toks, s)
			}
			if len(toks) > 0 {
				t.tokens[name] = toks
				t.tokenKeys = append(t.tokenKeys, name)
			}
			continue
		}
		s, err := tokenText(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if s != "" {
			t.tokens[name] = s
			t.tokenKeys = append(t.tokenKeys, name)
		}
	}
	return nil
}

// setTemplates reads a chat_template value: a string, a list of named
// templates, or null.
func (t *Template) setTemplates(raw json.RawMessage) error {
	var s *string
	if err := json.Unmarshal(raw, &s); err == nil {
		t.single, t.named = nil, nil
		if s != nil {
			t.single = compile(*s)
		}
		return nil
	}
	var list []struct {
		Name     *string `json:"name"`
		Template *string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return errors.New("neither a string nor a list of {name, template}")
	}
	named := map[string]*compiled{}
	for i, e := range list {
		if e.Name == nil || e.Template == nil {
			return fmt.Errorf("entry %d lacks a name or a template", i)
		}
		named[*e.Name] = compile(*e.Template)
	}
	t.single, t.named = nil, named
	return nil
}

// Load reads a tokenizer's chat template from path: a tokenizer_config.json
// or the folder that holds it. As transformers' from_pretrained does, a
// chat_template.jinja beside the config replaces the config's template
// (additional_chat_templates/NAME.jinja add named ones), then a
// chat_template.json ({"chat_template": ...}) does, then the config's own
// chat_template counts. No template anywhere is an error wrapping
// ErrNoTemplate that names the file.
func Load(path string) (*Template, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	dir, config := path, filepath.Join(path, "tokenizer_config.json")
	if !st.IsDir() {
		dir, config = filepath.Dir(path), path
	}
	var t *Template
	b, err := os.ReadFile(config)
	switch {
	case err == nil:
		if t, err = parse(b, config); err != nil {
			return nil, err
		}
	case errors.Is(err, os.ErrNotExist) && st.IsDir():
		t = &Template{origin: config, tokens: map[string]any{}}
	default:
		return nil, fmt.Errorf("chat: %w", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		t.single, t.named = compile(string(b)), nil
		extra, _ := filepath.Glob(filepath.Join(dir, "additional_chat_templates", "*.jinja"))
		if len(extra) > 0 {
			t.named = map[string]*compiled{"default": t.single}
			t.single = nil
			for _, f := range extra {
				b, err := os.ReadFile(f)
				if err != nil {
					return nil, fmt.Errorf("chat: %w", err)
				}
				t.named[strings.TrimSuffix(filepath.Base(f), ".jinja")] = compile(string(b))
			}
		}
		t.origin = filepath.Join(dir, "chat_template.jinja")
	} else if b, err := os.ReadFile(filepath.Join(dir, "chat_template.json")); err == nil {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(b, &top); err != nil || top["chat_template"] == nil {
			return nil, fmt.Errorf("chat: %s: not an object with a chat_template", filepath.Join(dir, "chat_template.json"))
		}
		if err := t.setTemplates(top["chat_template"]); err != nil {
			return nil, fmt.Errorf("chat: %s: chat_template: %w", filepath.Join(dir, "chat_template.json"), err)
		}
		t.origin = filepath.Join(dir, "chat_template.json")
	}
	if t.single == nil && t.named == nil {
		return nil, fmt.Errorf("chat: %s has no chat_template, and no chat_template.jinja is beside it: %w", config, ErrNoTemplate)
	}
	return t, nil
}

// BOS is the config's bos_token, "" when it has none.
func (t *Template) BOS() string { s, _ := t.tokens["bos_token"].(string); return s }

// EOS is the config's eos_token, "" when it has none.
func (t *Template) EOS() string { s, _ := t.tokens["eos_token"].(string); return s }

// SpecialTokens is what the template sees of transformers' special_tokens_map:
// each set token as a string, additional_special_tokens as a []string.
func (t *Template) SpecialTokens() map[string]any {
	out := make(map[string]any, len(t.tokens))
	for k, v := range t.tokens {
		if l, ok := v.([]string); ok {
			v = append([]string{}, l...)
		}
		out[k] = v
	}
	return out
}

// Names lists the named templates in sorted order; nil when the config
// has a single template.
func (t *Template) Names() []string {
	if t.named == nil {
		return nil
	}
	names := make([]string, 0, len(t.named))
	for n := range t.named {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Source is the text of the template Render uses with these options.
func (t *Template) Source(opt Options) (string, error) {
	c, err := t.pick(opt)
	if err != nil {
		return "", err
	}
	return c.source, nil
}

// Check reports why the template Render would use with these options
// cannot be rendered (an *UnsupportedError or a *SyntaxError), or nil.
func (t *Template) Check(opt Options) error {
	c, err := t.pick(opt)
	if err != nil {
		return err
	}
	return t.wrap(c.err)
}

func (t *Template) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("chat: %s: %w", t.origin, err)
}

func (t *Template) pick(opt Options) (*compiled, error) {
	if t.named == nil {
		if opt.Name != "" {
			return nil, fmt.Errorf("chat: %s has a single template, not one named %q: %w", t.origin, opt.Name, ErrNoTemplate)
		}
		return t.single, nil
	}
	name := opt.Name
	if name == "" {
		name = "default"
		if _, ok := t.named["tool_use"]; ok && opt.Tools != nil {
			name = "tool_use"
		}
	}
	c, ok := t.named[name]
	if !ok {
		return nil, fmt.Errorf("chat: %s has no template named %q (it has %s): %w", t.origin, name, strings.Join(t.Names(), ", "), ErrNoTemplate)
	}
	return c, nil
}

// messageValue builds the dict a template sees for m.
func messageValue(m Message) (jinja.Value, error) {
	d := jinja.NewDict()
	set := func(k string, v any) error {
		ev, err := toValue(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		d.AsDict().Set(k, ev)
		return nil
	}
	if err := set("role", m.Role); err != nil {
		return d, err
	}
	if err := set("content", m.Content); err != nil {
		return d, err
	}
	if m.Name != "" {
		if err := set("name", m.Name); err != nil {
			return d, err
		}
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			c := jinja.NewDict()
			if tc.ID != "" {
				c.AsDict().Set("id", jinja.NewString(tc.ID))
			}
			if tc.Type != "" {
				c.AsDict().Set("type", jinja.NewString(tc.Type))
			}
			f := jinja.NewDict()
			f.AsDict().Set("name", jinja.NewString(tc.Function.Name))
			args, err := toValue(tc.Function.Arguments)
			if err != nil {
				return d, fmt.Errorf("tool_calls[%d].function.arguments: %w", i, err)
			}
			f.AsDict().Set("arguments", args)
			c.AsDict().Set("function", f)
			calls[i] = c
		}
		d.AsDict().Set("tool_calls", jinja.NewList(calls))
	}
	for _, kv := range [][2]string{{"tool_call_id", m.ToolCallID}, {"reasoning_content", m.ReasoningContent}, {"thinking", m.Thinking}} {
		if kv[1] != "" {
			if err := set(kv[0], kv[1]); err != nil {
				return d, err
			}
		}
	}
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := set(k, m.Extra[k]); err != nil {
			return d, err
		}
	}
	return d, nil
}

func listValue(name string, items []any) (jinja.Value, error) {
	if items == nil {
		return jinja.None(), nil
	}
	out := make([]jinja.Value, len(items))
	for i, it := range items {
		v, err := toValue(it)
		if err != nil {
			return v, fmt.Errorf("chat: %s[%d]: %w", name, i, err)
		}
		out[i] = v
	}
	return jinja.NewList(out), nil
}

// Render turns messages into the prompt, as transformers'
// tokenizer.apply_chat_template(messages, tokenize=False, ...) returns it.
// A raise_exception in the template gives a *RaiseError with its message; a
// construct the engine would render differently, an *UnsupportedError; a
// runaway template, a *LimitError. An empty conversation is refused.
func (t *Template) Render(messages []Message, opt Options) (out string, err error) {
	c, err := t.pick(opt)
	if err != nil {
		return "", err
	}
	if c.err != nil {
		return "", t.wrap(c.err)
	}
	if len(messages) == 0 {
		return "", errors.New("chat: no messages to render")
	}
	data := map[string]jinja.Value{}
	for k, v := range t.tokens {
		if data[k], err = toValue(v); err != nil {
			return "", fmt.Errorf("chat: %s: %w", k, err)
		}
	}
	for k, v := range opt.Vars {
		switch {
		case strings.HasPrefix(k, reserved):
			return "", fmt.Errorf("chat: variable %s: the prefix %s is reserved", k, reserved)
		case k == "messages" || k == "tools" || k == "documents" || k == "add_generation_prompt":
			return "", fmt.Errorf("chat: variable %s: set it through Render's arguments", k)
		}
		if data[k], err = toValue(v); err != nil {
			return "", fmt.Errorf("chat: variable %s: %w", k, err)
		}
	}
	msgs := make([]jinja.Value, len(messages))
	for i, m := range messages {
		if msgs[i], err = messageValue(m); err != nil {
			return "", fmt.Errorf("chat: message %d: %w", i, err)
		}
	}
	data["messages"] = jinja.NewList(msgs)
	if data["tools"], err = listValue("tools", opt.Tools); err != nil {
		return "", err
	}
	if data["documents"], err = listValue("documents", opt.Documents); err != nil {
		return "", err
	}
	data["add_generation_prompt"] = jinja.NewBool(opt.AddGenerationPrompt)

	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	timeout := DefaultTimeout
	if opt.Timeout > 0 {
		timeout = opt.Timeout
	}
	st := &state{now: now(), deadline: time.Now().Add(timeout)}
	for k, v := range st.globals() {
		if _, set := opt.Vars[k]; !set || strings.HasPrefix(k, reserved) {
			data[k] = v
		}
	}
	return t.run(c, data, st)
}

func (t *Template) run(c *compiled, data map[string]jinja.Value, st *state) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", t.wrap(&EngineError{Err: fmt.Errorf("the engine panicked: %v", r)})
		}
	}()
	out, err = c.engine.RenderValues(data)
	if st.err != nil {
		return "", t.wrap(st.err)
	}
	if err != nil {
		return "", t.wrap(&EngineError{Err: err})
	}
	return out, nil
}
