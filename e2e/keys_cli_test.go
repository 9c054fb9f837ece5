package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestCLIKeys: `keys list --json` shows the first key (made on first use),
// `keys rotate` adds a pending key of the asked algorithm and retires the
// old one, which stays published until its last token expires; bad flags
// are usage errors.
func TestCLIKeys(t *testing.T) {
	for name, mkenv := range cliEnvs() {
		t.Run(name, func(t *testing.T) {
			env := mkenv(t)
			keys := func() []map[string]any {
				t.Helper()
				var out []map[string]any
				for _, k := range mustCLI(t, env, "", "keys", "list")["keys"].([]any) {
					out = append(out, k.(map[string]any))
				}
				return out
			}
			first := keys()
			if len(first) != 1 || first[0]["state"] != "signing" || first[0]["alg"] != "RS256" || first[0]["published_until"] != nil {
				t.Fatalf("keys list = %v", first)
			}
			rotated := mustCLI(t, env, "", "keys", "rotate", "--alg", "ES256", "--sign-after", "2h")
			if rotated["state"] != "pending" || rotated["alg"] != "ES256" || rotated["kid"] == first[0]["kid"] {
				t.Fatalf("keys rotate = %v", rotated)
			}
			after := keys()
			if len(after) != 2 || after[0]["kid"] != first[0]["kid"] || after[0]["state"] != "signing" || after[1]["state"] != "pending" {
				t.Fatalf("keys list after rotate = %v", after)
			}
			from, _ := time.Parse(time.RFC3339Nano, rotated["signs_from"].(string))
			until, _ := time.Parse(time.RFC3339Nano, after[0]["published_until"].(string))
			if d := time.Until(from); d < 119*time.Minute || d > 121*time.Minute || until.Sub(from) < 24*time.Hour {
				t.Fatalf("signs from %v, old key published until %v", from, until)
			}
			if txt := runCLI(t, env, "", "keys", "list"); txt.code != 0 || !strings.Contains(txt.stdout, "pending") {
				t.Fatalf("keys list: %d %q", txt.code, txt.stdout)
			}
			for _, bad := range [][]string{{"--alg", "HS256"}, {"--sign-after", "-5s"}} {
				if r := runCLI(t, env, "", append([]string{"keys", "rotate"}, bad...)...); r.code != 2 {
					t.Fatalf("keys rotate %v: exit %d, stderr %q", bad, r.code, r.stderr)
				}
			}
		})
	}
}
