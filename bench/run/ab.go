package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The A/B mode (-ab REV): is this build slower than another revision on
// the same rows? It builds REV's assetgate from a temporary git worktree
// (detached, removed afterwards), starts it and this build side by side,
// each on its own fresh database and seeded the same way, and measures
// every selected row on both alternately, -ab-rounds times, each round
// after measuring the row's baseline again: A then B in one round, B then A
// in the next, so that a drift of the machine's load hits both alike. It
// prints each round's figures and, per row, the median ratios of A and B
// to the baseline and of B to A.
//
// With -cpuprofile each run of each side is profiled (A-ROW-round-N and
// B-ROW-round-N), when both builds serve ASSETGATE_DEBUG_ADDR.
//
// Rows whose target is made just before they run (the code exchange) are
// left out: the other revision may not have them.

// buildRevision builds assetgate at rev into bin, from a temporary
// worktree of the repository.
func buildRevision(ctx context.Context, rev, bin, tmp string) error {
	src := filepath.Join(tmp, "src-"+strings.NewReplacer("/", "_", ".", "_").Replace(rev))
	add := exec.CommandContext(ctx, "git", "worktree", "add", "--detach", src, rev)
	add.Stdout, add.Stderr = os.Stderr, os.Stderr
	if err := add.Run(); err != nil {
		return fmt.Errorf("git worktree add %s: %w", rev, err)
	}
	defer func() {
		rm := exec.Command("git", "worktree", "remove", "--force", src)
		rm.Stdout, rm.Stderr = os.Stderr, os.Stderr
		_ = rm.Run()
	}()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir, build.Stdout, build.Stderr = src, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build %s: %w", rev, err)
	}
	return nil
}

// abRound is one round of one row: its baseline and both builds.
type abRound struct{ ref, a, b stats }

// abBench is bench with -ab: see above.
func abBench(ctx context.Context, o options, tmp, agBin string, client *http.Client, logs io.Writer,
	ref func(name string) (stats, bool), configs []benchEnv) (string, error) {
	revBin := filepath.Join(tmp, "assetgate-"+o.abRev)
	if err := buildRevision(ctx, o.abRev, revBin, tmp); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# assetgate A/B: A = %s, B = this build\n\n%s, %d connections, %s per run after %s warm-up, %d rounds (A then B, then B then A), loopback only.\n\n",
		o.abRev, time.Now().UTC().Format("2006-01-02 15:04 MST"), o.conc, o.duration, o.warmup, o.abRounds)
	b.WriteString("| config | row | round | baseline req/s | A req/s | B req/s | A/baseline | B/baseline | B/A |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var summary strings.Builder
	summary.WriteString("\n| config | row | median A/baseline | median B/baseline | median B/A |\n|---|---|---:|---:|---:|\n")
	for _, cfg := range configs {
		if o.only != "" && o.only != cfg.name {
			continue
		}
		var sides [2]*served
		var cleanups []func()
		for i, bin := range []string{revBin, agBin} {
			env, cleanup, err := cfg.env()
			if err != nil {
				return "", fmt.Errorf("%s: %w", cfg.name, err)
			}
			cleanups = append(cleanups, cleanup)
			env = append(env, "ASSETGATE_ADDR=127.0.0.1:0", "ASSETGATE_LOG_LEVEL=error", "ASSETGATE_METRICS_ADDR=off", benchRateLimits)
			sv, err := serve(ctx, o, client, bin, env, logs)
			if err != nil {
				for _, c := range cleanups {
					c()
				}
				return "", fmt.Errorf("%s %s: %w", cfg.name, []string{"A", "B"}[i], err)
			}
			sides[i] = sv
		}
		for _, s := range rowSpecs {
			if o.rows != nil && !o.rows.MatchString(s.name) || s.prepare != nil {
				continue
			}
			targets := [2]target{s.target(sides[0].creds), s.target(sides[1].creds)}
			missing := ""
			for i, t := range targets {
				if m := probe(ctx, client, t); m != "" {
					missing = fmt.Sprintf("%s: %s", []string{"A", "B"}[i], m)
				}
			}
			if missing != "" {
				fmt.Fprintf(&b, "| %s | %s | – | – | – | – | n/a (%s) | | |\n", cfg.name, s.name, missing)
				continue
			}
			var rounds []abRound
			for i := range o.abRounds {
				var r abRound
				var ok bool
				if r.ref, ok = ref(s.baseline); !ok {
					return "", fmt.Errorf("-ab needs the baseline row %s (and -paired)", s.baseline)
				}
				order := []int{0, 1}
				if i%2 == 1 {
					order = []int{1, 0}
				}
				for _, side := range order {
					fmt.Fprintf(os.Stderr, "bench: %s %s round %d, %s\n", cfg.name, s.name, i+1, []string{"A", "B"}[side])
					stopProfile := profileRow(ctx, o, sides[side].p, cfg.name, fmt.Sprintf("%s %s round %d", []string{"A", "B"}[side], s.name, i+1))
					st := drive(ctx, client, targets[side], o.conc, o.warmup, o.duration)
					stopProfile()
					if side == 0 {
						r.a = st
					} else {
						r.b = st
					}
				}
				rounds = append(rounds, r)
				fmt.Fprintf(&b, "| %s | %s | %d | %.0f | %.0f | %.0f | %s | %s | %s |\n", cfg.name, s.name, i+1, r.ref.RPS(), r.a.RPS(), r.b.RPS(),
					pct(r.a.RPS(), r.ref.RPS()), pct(r.b.RPS(), r.ref.RPS()), pct(r.b.RPS(), r.a.RPS()))
				if r.a.Errors > 0 || r.b.Errors > 0 {
					fmt.Fprintf(&b, "| | (errors: A %d, B %d; first: %s%s) | | | | | | | |\n", r.a.Errors, r.b.Errors, r.a.FirstError, r.b.FirstError)
				}
			}
			fmt.Fprintf(&summary, "| %s | %s | %s | %s | %s |\n", cfg.name, s.name,
				medianPct(rounds, func(r abRound) (float64, float64) { return r.a.RPS(), r.ref.RPS() }),
				medianPct(rounds, func(r abRound) (float64, float64) { return r.b.RPS(), r.ref.RPS() }),
				medianPct(rounds, func(r abRound) (float64, float64) { return r.b.RPS(), r.a.RPS() }))
		}
		for _, sv := range sides {
			sv.p.stop()
		}
		for _, c := range cleanups {
			c()
		}
	}
	return b.String() + summary.String() + "\n", nil
}

// pct formats x/y as a percentage.
func pct(x, y float64) string {
	if y <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*x/y)
}

// medianPct is the median over the rounds of the ratio f returns.
func medianPct(rounds []abRound, f func(abRound) (float64, float64)) string {
	var ratios []float64
	for _, r := range rounds {
		if x, y := f(r); y > 0 {
			ratios = append(ratios, x/y)
		}
	}
	if len(ratios) == 0 {
		return "–"
	}
	slices.Sort(ratios)
	m := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		m = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
	}
	return fmt.Sprintf("%.1f %%", 100*m)
}
