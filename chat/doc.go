// Package chat turns a conversation into the prompt string a model was
// trained on, as Hugging Face transformers'
// tokenizer.apply_chat_template(messages, tokenize=False,
// add_generation_prompt=...) returns it, from the chat_template of a
// tokenizer_config.json (or a chat_template.jinja beside it).
//
// Templates are Jinja. transformers renders them with Python's jinja2 in an
// immutable sandbox with trim_blocks and lstrip_blocks, the loopcontrols
// extension, a {% generation %} block, a tojson filter of its own and the
// globals raise_exception and strftime_now; the variables are messages,
// tools, documents, add_generation_prompt, the special tokens of the config
// and the caller's keyword arguments. Render reproduces that environment.
//
// The engine is github.com/ardanlabs/jinja. A front end of this package
// reads the template first, the way Jinja's lexer does: it applies the
// whitespace rules, decodes string escapes and number forms, and hands the
// engine a template in which all literal text is a string expression, so
// the engine's own whitespace handling (which differs from Jinja's where
// tags touch) has nothing to act on. Printing goes through Python's str()
// (None, True, 5.0, lists and dicts as Python shows them), and tojson,
// string, join, first, last, list and trim are this package's, written
// from Jinja's and transformers' definitions. A construct the engine would
// still render differently is refused with an *UnsupportedError that names
// it, rather than rendered into a different prompt.
//
// A render is bounded: MaxIterations loop iterations, MaxRange items from
// range(), MaxMacroDepth nested macro calls and a timeout, each ending it
// with a *LimitError.
package chat
