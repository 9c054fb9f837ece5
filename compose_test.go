package main

import (
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/assetgate/assetgate/internal/testsupport"
	"github.com/assetgate/assetgate/storage"
)

// No Docker engine runs where the tests run: TestComposeFile checks
// compose.yaml against the Dockerfile and the configuration assetgate
// reads; the Dockerfile itself is checked by the end-to-end tests (e2e/).

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
		if want := testsupport.ReadDockerfile(t, "Dockerfile").HealthcheckCommand(t); !slices.Equal(ag.Healthcheck.Test, append([]string{"CMD"}, want...)) {
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
