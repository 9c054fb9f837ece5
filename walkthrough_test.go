package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestWalkthrough follows the README's five-minute walk-through against a
// real server started like `make run` (serve --demo), on both set-ups.
func TestWalkthrough(t *testing.T) {
	for name, mkenv := range envs() {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, mkenv(t), "--demo", "--json")
			line, _, _ := strings.Cut(ts.stdout.String(), "\n")
			var demo demoResult
			if err := json.Unmarshal([]byte(line), &demo); err != nil {
				t.Fatalf("demo output %q: %v", line, err)
			}

			// Step 1: an application token with client credentials.
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/oauth/token",
				strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"app basic"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(demo.ClientID, demo.ClientSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var tok struct {
				AccessToken  string `json:"access_token"`
				TokenType    string `json:"token_type"`
				ExpiresIn    int    `json:"expires_in"`
				Scope        string `json:"scope"`
				CreatedAt    int64  `json:"created_at"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(tok.AccessToken, "agat_") || tok.TokenType != "Bearer" ||
				tok.ExpiresIn != 7200 || tok.Scope != "app basic" || tok.CreatedAt == 0 || tok.RefreshToken != "" {
				t.Fatalf("token response %d %+v", resp.StatusCode, tok)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Fatalf("Cache-Control = %q", cc)
			}
		})
	}
}
