// Command testsummary reads the events of `go test -json` on standard input,
// prints what a plain `go test` would (the result line of each package, and
// the whole output of every failed test), and ends with a summary a person
// can read: packages, tests passed, failed and skipped, the skips grouped by
// their reason, and which real parts (databases, Redis, a browser) the tests
// used. It exits with status 1 when a test, a package or a build failed.
//
// A test says that it used a real part by logging a line of the form
// "real part: NAME" (storagetest.LogRealPart writes it); the summary counts
// the tests that logged each name. Flag -v passes every line of output
// through, as `go test -v` would.
//
// scripts/test.sh (make test) runs it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	verbose := flag.Bool("v", false, "pass every line of test output through, as go test -v does")
	flag.Parse()
	ok, err := run(os.Stdin, os.Stdout, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json's TestEvent, with the
// ImportPath of the build events of `go build -json`).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	FailedBuild string
	ImportPath  string
}

// run summarises the event stream in to out. ok is false when anything
// failed, or when the stream holds no event at all (go test did not run).
func run(in io.Reader, out io.Writer, verbose bool) (ok bool, err error) {
	s := newSummary(out, verbose)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			// Not an event (go vet or the go command itself): pass it on.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		s.add(ev)
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	s.finish()
	return s.ok(), nil
}
