#!/usr/bin/env python3
"""Golden prompts for package chat: what Hugging Face transformers'
`tokenizer.apply_chat_template(messages, tokenize=False, ...)` returns.

Run from the repository root with a python3 that has jinja2 >= 3.1 (3.1.6 was
used):

    python3 scripts/golden/chat_templates.py          # writes chat/testdata/golden.json
    python3 scripts/golden/chat_templates.py --check  # fails if the file would change

transformers itself is not needed: this file re-implements the part of it that
turns a tokenizer_config.json and a conversation into a prompt, rule for rule:

* the template: `chat_template.jinja` beside the config clobbers the config's
  `chat_template`; a list of {"name", "template"} becomes a dict, from which
  the name asked for is taken, else "tool_use" when tools are given and it
  exists, else "default"; no template is an error;
* the environment (`_compile_jinja_template` in chat_template_utils.py):
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
  loopcontrols extension, a `{% generation %}` block that renders its body, a
  `tojson` filter that is json.dumps(x, ensure_ascii=False, indent=indent,
  separators=separators, sort_keys=sort_keys), and the globals
  raise_exception (raises TemplateError with the message) and strftime_now
  (datetime.now().strftime, pinned here to CLOCK);
* the variables (`render_jinja_template` and `apply_chat_template`): the
  tokenizer's special_tokens_map (bos_token, eos_token, unk_token, sep_token,
  pad_token, cls_token, mask_token, additional_special_tokens and the
  extra_special_tokens, each only when set, AddedToken objects as their
  content), then the caller's keyword arguments over them, then messages,
  tools, documents (None when not given) and add_generation_prompt.

The configs are the real ones under $ATTN_TOKENIZERS (default
../shared/tokenizers beside the repository; they are read, never copied) and
the small ones of our own under chat/testdata/configs. Each case records the
prompt, or the error: "raise_exception" errors keep the template's message
exactly, "no_template" and "render" errors only say that it failed.
"""

import argparse
import datetime as dt
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "chat", "testdata", "golden.json")
OWN = os.path.join(ROOT, "chat", "testdata", "configs")
SHARED = os.environ.get("ATTN_TOKENIZERS") or os.path.join(os.path.dirname(ROOT), "shared", "tokenizers")

# strftime_now reads this clock, so a template's date line is fixed.
CLOCK = dt.datetime(2026, 1, 15, 9, 30, 5)

SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
           "additional_special_tokens"]


class NoTemplate(Exception):
    pass


def token_text(v):
    """An AddedToken object ({"content": ...}) or a string, as the string
    transformers keeps."""
    if isinstance(v, dict):
        return v.get("content")
    return v


def special_tokens_map(config):
    out = {}
    names = list(SPECIAL)
    extra = config.get("extra_special_tokens") or {}
    if isinstance(extra, dict):
        names += [k for k in extra if k not in names]
    for name in names:
        v = config.get(name, extra.get(name) if isinstance(extra, dict) else None)
        if name == "additional_special_tokens":
            v = [token_text(t) for t in (v or [])]
        else:
            v = token_text(v)
        if v:  # transformers keeps only the set (truthy) ones
            out[name] = v
    return out


