package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/wire"
)

// The root's tests call the program's own functions in-process: run() for
// the argument and configuration handling, newHandler for the routes. The
// tests of the whole program, as a built binary, are in e2e/.

// mainResult is what one run() printed and its exit code.
type mainResult struct {
	stdout, stderr string
	err            error
	code           int
}

// runMain runs run() in-process with env and the arguments after the
// program name, and the exit code main would give its error.
func runMain(t *testing.T, env testsupport.Env, args ...string) mainResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"assetgate"}, args...), env.Get, strings.NewReader(""), &stdout, &stderr)
	return mainResult{stdout: stdout.String(), stderr: stderr.String(), err: err, code: exitCode(err)}
}

// openForTest opens the service graph of env the way a one-shot command
// does (the settings through defaultConfig and open, without Redis) and
// closes it when the test ends.
func openForTest(t *testing.T, env testsupport.Env) *wire.App {
	t.Helper()
	cfg := defaultConfig(env.Get)
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	a, err := open(t.Context(), cfg, newLogger(&strings.Builder{}, "error"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}
