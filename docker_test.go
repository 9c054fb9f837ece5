package main

import (
	"debug/elf"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/assetgate/assetgate/storage"
)

// No Docker engine runs where the tests run, so these tests check what can
// be checked of the container image without one: the Dockerfile's shape,
// its build command against scripts/docker-build-stage.sh (which runs it as
// a plain script), the binary that command makes, the HEALTHCHECK against a
// live server, and compose.yaml against the configuration assetgate reads.

// dockerfile is the Dockerfile as instructions: the keyword and the rest
// of the line, continuation lines joined, comments dropped.
type dockerfile []struct{ op, args string }

func mustReadDockerfile(tb testing.TB) dockerfile {
	tb.Helper()
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		tb.Fatal(err)
	}
	var out dockerfile
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
		out = append(out, struct{ op, args string }{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

// all returns the arguments of every instruction op, in order.
func (d dockerfile) all(op string) []string {
	var out []string
	for _, in := range d {
		if in.op == op {
			out = append(out, in.args)
		}
	}
	return out
}

// execForm decodes the JSON array form of CMD, ENTRYPOINT and HEALTHCHECK.
func execForm(tb testing.TB, args string) []string {
	tb.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil || len(out) == 0 {
		tb.Fatalf("not an exec form (JSON array): %s", args)
	}
	return out
}

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

// healthcheckCommand returns the HEALTHCHECK's command (CMD's exec form).
func healthcheckCommand(tb testing.TB, d dockerfile) []string {
	tb.Helper()
	hc := d.all("HEALTHCHECK")
	if len(hc) != 1 {
		tb.Fatalf("want one HEALTHCHECK, got %q", hc)
	}
	_, cmd, ok := strings.Cut(hc[0], "CMD ")
	if !ok {
		tb.Fatalf("HEALTHCHECK without CMD: %s", hc[0])
	}
	return execForm(tb, cmd)
}

func TestDockerfile(t *testing.T) {
	d := mustReadDockerfile(t)
	from := d.all("FROM")
	if len(from) < 2 {
		t.Fatalf("not a multi-stage build: FROM %q", from)
	}
	t.Run("BuildStage", func(t *testing.T) {
		// The Go of the build stage is the one go.mod asks for.
		mod, err := os.ReadFile("go.mod")
		if err != nil {
			t.Fatal(err)
		}
		goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
		if goVersion == nil || !strings.HasPrefix(from[0], "golang:"+string(goVersion[1])) || !strings.HasSuffix(from[0], " AS build") {
			t.Fatalf("build stage FROM %q, want golang:%s... AS build", from[0], goVersion[1])
		}
		script, err := os.ReadFile("scripts/docker-build-stage.sh")
		if err != nil {
			t.Fatal(err)
		}
		var run strings.Builder
		for _, r := range d.all("RUN") {
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
		users := d.all("USER")
		if len(users) == 0 || slices.Contains([]string{"root", "0", "0:0"}, users[len(users)-1]) {
			t.Fatalf("USER %q: the image must run as a non-root user", users)
		}
		entry := execForm(t, d.all("ENTRYPOINT")[0])
		copied := false
		for _, c := range d.all("COPY") {
			copied = copied || strings.HasPrefix(c, "--from=build") && strings.HasSuffix(c, "/out/assetgate "+entry[0])
		}
		if !copied {
			t.Fatalf("ENTRYPOINT %q is not the binary the build stage made", entry)
		}
		if hc := healthcheckCommand(t, d); hc[0] != entry[0] || hc[1] != "healthcheck" {
			t.Fatalf("HEALTHCHECK %q: want %s healthcheck (no shell or curl in the image)", hc, entry[0])
		}
	})
	t.Run("HealthcheckAnswers", func(t *testing.T) {
		// The HEALTHCHECK's own arguments, aimed at a live server.
		ts := startServer(t, sqliteEnv(t))
		args := healthcheckCommand(t, d)
		for i, a := range args {
			if u, err := url.Parse(a); err == nil && u.Scheme == "http" {
				args[i] = ts.URL + u.Path
			}
		}
		if r := runCLI(t, baseEnv(t), "", args[1:]...); r.code != 0 {
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
		ts := startServer(t, sqliteEnv(t))
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
		raw, err := exec.CommandContext(t.Context(), "./scripts/docker-build-stage.sh", "--check", dynamic).CombinedOutput()
		if err == nil || !strings.Contains(string(raw), "not static") {
			t.Fatalf("--check %s: %v\n%s", dynamic, err, raw)
		}
	})
}

// composeFile is what TestComposeFile reads of compose.yaml.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// composeVar is a variable reference of compose's interpolation:
// ${NAME}, ${NAME:-default} or ${NAME:?error}.
var composeVar = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"postgres", "redis", "assetgate"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s in compose.yaml", name)
		}
		if len(s.Healthcheck.Test) < 2 || (s.Healthcheck.Test[0] != "CMD" && s.Healthcheck.Test[0] != "CMD-SHELL") {
			t.Errorf("service %s: healthcheck test %q", name, s.Healthcheck.Test)
		}
	}
	if !strings.HasPrefix(c.Services["postgres"].Image, "postgres:") || !strings.HasPrefix(c.Services["redis"].Image, "redis:") {
		t.Errorf("images: postgres %q, redis %q", c.Services["postgres"].Image, c.Services["redis"].Image)
	}
	ag := c.Services["assetgate"]
	t.Run("Image", func(t *testing.T) {
		if ag.Build != "." {
			t.Errorf("assetgate build %q, want . (the Dockerfile)", ag.Build)
		}
		for _, dep := range []string{"postgres", "redis"} {
			if ag.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("assetgate depends_on %s: condition %q, want service_healthy", dep, ag.DependsOn[dep].Condition)
			}
		}
		if want := healthcheckCommand(t, mustReadDockerfile(t)); !slices.Equal(ag.Healthcheck.Test, append([]string{"CMD"}, want...)) {
			t.Errorf("assetgate healthcheck %q, want the Dockerfile's %q", ag.Healthcheck.Test, want)
		}
	})
	t.Run("Environment", func(t *testing.T) {
		// Every ASSETGATE_ variable is one the configuration reads.
		read := map[string]bool{}
		defaultConfig(func(name string) string { read[name] = true; return "" })
		for name := range ag.Environment {
			if strings.HasPrefix(name, "ASSETGATE_") && !read[name] {
				t.Errorf("compose.yaml sets %s, which assetgate does not read", name)
			}
		}
		for _, name := range []string{"ASSETGATE_DATABASE_URL", "ASSETGATE_REDIS_URL", "ASSETGATE_SECRET_KEY"} {
			if ag.Environment[name] == "" {
				t.Errorf("compose.yaml does not set %s", name)
			}
		}
		// The secret key comes from the environment, never the file.
		if m := composeVar.FindStringSubmatch(ag.Environment["ASSETGATE_SECRET_KEY"]); m == nil || m[0] != ag.Environment["ASSETGATE_SECRET_KEY"] || m[2] != ":?" {
			t.Errorf("ASSETGATE_SECRET_KEY = %q, want ${ASSETGATE_SECRET_KEY:?...} (required from the environment)", ag.Environment["ASSETGATE_SECRET_KEY"])
		}
		// Interpolated as compose would (required variables given), the
		// environment is a valid configuration aimed at the services.
		given := map[string]string{"ASSETGATE_SECRET_KEY": strings.Repeat("k", 64)}
		env := map[string]string{}
		for name, v := range ag.Environment {
			env[name] = composeVar.ReplaceAllStringFunc(v, func(ref string) string {
				m := composeVar.FindStringSubmatch(ref)
				if g, ok := given[m[1]]; ok {
					return g
				}
				if m[2] != ":-" {
					t.Fatalf("%s: %s has no default", name, ref)
				}
				return m[3]
			})
		}
		cfg := defaultConfig(func(name string) string { return env[name] })
		if err := cfg.validate(); err != nil {
			t.Fatalf("compose.yaml's environment: %v", err)
		}
		if dialect, _, err := storage.ParseURL(cfg.DatabaseURL); err != nil || dialect != storage.Postgres {
			t.Errorf("ASSETGATE_DATABASE_URL %q: %s, %v; want PostgreSQL", cfg.DatabaseURL, dialect, err)
		}
		for v, service := range map[string]string{cfg.DatabaseURL: "postgres", cfg.RedisURL: "redis"} {
			if u, err := url.Parse(v); err != nil || u.Hostname() != service {
				t.Errorf("%q does not name the %s service", v, service)
			}
		}
	})
}
