package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// freeAddr returns a loopback address with a port that was free a moment
// ago (for the debug listener of a profiled run).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9]+`)

// profileRow starts, when -cpuprofile is given, a CPU profile of p that
// covers the measured part of a row, and returns a function that waits for
// it and writes it to the profile directory as CONFIG-ROW.pprof.
func profileRow(ctx context.Context, o options, p *process, config, name string) func() {
	if o.cpuProfile == "" || p.debugAddr == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(o.warmup):
		case <-ctx.Done():
			return
		}
		secs := max(int(o.duration/time.Second)-1, 1)
		u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.debugAddr, secs)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
			return
		}
		defer resp.Body.Close()
		if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
			return
		}
		file := filepath.Join(o.cpuProfile, unsafeName.ReplaceAllString(config+"-"+name, "_")+".pprof")
		f, err := os.Create(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			fmt.Fprintln(os.Stderr, "bench: profile:", err)
		}
	}()
	return func() { <-done }
}
