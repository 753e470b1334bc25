package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code: 0 on success, 1
// for a user error (bad flag, bad file), 2 for an internal error. A panic is
// reported as an internal error in one line (with the stack under --debug),
// never as a raw Go trace.
func run(args []string, stdout, stderr io.Writer) (code int) {
	debugMode := false
	for _, a := range args {
		if a == "--debug" {
			debugMode = true
		}
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "attn: internal error: %v (please report it; rerun with --debug for details)\n", r)
			if debugMode {
				stderr.Write(debug.Stack())
			}
			code = 2
		}
	}()
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintf(stderr, "attn: %v\n", err)
		return 1
	}
	return 0
}