def load(folder):
    """The config and the template (a string or a name -> template dict) of
    a tokenizer folder, as transformers' from_pretrained leaves them."""
    path = os.path.join(folder, "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    template = config.get("chat_template")
    if isinstance(template, list):
        template = {t["name"]: t["template"] for t in template}
    jinja_file = os.path.join(folder, "chat_template.jinja")
    if os.path.exists(jinja_file):
        with open(jinja_file, encoding="utf-8") as f:
            template = f.read()
    return config, template


def pick(template, name, tools):
    if isinstance(template, dict):
        if name is not None and name in template:
            return template[name]
        if name is None:
            if tools is not None and "tool_use" in template:
                return template["tool_use"]
            if "default" in template:
                return template["default"]
        raise NoTemplate("multiple chat templates with no default")
    if template is None:
        raise NoTemplate("tokenizer.chat_template is not set")
    return template


class Generation(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}` renders its body (the
    assistant-token tracking transformers hangs on it does not change the
    text)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return CLOCK.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def render(folder, messages, add_generation_prompt, tools=None, documents=None, name=None, vars=None):
    config, template = load(folder)
    source = pick(template, name, tools)
    kwargs = {**special_tokens_map(config), **(vars or {})}
    return compile_template(source).render(messages=messages, tools=tools, documents=documents,
                                           add_generation_prompt=add_generation_prompt, **kwargs)


# ---------------------------------------------------------------- cases

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
USER = {"role": "user", "content": "What is the capital of France?"}
ASSISTANT = {"role": "assistant", "content": "The capital of France is Paris."}
USER2 = {"role": "user", "content": "And of Germany?"}
SPECIALS = {"role": "user", "content": "  Grüße, 世界! ¿Qué tal? 🙂\n"
                                       "Braces {{ not a tag }} {% neither %} {# nor #}, \"double\" and 'single' "
                                       "quotes,\ttabs, back\\slash and <b>html</b> & co.\n\n"}
TOOLS = [{"type": "function", "function": {
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"},
                                  "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}}]

BASE = [
    ("one_user", [USER], {}),
    ("system_user", [SYSTEM, USER], {}),
    ("multi_turn", [SYSTEM, USER, ASSISTANT, USER2], {}),
    ("user_user", [USER, USER2], {}),
    ("no_generation_prompt", [SYSTEM, USER, ASSISTANT], {"add_generation_prompt": False}),
    ("special_chars", [SYSTEM, SPECIALS], {}),
    ("empty", [], {}),
]

QWEN3 = [
    ("no_thinking", [USER], {"vars": {"enable_thinking": False}}),
    ("thinking_true", [USER], {"vars": {"enable_thinking": True}}),
    ("tools", [SYSTEM, {"role": "user", "content": "Weather in Paris?"}], {"tools": TOOLS}),
    ("tool_calls", [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "",
         "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                          "arguments": {"city": "Paris", "unit": "celsius"}}}]},
        {"role": "tool", "content": "{\"temperature\": 21}", "tool_call_id": "call_1"},
        {"role": "tool", "content": "sunny"},
    ], {"tools": TOOLS}),
    ("tool_call_string_arguments", [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Let me look.",
         "tool_calls": [{"type": "function", "function": {"name": "get_weather",
                                                          "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "content": "sunny"},
    ], {}),
    ("reasoning_content", [
        USER, {"role": "assistant", "content": "Paris.", "reasoning_content": "The user asks about France."},
        USER2,
    ], {}),
    ("think_in_content", [
        USER, {"role": "assistant", "content": "<think>\nFrance... Paris.\n</think>\n\nParis."},
    ], {"add_generation_prompt": False}),
]

GEMMA3 = [
    ("content_parts", [
        {"role": "system", "content": [{"type": "text", "text": "Describe images briefly."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is this? "}]},
    ], {}),
    ("assistant_first", [ASSISTANT, USER], {}),
]

DEEPSEEK = [
    ("tool_calls", [
        SYSTEM,
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
            {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}]},
        {"role": "tool", "content": "21"},
        {"role": "tool", "content": "25"},
        {"role": "assistant", "content": "Paris 21, Rome 25."},
    ], {"add_generation_prompt": False}),
    ("two_systems", [SYSTEM, {"role": "system", "content": "Answer briefly."}, USER], {}),
]

OWN_CASES = {
    "chatml": [
        ("name_field", [{"role": "user", "content": "Hi", "name": "ann"}], {}),
    ],
    "llama2_inst": [
        ("system_late", [USER, SYSTEM], {}),
        ("assistant_first", [ASSISTANT], {}),
        ("no_default_system", [USER, ASSISTANT, USER2], {"vars": {"use_default_system_prompt": False}}),
    ],
    "features": [
        ("tools_documents", [SYSTEM, USER], {
            "tools": TOOLS,
            "documents": [{"title": "Paris", "text": "Paris is the capital of France."},
                          {"title": "Berlin", "text": "Berlin is the capital of Germany."}]}),
        ("loop_controls", [USER, {"role": "assistant", "content": "skip me"}, USER2,
                           {"role": "user", "content": "STOP"}, {"role": "user", "content": "never"}], {}),
        ("named_default", [USER], {"name": "default"}),
        ("named_other", [USER], {"name": "short"}),
        ("vars", [USER], {"vars": {"greeting": "Bonjour", "numbers": [1, 2.5, -3, 1e20, 0.0001],
                                   "flags": {"b": True, "a": None}}}),
        ("raise", [{"role": "oops", "content": "x"}], {}),
    ],
    "jinja_file": [],
    "multi_no_default": [("named", [USER], {"name": "two"})],
    "no_template": [],
}

# Configs without a usable template: only one_user (an error) and their own
# cases run.
NO_TEMPLATE = {"llama2", "gptoss", "multi_no_default", "no_template"}

REAL = {
    "llama3": [],
    "qwen3": QWEN3,
    "gemma3": GEMMA3,
    "deepseek_v3": DEEPSEEK,
    "llama2": [],
    "gptoss": [],
}


def run_case(config, folder, case, messages, opts):
    add = opts.get("add_generation_prompt", True)
    entry = {"config": config, "case": case, "messages": messages, "add_generation_prompt": add}
    for k in ("tools", "documents", "name", "vars"):
        if k in opts:
            entry[k] = opts[k]
    try:
        out = render(folder, messages, add, tools=opts.get("tools"), documents=opts.get("documents"),
                     name=opts.get("name"), vars=opts.get("vars"))
        entry.update(output=out, error=None, error_kind=None)
    except NoTemplate as e:
        entry.update(output=None, error=str(e), error_kind="no_template")
    except jinja2.exceptions.TemplateError as e:
        if type(e) is jinja2.exceptions.TemplateError:  # raise_exception, not a syntax or undefined error
            entry.update(output=None, error=e.message, error_kind="raise_exception")
        else:
            entry.update(output=None, error=f"{type(e).__name__}: {e}", error_kind="render")
    except Exception as e:  # TypeError and the like from inside the template
        entry.update(output=None, error=f"{type(e).__name__}: {e}", error_kind="render")
    return entry


def cases(config, extra):
    base = BASE[:1] if config in NO_TEMPLATE else BASE
    return base + extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if the golden file would change")
    args = ap.parse_args()

    entries = []
    for config, extra in REAL.items():
        folder = os.path.join(SHARED, config)
        if not os.path.exists(os.path.join(folder, "tokenizer_config.json")):
            sys.exit(f"{folder}: no tokenizer_config.json (set ATTN_TOKENIZERS)")
        for case, messages, opts in cases(config, extra):
            entries.append(run_case(config, folder, case, messages, opts))
    for config, extra in OWN_CASES.items():
        folder = os.path.join(OWN, config)
        for case, messages, opts in cases(config, extra):
            entries.append(run_case(config, folder, case, messages, opts))

    text = json.dumps(entries, ensure_ascii=False, indent=1) + "\n"
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} is out of date: rerun without --check")
        print(f"{OUT}: up to date ({len(entries)} cases)")
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    kinds = {}
    for e in entries:
        kinds[e["error_kind"] or "output"] = kinds.get(e["error_kind"] or "output", 0) + 1
    print(f"wrote {OUT}: {len(entries)} cases, jinja2 {jinja2.__version__}, {kinds}")


if __name__ == "__main__":
    main()
