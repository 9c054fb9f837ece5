package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// summarise runs the summary of events and returns ok and what it wrote.
func summarise(t *testing.T, events string, verbose bool) (bool, string) {
	t.Helper()
	var out bytes.Buffer
	ok, err := run(strings.NewReader(events), &out, verbose)
	if err != nil {
		t.Fatal(err)
	}
	return ok, out.String()
}

// lastLine returns the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// requireLines fails unless each of want is a whole line of out.
func requireLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for _, w := range want {
		found := false
		for _, l := range lines {
			if l == w {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no line %q in\n%s", w, out)
		}
	}
}

// TestSample runs go test -json on testdata/sample, whose tests pass, fail,
// skip for reasons and log real parts through storagetest.LogRealPart, and
// checks what the summary makes of the real events.
func TestSample(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	cmd := exec.Command(gotool, "test", "-json", "-count=1", "./testdata/sample")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESTSUMMARY_SAMPLE_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	events, err := cmd.Output()
	if _, failed := err.(*exec.ExitError); err != nil && !failed {
		t.Fatalf("go test: %v", err)
	}
	t.Run("Summary", func(t *testing.T) {
		ok, out := summarise(t, string(events), false)
		if ok {
			t.Error("a run with a failed test is ok")
		}
		requireLines(t, out,
			"packages: 1 tested (0 ok, 1 failed), 0 without tests",
			"tests run: 5 (tests and subtests): 3 passed, 2 failed; 4 skipped",
			"failed (1 without failed subtests):",
			"  sample TestFails/ErrWrong",
			"     2 skipped: TESTSUMMARY_SAMPLE_URL is not set (sample TestSkips/one, sample TestSkips/two)",
			"     1 skipped: another reason (sample TestSkips/other)",
			"     1 skipped: (no reason given) (sample TestSkipsSilently)",
			"  SQLite      1 test in 1 package",
			"  PostgreSQL  not used",
			"  Redis       1 test in 1 package",
			"  Chromium    not used",
		)
		if got := lastLine(out); got != "tests: 3 passed, 2 failed, 4 skipped" {
			t.Errorf("last line %q", got)
		}
	})
	t.Run("FailedOutputInFull", func(t *testing.T) {
		_, out := summarise(t, string(events), false)
		for _, want := range []string{"the answer is 41, want 42", "--- FAIL: TestFails/ErrWrong", "--- FAIL: TestFails ",
			"FAIL\tgithub.com/assetgate/assetgate/scripts/testsummary/testdata/sample"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		for _, quiet := range []string{"a log line of a passing test", "a log line of a passing subtest", "=== RUN", "--- PASS", "--- SKIP"} {
			if strings.Contains(out, quiet) {
				t.Errorf("%q shown without -v:\n%s", quiet, out)
			}
		}
	})
	t.Run("Verbose", func(t *testing.T) {
		_, out := summarise(t, string(events), true)
		for _, want := range []string{"=== RUN   TestPasses", "a log line of a passing test", "--- SKIP: TestSkips/one", "the answer is 41, want 42"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q with -v:\n%s", want, out)
			}
		}
		if n := strings.Count(out, "the answer is 41, want 42"); n != 1 {
			t.Errorf("the failure is shown %d times with -v", n)
		}
	})
}

// pkg is the package of the literal events below.
const pkg = `"Package":"example.com/m/p"`

func TestRun(t *testing.T) {
	t.Run("OKPassing", func(t *testing.T) {
		ok, out := summarise(t, strings.Join([]string{
			`{"Action":"start",` + pkg + `}`,
			`{"Action":"run",` + pkg + `,"Test":"TestA"}`,
			`{"Action":"output",` + pkg + `,"Test":"TestA","Output":"=== RUN   TestA\n"}`,
			`{"Action":"output",` + pkg + `,"Test":"TestA","Output":"    a_test.go:9: real part: MQTT broker\n"}`,
			`{"Action":"output",` + pkg + `,"Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}`,
			`{"Action":"pass",` + pkg + `,"Test":"TestA"}`,
			`{"Action":"output",` + pkg + `,"Output":"PASS\n"}`,
			`{"Action":"output",` + pkg + `,"Output":"ok  \texample.com/m/p\t0.01s\n"}`,
			`{"Action":"pass",` + pkg + `}`,
			`{"Action":"output","Package":"example.com/m/q","Output":"?   \texample.com/m/q\t[no test files]\n"}`,
			`{"Action":"skip","Package":"example.com/m/q"}`,
		}, "\n"), false)
		if !ok {
			t.Error("a passing run is not ok")
		}
		if !strings.HasPrefix(out, "ok  \texample.com/m/p\t0.01s\n?   \texample.com/m/q\t[no test files]\n\n==== summary\n") {
			t.Errorf("output does not start with the package lines:\n%s", out)
		}
		requireLines(t, out, "packages: 1 tested (1 ok, 0 failed), 1 without tests",
			"  SQLite      not used", "  MQTT broker 1 test in 1 package")
		if got := lastLine(out); got != "tests: 1 passed, 0 failed, 0 skipped" {
			t.Errorf("last line %q", got)
		}
	})
	t.Run("ErrNoEvents", func(t *testing.T) {
		ok, out := summarise(t, "go: no packages to test\n", false)
		if ok {
			t.Error("a run without events is ok")
		}
		if !strings.HasPrefix(out, "go: no packages to test\n") {
			t.Errorf("a line that is not an event was not passed through:\n%s", out)
		}
	})
	t.Run("ErrBuild", func(t *testing.T) {
		ok, out := summarise(t, strings.Join([]string{
			`{"ImportPath":"example.com/m/p [example.com/m/p.test]","Action":"build-output","Output":"# example.com/m/p [example.com/m/p.test]\n"}`,
			`{"ImportPath":"example.com/m/p [example.com/m/p.test]","Action":"build-output","Output":"p/p.go:2:23: cannot use \"x\" as int value\n"}`,
			`{"ImportPath":"example.com/m/p [example.com/m/p.test]","Action":"build-fail"}`,
			`{"Action":"start",` + pkg + `}`,
			`{"Action":"output",` + pkg + `,"Output":"FAIL\texample.com/m/p [build failed]\n"}`,
			`{"Action":"fail",` + pkg + `,"FailedBuild":"example.com/m/p [example.com/m/p.test]"}`,
		}, "\n"), false)
		if ok {
			t.Error("a build failure is ok")
		}
		requireLines(t, out, `p/p.go:2:23: cannot use "x" as int value`, "FAIL\texample.com/m/p [build failed]",
			"build failed: example.com/m/p [example.com/m/p.test]", "packages: 1 tested (0 ok, 1 failed), 0 without tests")
	})
	t.Run("ErrCrash", func(t *testing.T) {
		// A test that never ends: its package panicked or timed out.
		ok, out := summarise(t, strings.Join([]string{
			`{"Action":"run",` + pkg + `,"Test":"TestHangs"}`,
			`{"Action":"output",` + pkg + `,"Test":"TestHangs","Output":"=== RUN   TestHangs\n"}`,
			`{"Action":"output",` + pkg + `,"Test":"TestHangs","Output":"    h_test.go:3: waiting\n"}`,
			`{"Action":"output",` + pkg + `,"Output":"panic: test timed out after 1s\n"}`,
			`{"Action":"output",` + pkg + `,"Output":"FAIL\texample.com/m/p\t1.01s\n"}`,
			`{"Action":"fail",` + pkg + `}`,
		}, "\n"), false)
		if ok {
			t.Error("a crashed package is ok")
		}
		requireLines(t, out, "    h_test.go:3: waiting", "panic: test timed out after 1s")
	})
}
