package main

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// RealPartMarker starts the log line by which a test says it used a real
// part; storagetest.LogRealPart writes the same words.
const RealPartMarker = "real part: "

// knownParts returns the real parts the summary always reports, used or
// not, in this order; a test that logs another name adds it.
func knownParts() []string { return []string{"SQLite", "PostgreSQL", "Redis", "Chromium"} }

// logLine matches a line written by t.Log or t.Skip: indentation, file and
// line, message.
var logLine = regexp.MustCompile(`^\s+[^\s:]+\.go:\d+: (.*)$`)

// key names one test of one package.
type key struct{ pkg, test string }

// chunk is one piece of a test's output.
type chunk struct {
	test, text string
}

// summary is the state of one run: what is printed as it goes and what is
// counted for the end.
type summary struct {
	out     io.Writer
	verbose bool

	// groups holds the output of each running top-level test and its
	// subtests, until the top-level test ends.
	groups  map[key][]chunk
	results map[key]string // pass, fail or skip

	pkgs        map[string]string // package: pass, fail or skip (no tests)
	buildFailed []string
	skips       map[string][]key // reason: tests
	parts       map[string][]key // real part: tests that used it
	failed      []key            // tests that failed, in order
	events      int
}

func newSummary(out io.Writer, verbose bool) *summary {
	return &summary{out: out, verbose: verbose, groups: map[key][]chunk{}, results: map[key]string{},
		pkgs: map[string]string{}, skips: map[string][]key{}, parts: map[string][]key{}}
}

// topLevel returns the top-level test of a test or subtest name.
func topLevel(test string) string {
	name, _, _ := strings.Cut(test, "/")
	return name
}

// framing reports whether a line is one that go test prints only with -v.
func framing(line string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS", "--- SKIP"} {
		if strings.HasPrefix(strings.TrimLeft(line, " "), p) {
			return true
		}
	}
	return false
}

func (s *summary) add(ev event) {
	s.events++
	switch {
	case ev.Action == "build-output":
		fmt.Fprint(s.out, ev.Output)
	case ev.Action == "build-fail":
		s.buildFailed = append(s.buildFailed, ev.ImportPath)
	case ev.Test == "":
		s.addPackage(ev)
	default:
		s.addTest(ev)
	}
}

func (s *summary) addPackage(ev event) {
	switch ev.Action {
	case "output":
		if s.verbose || ev.Output != "PASS\n" {
			fmt.Fprint(s.out, ev.Output)
		}
	case "pass", "fail", "skip":
		s.pkgs[ev.Package] = ev.Action
		// Tests still open when their package ends crashed with it (a
		// panic, a timeout): show all they wrote.
		for k := range s.groups {
			if k.pkg == ev.Package {
				s.endGroup(k, true)
			}
		}
	}
}

func (s *summary) addTest(ev event) {
	k := key{ev.Package, ev.Test}
	top := key{ev.Package, topLevel(ev.Test)}
	switch ev.Action {
	case "output":
		if s.verbose || strings.HasPrefix(ev.Test, "Benchmark") && !framing(ev.Output) {
			fmt.Fprint(s.out, ev.Output)
		}
		s.groups[top] = append(s.groups[top], chunk{ev.Test, ev.Output})
	case "pass", "fail", "skip":
		s.results[k] = ev.Action
		if ev.Action == "fail" {
			s.failed = append(s.failed, k)
		}
		if k == top {
			s.endGroup(top, false)
		}
	}
}

// endGroup counts what the tests of a finished top-level test logged, and
// prints the output of those that failed (of all, when crashed).
func (s *summary) endGroup(top key, crashed bool) {
	chunks := s.groups[top]
	delete(s.groups, top)
	text := map[string]*strings.Builder{}
	var order []string
	for _, c := range chunks {
		b := text[c.test]
		if b == nil {
			b = &strings.Builder{}
			text[c.test] = b
			order = append(order, c.test)
		}
		b.WriteString(c.text)
	}
	for _, name := range order {
		k := key{top.pkg, name}
		lines := strings.Split(strings.TrimRight(text[name].String(), "\n"), "\n")
		reason := ""
		for _, line := range lines {
			m := logLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if part, ok := strings.CutPrefix(m[1], RealPartMarker); ok {
				part = strings.TrimSpace(part)
				if !slices.Contains(s.parts[part], k) {
					s.parts[part] = append(s.parts[part], k)
				}
				continue
			}
			reason = m[1]
		}
		if s.results[k] == "skip" {
			if reason == "" {
				reason = "(no reason given)"
			}
			s.skips[reason] = append(s.skips[reason], k)
		}
	}
	if s.verbose {
		return
	}
	for _, c := range chunks {
		if crashed || s.results[key{top.pkg, c.test}] == "fail" {
			for _, line := range strings.SplitAfter(c.text, "\n") {
				if line != "" && !framing(line) {
					fmt.Fprint(s.out, line)
				}
			}
		}
	}
}

// finish prints what tests still open at the end of the stream wrote, then
// the summary.
func (s *summary) finish() {
	for _, k := range slices.SortedFunc(maps.Keys(s.groups), compareKeys) {
		s.endGroup(k, true)
	}
	s.print()
}

// ok reports whether the run passed: events came, and nothing failed.
func (s *summary) ok() bool {
	if s.events == 0 || len(s.failed) > 0 || len(s.buildFailed) > 0 {
		return false
	}
	for _, r := range s.pkgs {
		if r == "fail" {
			return false
		}
	}
	return true
}

func compareKeys(a, b key) int {
	if c := strings.Compare(a.pkg, b.pkg); c != 0 {
		return c
	}
	return strings.Compare(a.test, b.test)
}
