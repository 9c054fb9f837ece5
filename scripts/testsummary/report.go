package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxNamed is how many tests the summary names per skip reason, and how
// many failed tests it names.
const maxNamed = 3

// print writes the summary; its last line is
// "tests: N passed, N failed, N skipped".
func (s *summary) print() {
	w := s.out
	short := s.shortener()
	var passed, failed, skipped int
	for _, r := range s.results {
		switch r {
		case "pass":
			passed++
		case "fail":
			failed++
		case "skip":
			skipped++
		}
	}
	var pkgOK, pkgFail, pkgNone int
	for _, r := range s.pkgs {
		switch r {
		case "pass":
			pkgOK++
		case "fail":
			pkgFail++
		default:
			pkgNone++
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "==== summary")
	fmt.Fprintf(w, "packages: %d tested (%d ok, %d failed), %d without tests\n", pkgOK+pkgFail, pkgOK, pkgFail, pkgNone)
	for _, b := range s.buildFailed {
		fmt.Fprintf(w, "build failed: %s\n", b)
	}
	fmt.Fprintf(w, "tests run: %d (tests and subtests): %d passed, %d failed; %d skipped\n", passed+failed, passed, failed, skipped)
	if leaves := s.failedLeaves(); len(leaves) > 0 {
		fmt.Fprintf(w, "failed (%d without failed subtests):\n", len(leaves))
		for _, k := range leaves {
			fmt.Fprintf(w, "  %s %s\n", short(k.pkg), k.test)
		}
	}
	if skipped > 0 {
		fmt.Fprintf(w, "skipped, by reason:\n")
		reasons := slices.Collect(maps.Keys(s.skips))
		slices.SortFunc(reasons, func(a, b string) int {
			return cmp.Or(cmp.Compare(len(s.skips[b]), len(s.skips[a])), strings.Compare(a, b))
		})
		for _, r := range reasons {
			fmt.Fprintf(w, "  %4d skipped: %s (%s)\n", len(s.skips[r]), r, named(s.skips[r], short))
		}
	}
	fmt.Fprintln(w, "real parts used:")
	parts := knownParts()
	for _, p := range slices.Sorted(maps.Keys(s.parts)) {
		if !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	for _, p := range parts {
		tests := s.parts[p]
		if len(tests) == 0 {
			fmt.Fprintf(w, "  %-11s not used\n", p)
			continue
		}
		pkgs := map[string]bool{}
		for _, k := range tests {
			pkgs[k.pkg] = true
		}
		fmt.Fprintf(w, "  %-11s %s in %s\n", p, plural(len(tests), "test"), plural(len(pkgs), "package"))
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
}

// failedLeaves returns the failed tests none of whose subtests failed, in
// the order they failed; a test failed only through its subtests adds
// nothing to them.
func (s *summary) failedLeaves() []key {
	var out []key
	for _, k := range s.failed {
		leaf := true
		for _, o := range s.failed {
			if o.pkg == k.pkg && strings.HasPrefix(o.test, k.test+"/") {
				leaf = false
				break
			}
		}
		if leaf {
			out = append(out, k)
		}
	}
	return out
}

// named names up to maxNamed of the tests, and how many more there are.
func named(tests []key, short func(string) string) string {
	tests = slices.SortedFunc(slices.Values(tests), compareKeys)
	var names []string
	for _, k := range tests[:min(len(tests), maxNamed)] {
		names = append(names, short(k.pkg)+" "+k.test)
	}
	if more := len(tests) - maxNamed; more > 0 {
		names = append(names, fmt.Sprintf("%d more", more))
	}
	return strings.Join(names, ", ")
}

// shortener returns a function that drops the path the packages of the run
// share up to their module's parent folder: github.com/x/mod/oauth becomes
// mod/oauth.
func (s *summary) shortener() func(string) string {
	var all []string
	for p := range s.pkgs {
		all = append(all, p)
	}
	for k := range s.results {
		all = append(all, k.pkg)
	}
	if len(all) == 0 {
		return func(p string) string { return p }
	}
	prefix := all[0]
	for _, p := range all[1:] {
		for !strings.HasPrefix(p, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		prefix = prefix[:i+1]
	} else {
		prefix = ""
	}
	return func(p string) string { return strings.TrimPrefix(p, prefix) }
}

// plural writes n and the noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
