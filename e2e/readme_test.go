package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"

	graphexec "github.com/assetgate/assetgate/graph/exec"
	"github.com/assetgate/assetgate/internal/testsupport"
)

// readmeCommand is one curl command of the README's sh blocks, with the
// answer the README shows under it (the comment line that follows), if any.
type readmeCommand struct {
	line    int
	command string
	shown   string
}

// readmeCommands returns the curl commands of README.md's sh blocks, their
// continuation lines joined.
func readmeCommands(t *testing.T, readme string) []readmeCommand {
	t.Helper()
	var out []readmeCommand
	inSh, pending := false, ""
	start := 0
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		if pending == "" && strings.HasPrefix(line, "# ") && len(out) > 0 && out[len(out)-1].shown == "" &&
			out[len(out)-1].line >= i-2 {
			out[len(out)-1].shown = strings.TrimPrefix(line, "# ")
			continue
		}
		if pending == "" && !strings.HasPrefix(line, "curl ") {
			continue
		}
		if pending == "" {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			pending += cont
			continue
		}
		out = append(out, readmeCommand{line: start, command: pending + line})
		pending = ""
	}
	return out
}

// TestREADMECommands runs every curl command of the README, word for word
// but for the address and the values it says to fill in, against a server
// started as `make run` starts it, in the README's order: each must answer
// without a server error, no GraphQL document may fail to parse or
// validate, and where the README shows an answer, the real one must begin
// as the one shown does (up to its first "...") and have the status shown.
func TestREADMECommands(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed: CI must run the README's commands")
		}
		t.Skip("curl is not installed: the README's commands cannot run")
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t, string(raw))
	if len(cmds) < 10 {
		t.Fatalf("found %d curl commands in README.md: the parser lost them", len(cmds))
	}
	ts := startServer(t, testsupport.SQLiteEnv(t), "--demo", "--json")
	line, _, _ := strings.Cut(ts.stdout.String(), "\n")
	var demo demoResult
	if err := json.Unmarshal([]byte(line), &demo); err != nil {
		t.Fatalf("demo output %q: %v", line, err)
	}
	u, _ := url.Parse(ts.URL)
	vars := map[string]string{"CLIENT_ID": demo.ClientID, "CLIENT_SECRET": demo.ClientSecret, "PUBLIC_CLIENT": demo.PublicClient}
	status := regexp.MustCompile(`^([1-5][0-9][0-9])\b,? ?`)
	for _, c := range cmds {
		cmd := strings.ReplaceAll(c.command, "localhost:8080", u.Host)
		cmd = strings.ReplaceAll(cmd, "device_code=agdc_...", "device_code="+vars["DEVICE_CODE"])
		stream := strings.HasSuffix(strings.TrimSpace(cmd), "&")
		cmd = strings.TrimSuffix(strings.TrimSpace(cmd), "&")
		// The status after the body, on a line of its own.
		cmd = strings.Replace(cmd, "curl ", "curl --max-time 3 -w '\\n%{http_code}' ", 1)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		sh := exec.CommandContext(ctx, "bash", "-c", cmd)
		sh.Env = os.Environ()
		for k, v := range vars {
			sh.Env = append(sh.Env, k+"="+v)
		}
		var stdout, stderr bytes.Buffer
		sh.Stdout, sh.Stderr = &stdout, &stderr
		err := sh.Run()
		cancel()
		if stream {
			// A live stream runs until curl's time limit (exit 28).
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 28 || !strings.Contains(stdout.String(), "retry:") {
				t.Errorf("README.md:%d: the stream did not open: %v %s %s", c.line, err, stdout.String(), stderr.String())
			}
			continue
		}
		if err != nil {
			t.Errorf("README.md:%d: %s\n%v: %s", c.line, c.command, err, stderr.String())
			continue
		}
		out := stdout.String()
		cut := strings.LastIndex(out, "\n")
		body, code := strings.TrimSpace(out[:max(cut, 0)]), out[cut+1:]
		got, _ := strconv.Atoi(code)
		if got >= 500 || got == 0 {
			t.Errorf("README.md:%d: %s\nanswered %s: %s", c.line, c.command, code, body)
		}
		if strings.Contains(body, "GRAPHQL_VALIDATION_FAILED") || strings.Contains(body, "GRAPHQL_PARSE_FAILED") {
			t.Errorf("README.md:%d: the GraphQL document does not run: %s", c.line, body)
		}
		if c.shown != "" {
			shown := c.shown
			if m := status.FindStringSubmatch(shown); m != nil {
				if m[1] != code {
					t.Errorf("README.md:%d: answered %s, the README shows %s", c.line, code, m[1])
				}
				shown = shown[len(m[0]):]
			}
			if prefix, _, _ := strings.Cut(shown, "..."); strings.HasPrefix(prefix, "{") && !shownPrefix(prefix).MatchString(body) {
				t.Errorf("README.md:%d: the answer begins %.80q, the README shows %q", c.line, body, prefix)
			}
		}
		// Fill in what the README asks the reader to copy from an answer.
		var doc map[string]any
		if json.Unmarshal([]byte(body), &doc) == nil {
			// $TOKEN is the application token: the first one, and the new
			// one the walk-through takes after revoking it (user tokens
			// of the device and OpenID Connect steps have other names).
			if tok, ok := doc["access_token"].(string); ok && (vars["TOKEN"] == "" || doc["scope"] == "app basic") {
				vars["TOKEN"] = tok
			}
			if dc, ok := doc["device_code"].(string); ok {
				vars["DEVICE_CODE"] = dc
			}
			if d, ok := doc["data"].(map[string]any); ok && d["type"] == "devices" && vars["DEVICE"] == "" {
				vars["DEVICE"], _ = d["id"].(string)
			}
		}
	}
	if vars["TOKEN"] == "" || vars["DEVICE"] == "" {
		t.Fatalf("the walk-through never produced a token and a device: %v", vars)
	}
}

// shownPrefix returns the pattern of an answer that begins as shown does,
// numbers (times, counts) aside.
func shownPrefix(shown string) *regexp.Regexp {
	digits := regexp.MustCompile(`[0-9]+`)
	return regexp.MustCompile("^" + digits.ReplaceAllString(regexp.QuoteMeta(shown), "[0-9]+"))
}

// TestREADMEGraphQLDocuments validates every GraphQL document the README's
// prose shows in a code span (subscription and query examples that no
// curl line sends) against the schema.
func TestREADMEGraphQLDocuments(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	schema := graphexec.NewExecutableSchema(graphexec.Config{}).Schema()
	spans := regexp.MustCompile("`((?:subscription|query|mutation) [^`]+|\\{ [^`]+ \\})`").FindAllStringSubmatch(string(raw), -1)
	n := 0
	for _, m := range spans {
		doc := strings.ReplaceAll(m[1], `"..."`, `"0"`)
		if !strings.Contains(doc, "{") {
			continue
		}
		n++
		if _, perr := gqlparser.LoadQuery(schema, doc); perr != nil {
			t.Errorf("README GraphQL document %q: %v", m[1], perr)
		}
	}
	if n == 0 {
		t.Fatal("no GraphQL document found in README.md's code spans")
	}
}
