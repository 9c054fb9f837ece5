package e2e

import (
	"debug/elf"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/assetgate/assetgate/internal/testsupport"
)

// No Docker engine runs where the tests run, so these tests check what can
// be checked of the container image without one: the Dockerfile's shape,
// its build command against scripts/docker-build-stage.sh (which runs it as
// a plain script), the binary that command makes and the HEALTHCHECK
// against a live server. compose.yaml is checked at the root
// (compose_test.go), against the configuration assetgate reads.

// buildCommand returns the words of the go build command in text (the
// line holding "go build"), with the output folder, /out in the Dockerfile
// and "$out" in the script, written OUT.
func buildCommand(tb testing.TB, text, outDir string) []string {
	tb.Helper()
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "RUN "))
		if strings.HasPrefix(line, "#") || !strings.Contains(line, "go build") {
			continue
		}
		return strings.Fields(strings.ReplaceAll(line, outDir, "OUT"))
	}
	tb.Fatalf("no go build command in:\n%s", text)
	return nil
}

func TestDockerfile(t *testing.T) {
	d := testsupport.ReadDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	from := d.All("FROM")
	if len(from) < 2 {
		t.Fatalf("not a multi-stage build: FROM %q", from)
	}
	t.Run("BuildStage", func(t *testing.T) {
		// The Go of the build stage is the one go.mod asks for.
		mod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
		if goVersion == nil || !strings.HasPrefix(from[0], "golang:"+string(goVersion[1])) || !strings.HasSuffix(from[0], " AS build") {
			t.Fatalf("build stage FROM %q, want golang:%s... AS build", from[0], goVersion[1])
		}
		script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "docker-build-stage.sh"))
		if err != nil {
			t.Fatal(err)
		}
		var run strings.Builder
		for _, r := range d.All("RUN") {
			run.WriteString(r + "\n")
		}
		inDocker, inScript := buildCommand(t, run.String(), "/out"), buildCommand(t, string(script), `"$out"`)
		if !slices.Equal(inDocker, inScript) {
			t.Fatalf("the build commands drifted apart:\nDockerfile: %q\nscript:     %q", inDocker, inScript)
		}
		if !slices.Contains(inDocker, "CGO_ENABLED=0") || !slices.Contains(inDocker, "OUT/assetgate") {
			t.Fatalf("build command %q: want CGO_ENABLED=0 and -o /out/assetgate", inDocker)
		}
	})
	t.Run("FinalStage", func(t *testing.T) {
		final := from[len(from)-1]
		if final != "gcr.io/distroless/static-debian12:nonroot" && final != "scratch" {
			t.Fatalf("final stage FROM %q, want distroless static nonroot or scratch", final)
		}
		users := d.All("USER")
		if len(users) == 0 || slices.Contains([]string{"root", "0", "0:0"}, users[len(users)-1]) {
			t.Fatalf("USER %q: the image must run as a non-root user", users)
		}
		entry := testsupport.ExecForm(t, d.All("ENTRYPOINT")[0])
		copied := false
		for _, c := range d.All("COPY") {
			copied = copied || strings.HasPrefix(c, "--from=build") && strings.HasSuffix(c, "/out/assetgate "+entry[0])
		}
		if !copied {
			t.Fatalf("ENTRYPOINT %q is not the binary the build stage made", entry)
		}
		if hc := d.HealthcheckCommand(t); hc[0] != entry[0] || hc[1] != "healthcheck" {
			t.Fatalf("HEALTHCHECK %q: want %s healthcheck (no shell or curl in the image)", hc, entry[0])
		}
	})
	t.Run("HealthcheckAnswers", func(t *testing.T) {
		// The HEALTHCHECK's own arguments, aimed at a live server.
		ts := startServer(t, testsupport.SQLiteEnv(t))
		args := d.HealthcheckCommand(t)
		for i, a := range args {
			if u, err := url.Parse(a); err == nil && u.Scheme == "http" {
				args[i] = ts.URL + u.Path
			}
		}
		if r := runCLI(t, testsupport.BaseEnv(t), "", args[1:]...); r.code != 0 {
			t.Fatalf("%q: code %d, stderr %s", args, r.code, r.stderr)
		}
	})
}

// TestDockerBuildStage runs scripts/docker-build-stage.sh, the Dockerfile's
// build stage as a plain script, and checks on its own that the result is a
// static binary that answers the healthcheck; and that the script's check
// refuses a dynamically linked binary.
func TestDockerBuildStage(t *testing.T) {
	for _, tool := range []string{"bash", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the build stage script needs %s: %v", tool, err)
		}
	}
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "./scripts/docker-build-stage.sh", out)
	cmd.Dir = repoRoot
	if raw, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-build-stage.sh: %v\n%s", err, raw)
	}
	bin := filepath.Join(out, "assetgate")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has a program interpreter: it is not static")
		}
	}
	if f.Type != elf.ET_EXEC {
		t.Fatalf("ELF type %v, want a static executable (ET_EXEC)", f.Type)
	}
	t.Run("Healthcheck", func(t *testing.T) {
		ts := startServer(t, testsupport.SQLiteEnv(t))
		if raw, err := exec.CommandContext(t.Context(), bin, "healthcheck", "--url", ts.URL+"/healthz").CombinedOutput(); err != nil {
			t.Fatalf("the built binary's healthcheck: %v\n%s", err, raw)
		}
	})
	t.Run("ErrDynamic", func(t *testing.T) {
		dynamic := ""
		for _, p := range []string{"/bin/ls", "/usr/bin/env", "/bin/sh"} {
			if f, err := elf.Open(p); err == nil {
				for _, prog := range f.Progs {
					if prog.Type == elf.PT_INTERP {
						dynamic = p
					}
				}
				f.Close()
			}
			if dynamic != "" {
				break
			}
		}
		if dynamic == "" {
			t.Skip("no dynamically linked binary on this machine to refuse")
		}
		check := exec.CommandContext(t.Context(), "./scripts/docker-build-stage.sh", "--check", dynamic)
		check.Dir = repoRoot
		raw, err := check.CombinedOutput()
		if err == nil || !strings.Contains(string(raw), "not static") {
			t.Fatalf("--check %s: %v\n%s", dynamic, err, raw)
		}
	})
}
