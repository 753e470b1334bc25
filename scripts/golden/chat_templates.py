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
SNIPPETS_OUT = os.path.join(ROOT, "chat", "testdata", "snippets.json")
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


# ---------------------------------------------------------------- snippets

# Small templates for the engine's semantics, rendered in the same
# environment with the data given (chat/testdata/snippets.json). The Go test
# names the ones it refuses or where it is laxer than Python.
SNIPPETS = [
 ("undef_attr", "{{ x.y }}", {}),
 ("undef_attr_of_index", "{{ m[0].role }}", {"m": []}),
 ("undef_print", "[{{ x }}]", {}),
 ("undef_concat", "{{ 'a' + x }}", {}),
 ("undef_concat_tilde", "{{ 'a' ~ x }}", {}),
 ("undef_iter", "{% for a in x %}{{a}}{% endfor %}ok", {}),
 ("undef_truthy", "{% if x %}y{% else %}n{% endif %}", {}),
 ("undef_eq", "{{ x == 'a' }}", {}),
 ("undef_len", "{{ x | length }}", {}),
 ("undef_method", "{{ x.strip() }}", {}),
 ("none_concat", "{{ 'a' + n }}", {"n": None}),
 ("none_print", "[{{ n }}]", {"n": None}),
 ("none_in", "{{ 'a' in n }}", {"n": None}),
 ("none_attr", "{{ n.x }}", {"n": None}),
 ("missing_key", "[{{ d.zz }}][{{ d['zz'] }}]", {"d": {"a": 1}}),
 ("missing_key_attr", "{{ d.zz.yy }}", {"d": {"a": 1}}),
 ("float_print", "{{ 5.0 }} {{ 10/2 }} {{ 1e20 }} {{ 0.1+0.2 }} {{ 1.5e-7 }} {{ 100.0 }}", {}),
 ("float_json", "{{ [5.0, 1e20, 0.1, 100.0] | tojson }}", {}),
 ("int_div", "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 0.5 }}", {}),
 ("bool_print", "{{ true }} {{ false }} {{ none }} {{ True }} {{ [true, none] }}", {}),
 ("list_print", "{{ [1, 'a', {'b': 2}] }} {{ {'a': 'x'} }}", {}),
 ("str_repr_list", "{{ ['it\\'s', \"q\\\"\"] }}", {}),
 ("tojson_html", "{{ '<a>&' | tojson }}", {}),
 ("tojson_nonascii", "{{ 'é世🙂' | tojson }}", {}),
 ("tojson_indent", "{{ {'b': [1, {}], 'a': []} | tojson(indent=2) }}", {}),
 ("tojson_sort", "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}", {}),
 ("tojson_sep", "{{ {'b': 1, 'a': [1,2]} | tojson(separators=(',', ':')) }}", {}),
 ("tojson_ascii", "{{ 'é' | tojson(ensure_ascii=true) }}", {}),
 ("tojson_ctrl", "{{ '\\x01\\x7f\\u2028' | tojson }}", {}),
 ("trim_filter", "[{{ '  a \\n' | trim }}]", {}),
 ("strip_chars", "{{ 'xyax'.strip('xy') }}", {}),
 ("split_ws", "{{ ' a  b '.split() }}", {}),
 ("split_max", "{{ 'a,b,c'.split(',', 1) }}", {}),
 ("rsplit", "{{ 'a,b,c'.rsplit(',', 1) }}", {}),
 ("upper_title", "{{ 'hello WORLD'.title() }} {{ 'abc'.capitalize() }} {{ 'ABC'.lower() }}", {}),
 ("replace_count", "{{ 'aaa'.replace('a', 'b', 2) }}", {}),
 ("find", "{{ 'abc'.find('c') }} {{ 'abc'.count('a') }}", {}),
 ("startswith_tuple", "{{ 'abc'.startswith(('x', 'a')) }}", {}),
 ("slice_neg", "{{ [1,2,3,4][-2:] }} {{ 'hello'[::-1] }} {{ [1,2,3][1:2] }} {{ [1,2,3,4,5][::2] }}", {}),
 ("index_neg", "{{ [1,2,3][-1] }}", {}),
 ("index_oob", "[{{ [1,2,3][5] }}]", {}),
 ("loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{% if loop.previtem is defined %}{{ loop.previtem }}{% endif %}{% endfor %}", {}),
 ("loop_cycle", "{% for x in 'abc' %}{{ loop.cycle('o','e') }}{% endfor %}", {}),
 ("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}", {}),
 ("for_if", "{% for x in [1,2,3,4] if x is even %}{{x}}{% endfor %}", {}),
 ("for_unpack", "{% for a, b in [[1,2],[3,4]] %}{{a}}{{b}}{% endfor %}", {}),
 ("scoping", "{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", {}),
 ("ns_scope", "{% set ns = namespace(x=1) %}{% for i in [1] %}{% set ns.x = 2 %}{% endfor %}{{ ns.x }}", {}),
 ("macro_defaults", "{% macro f(a, b='d') %}{{a}}-{{b}}{% endmacro %}{{ f(1) }} {{ f(1, b=2) }}", {}),
 ("macro_caller", "{% macro f() %}[{{ caller() }}]{% endmacro %}{% call f() %}in{% endcall %}", {}),
 ("set_block", "{% set x %}a{{ 1 }}b{% endset %}{{ x }}", {}),
 ("filter_block", "{% filter upper %}abc{% endfilter %}", {}),
 ("inline_if_noelse", "[{{ 'a' if false }}]", {}),
 ("dict_items", "{% for k, v in {'b': 1, 'a': 2}.items() %}{{k}}{{v}}{% endfor %}", {}),
 ("dict_get", "{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b', 'z') }} [{{ {'a': 1}.get('b') }}]", {}),
 ("dict_keys", "{{ {'b': 1, 'a': 2}.keys() | list }} {{ {'b':1} | list }}", {}),
 ("dictsort", "{{ {'b': 1, 'a': 2} | dictsort }}", {}),
 ("in_dict", "{{ 'a' in {'a': 1} }} {{ 1 in [1] }} {{ 'x' not in 'abc' }}", {}),
 ("is_tests", "{{ 1 is number }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ none is none }} {{ [] is sequence }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ 1 is odd }}", {}),
 ("is_defined_attr", "{{ d.a is defined }} {{ d.b is defined }}", {"d": {"a": None}}),
 ("equalto", "{{ [{'r':'a'},{'r':'b'}] | selectattr('r', 'equalto', 'a') | list | length }} {{ [1,2,3] | select('odd') | list }} {{ [{'r':'a'}] | rejectattr('r', 'eq', 'a') | list }}", {}),
 ("map_attr", "{{ [{'r':'a'},{'r':'b'}] | map(attribute='r') | join(',') }}", {}),
 ("map_filter", "{{ ['a','b'] | map('upper') | list }}", {}),
 ("join_attr", "{{ [{'r':'a'},{'r':'b'}] | join(',', attribute='r') }}", {}),
 ("first_last", "{{ [1,2] | first }} {{ [1,2] | last }} {{ 'ab' | first }}", {}),
 ("default", "{{ x | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }}", {}),
 ("string_filter", "{{ 1 | string }} {{ [1] | string }} {{ none | string }}", {}),
 ("int_float", "{{ '3' | int }} {{ '3.5' | float }} {{ 3.7 | int }} {{ 'x' | int }}", {}),
 ("round", "{{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.5 | round(0, 'floor') }}", {}),
 ("indent", "{{ 'a\\nb' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", {}),
 ("wordcount_count", "{{ 'a b c' | wordcount }} {{ [1,2] | count }}", {}),
 ("unique_sort", "{{ [3,1,3,2] | unique | list }} {{ [3,1,2] | sort }} {{ ['b','A','a'] | sort }} {{ [3,1,2] | sort(reverse=true) }}", {}),
 ("reverse", "{{ [1,2,3] | reverse | list }} {{ 'abc' | reverse }}", {}),
 ("minmax_sum", "{{ [3,1,2] | max }} {{ [3,1,2] | min }} {{ [1,2] | sum }} {{ [1.5, 2] | sum }}", {}),
 ("escape_safe", "{{ '<a>' | e }} {{ '<a>' | safe }} {{ '<a>' }}", {}),
 ("string_mul", "{{ 'ab' * 3 }} {{ '=' * 0 }}", {}),
 ("list_concat", "{{ [1] + [2] }}", {}),
 ("compare_chain", "{{ 1 < 2 < 3 }} {{ 1 < 2 > 3 }}", {}),
 ("and_or_values", "{{ '' or 'b' }} {{ 'a' and 'b' }} {{ none or 0 }}", {}),
 ("not_prec", "{{ not 1 == 2 }}", {}),
 ("str_escape", "{{ 'a\\tb\\\\n' }}|{{ \"\\u00e9\" }}", {}),
 ("whitespace_ctrl", "a  {%- if true -%}  b  {%- endif -%}  c\n  {{- 'd' -}}  \n e", {}),
 ("trim_lstrip", "a\n    {% if true %}\n    b\n    {% endif %}\nc\n", {}),
 ("lstrip_plus", "a\n    {%+ if true %}b{% endif %}\n", {}),
 ("comment_ws", "a\n  {# c #}\nb", {}),
 ("trailing_nl", "a\n", {}),
 ("raw_block", "{% raw %}{{ x }}{% endraw %}", {}),
 ("range", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}", {}),
 ("dict_literal_order", "{{ {'z': 1, 'a': 2} }} {{ dict(z=1, a=2) }}", {}),
 ("namespace_print", "{% set ns = namespace(a=1) %}{{ ns.a }}", {}),
 ("raise_nested", "{% if true %}{{ raise_exception('boom ' ~ 1) }}{% endif %}", {}),
 ("unknown_filter", "{{ 1 | nosuchfilter }}", {}),
 ("unknown_test", "{{ 1 is nosuchtest }}", {}),
 ("syntax_error", "{% if %}", {}),
 ("unclosed", "{% for x in y %}", {}),
 ("call_undefined", "{{ nosuchfn() }}", {}),
 ("int_str_concat", "{{ 1 + 'a' }}", {}),
 ("str_int_mul", "{{ 'a' + 1 }}", {}),
 ("attr_on_str", "{{ 'abc'.nosuch }}", {}),
 ("items_filter", "{% for k, v in {'b':1,'a':2} | items %}{{k}}{{v}}{% endfor %}", {}),
 ("tojson_undefined", "{{ x | tojson }}", {}),
 ("length_str", "{{ 'héllo' | length }} {{ 'héllo'[1] }} {{ 'héllo'[1:3] }}", {}),
 ("upper_unicode", "{{ 'straße' | upper }} {{ 'ǅ' | lower }}", {}),
 ("strip_unicode_ws", "[{{ '\\u00a0a\\u3000'.strip() }}][{{ '\\u00a0a\\u3000' | trim }}]", {}),
 ("bool_ops", "{{ true + 1 }} {{ [] == [] }} {{ {'a':1} == {'a':1} }}", {}),
 ("int_big", "{{ 9007199254740993 }} {{ 2 ** 64 }}", {}),
 ("string_format", "{{ '%s-%d' % ('a', 3) }} {{ '{}-{}'.format('a', 1) }}", {}),
 ("is_in", "{{ 'a' is in ['a'] }}", {}),
 ("loop_nested", "{% for a in [1,2] %}{% for b in [3] %}{{ loop.index }}{{ a }}{% endfor %}{% endfor %}", {}),
 ("loop_recursive", "{% for x in t recursive %}{{ x.n }}{% if x.c %}({{ loop(x.c) }}){% endif %}{% endfor %}", {"t": [{"n": 1, "c": [{"n": 2, "c": []}]}]}),
 ("break_continue", "{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{x}}{% endfor %}", {}),
 ("generation_tag", "a{% generation %}b{{ 1 }}{% endgeneration %}c", {}),
 ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
 ("tuple_print", "{{ (1, 'a') }}", {}),
 ("map_on_dict", "{{ {'a': 1}.a }} {{ {'a': {'b': 2}}['a'].b }}", {}),
 ("content_none_test", "{{ m.content is none }} {{ m.content is not none }} {{ m.content is string }}", {"m": {"content": None}}),
 ("do_ext", "{% do x %}", {}),
 ("include", "{% include 'x' %}", {}),
 ("selectattr_defined", "{{ [{'a': 1}, {}] | selectattr('a', 'defined') | list | length }}", {}),
 ("batch", "{{ [1,2,3] | batch(2) | list }}", {}),
 ("capitalize_title_filter", "{{ 'hELLO wORLD' | capitalize }} {{ 'hELLO wORLD' | title }}", {}),
 ("string_compare", "{{ 'a' < 'b' }} {{ 'B' < 'a' }}", {}),
 ("in_list_of_dicts", "{{ {'a':1} in [{'a':1}] }}", {}),
 ("joiner", "{% set j = joiner(', ') %}{% for x in [1,2] %}{{ j() }}{{x}}{% endfor %}", {}),
 ("whitespace_expr_trim", "a\n{{- 'b' }}\n", {}),
 ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", {}),
] + [
 ("adj_trimleft", "a  {{ 'b' }}{%- if true %}c{% endif %}", {}),
 ("adj_lstrip", "x\n  {{ 'b' }}{% if true %}c{% endif %}", {}),
 ("adj_trimright", "{% if true -%}{{ 'b' }}  c{% endif %}", {}),
 ("adj_trimblock", "{% if true %}{{ 'b' }}\nc{% endif %}", {}),
 ("adj_comment", "a\n  {# c #}{{ 'x' }}\n", {}),
 ("tag_tag_nl", "{% if true %}{% if true %}\nc{% endif %}{% endif %}", {}),
 ("expr_trim_over_tag", "a  {% if true %}{{- 'b' }}{% endif %}", {}),
 ("lstrip_mid_line", "a {% if true %}b{% endif %}", {}),
 ("lstrip_first", "   {% if true %}b{% endif %}", {}),
 ("comment_lstrip", "a\n   {# x #}\nb", {}),
 ("expr_no_lstrip", "a\n   {{ 'x' }}\nb", {}),
 ("trailing_ws_trimblock", "{% if true %}  \nb{% endif %}", {}),
 ("crlf_trim", "{% if true %}\r\nb{% endif %}", {}),
] + [
 ("strftime_codes", "{{ strftime_now('%a %A %b %B %d %-d %e %H %I %-I %j %m %-m %M %p %S %y %Y %u %w %U %W %V %G %D %F %T %R %r %c %x %X %% %Q') }}", {}),
 ("string_escapes", "{{ '\\x41\\u00e9\\U0001F642\\101\\r\\a\\q' | tojson }} {{ \"a\\\"b\" }}", {}),
 ("adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
 ("numbers_forms", "{{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1e3 }} {{ 1.5E-2 }} {{ 2.50 }}", {}),
 ("unicode_ws_strip", "[{{ s | trim }}][{{ s.strip() }}]", {"s": "\u00a0\u3000a\u2028\x1c"}),
 ("data_floats", "{{ f }} {{ f | tojson }} {{ [f, i] }} {{ g }} {{ g | tojson }}", {"f": 5.0, "i": 3, "g": 1e-7}),
 ("none_data", "[{{ n }}] {{ n | tojson }} {{ [n] }} {{ n | string }}", {"n": None}),
 ("join_values", "{{ [1, 2.0, none, 'a'] | join(', ') }} {{ [{'n': 1}, {'n': 2}] | join('-', attribute='n') }} {{ 'abc' | join('.') }}", {}),
 ("list_first_last", "{{ 'abc' | list }} {{ {'x': 1, 'y': 2} | list }} {{ 'abc' | first }} {{ 'abc' | last }} {{ {'x': 1, 'y': 2} | first }}", {}),
 ("tojson_kwargs", "{{ d | tojson(indent=2, sort_keys=true) }} {{ d | tojson(separators=(',', ':')) }} {{ d | tojson(indent='\\t') }} {{ 'é\\x7f' | tojson(ensure_ascii=true) }}", {"d": {"b": [1, {}], "a": "<&>"}}),
 ("namespace_loop", "{% set ns = namespace(n=0, s='') %}{% for m in ms %}{% set ns.n = ns.n + 1 %}{% set ns.s = ns.s ~ m.r %}{% endfor %}{{ ns.n }} {{ ns.s }}", {"ms": [{"r": "a"}, {"r": "b"}]}),
 ("macro_indent", "{% macro f(x) %}\n  <{{ x }}>\n{% endmacro %}\n{{ f(1) }}{{ f(2) }}", {}),
 ("generation_ws", "a\n  {% generation %}\n  b\n  {% endgeneration %}\nc", {}),
 ("nested_dict_print", "{{ {'a': {'b': 1}} }}{{ [[1]] }}", {}),
 ("set_target_forms", "{% set a, b = 1, 2 %}{{ a }}", {}),
 ("pow_op", "{{ 2 ** 3 }}", {}),
 ("recursion_bounded", "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(3) }}", {}),
 ("recursion_unbounded", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", {}),
 ("range_huge", "{% for i in range(10 ** 12) %}{% endfor %}", {}),
 ("range_huge_noop", "{% for i in range(100000000) %}{% if false %}x{% endif %}{% endfor %}done", {}),
 ("mutating", "{% set l = [1] %}{{ l.append(2) }}{{ l }}", {}),
 ("underscore_attr", "{{ ''.__class__ }}", {}),
 ("split_maxsplit", "{{ 'a b c'.split(' ', 1) }}", {}),
 ("map_filter_name", "{{ ['a'] | map('upper') | list }}", {}),
 ("block_set_filter", "{% set x | upper %}abc{% endset %}{{ x }}", {}),
]


def render_snippet(name, src, data):
    entry = {"name": name, "template": src, "data": data}
    try:
        entry.update(output=compile_template(src).render(**data), error=None)
    except RecursionError:
        entry.update(output=None, error="RecursionError")
    except Exception as e:
        entry.update(output=None, error=f"{type(e).__name__}: {e}")
    return entry


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

    names = [n for n, _, _ in SNIPPETS]
    assert len(names) == len(set(names)), "snippet names repeat"
    snippets = [render_snippet(*s) for s in SNIPPETS]
    files = {OUT: entries, SNIPPETS_OUT: snippets}
    for path, data in files.items():
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
        if args.check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    sys.exit(f"{path} is out of date: rerun without --check")
            print(f"{path}: up to date ({len(data)} entries)")
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    if args.check:
        return
    kinds = {}
    for e in entries:
        kinds[e["error_kind"] or "output"] = kinds.get(e["error_kind"] or "output", 0) + 1
    print(f"wrote {OUT}: {len(entries)} cases, jinja2 {jinja2.__version__}, {kinds}")
    print(f"wrote {SNIPPETS_OUT}: {len(snippets)} snippets, {sum(e['error'] is None for e in snippets)} render")


if __name__ == "__main__":
    main()
