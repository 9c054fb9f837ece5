package testsupport

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Instruction is one instruction of a Dockerfile: its keyword, upper case,
// and the rest of its line.
type Instruction struct{ Op, Args string }

// Dockerfile is a Dockerfile as instructions, continuation lines joined,
// comments dropped.
type Dockerfile []Instruction

// ReadDockerfile reads and splits the Dockerfile at path.
func ReadDockerfile(tb testing.TB, path string) Dockerfile {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out Dockerfile
	var cur string
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if c, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur += c + " "
			continue
		}
		cur += trimmed
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, Instruction{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

// All returns the arguments of every instruction op, in order.
func (d Dockerfile) All(op string) []string {
	var out []string
	for _, in := range d {
		if in.Op == op {
			out = append(out, in.Args)
		}
	}
	return out
}

// ExecForm decodes the JSON array form of CMD, ENTRYPOINT and HEALTHCHECK.
func ExecForm(tb testing.TB, args string) []string {
	tb.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil || len(out) == 0 {
		tb.Fatalf("not an exec form (JSON array): %s", args)
	}
	return out
}

// HealthcheckCommand returns the HEALTHCHECK's command (CMD's exec form).
func (d Dockerfile) HealthcheckCommand(tb testing.TB) []string {
	tb.Helper()
	hc := d.All("HEALTHCHECK")
	if len(hc) != 1 {
		tb.Fatalf("want one HEALTHCHECK, got %q", hc)
	}
	_, cmd, ok := strings.Cut(hc[0], "CMD ")
	if !ok {
		tb.Fatalf("HEALTHCHECK without CMD: %s", hc[0])
	}
	return ExecForm(tb, cmd)
}
