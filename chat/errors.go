package chat

import (
	"errors"
	"fmt"
)

// ErrNoTemplate is wrapped by the errors for a config without a chat
// template, or without the named one asked for.
var ErrNoTemplate = errors.New("no chat template")

// RaiseError is a template's raise_exception(message): transformers raises
// a TemplateError with the same message.
type RaiseError struct {
	Message string
}

func (e *RaiseError) Error() string { return "the template raised: " + e.Message }

// UnsupportedError names a construct the template uses that the engine
// would render differently from Jinja, or that the sandbox transformers
// renders in refuses. Render returns it rather than a different prompt.
type UnsupportedError struct {
	Line      int
	Construct string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("line %d: not rendered exactly: %s", e.Line, e.Construct)
}

// SyntaxError is a template Jinja's lexer or the engine cannot read.
type SyntaxError struct {
	Line int // 0 when unknown
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "template syntax: " + e.Msg
	}
	return fmt.Sprintf("template syntax: line %d: %s", e.Line, e.Msg)
}

// LimitError is a render stopped by one of its bounds (MaxIterations,
// MaxRange, MaxMacroDepth, the timeout).
type LimitError struct {
	Limit string
}

func (e *LimitError) Error() string { return "the render exceeded " + e.Limit }

// EngineError is an error of the template engine while rendering: the
// errors transformers' Jinja reports as UndefinedError, TypeError and the
// like.
type EngineError struct {
	Err error
}

func (e *EngineError) Error() string { return "render: " + e.Err.Error() }

func (e *EngineError) Unwrap() error { return e.Err }
