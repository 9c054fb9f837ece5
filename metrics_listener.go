package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/assetgate/assetgate/wire"
)

// serveMetrics serves the Prometheus metrics of a at /metrics on the
// metrics address, apart from the service's listener, and returns a
// function that stops it. Off: nothing. An address the operator set that
// cannot be bound is an error (serve fails at start, as for
// ASSETGATE_ADDR); the default address only logs a warning and serve goes
// on without metrics, so that a second instance on one host, or serve
// --demo beside a running exporter, still starts.
func (c *cli) serveMetrics(a *wire.App, log *slog.Logger) (stop func(), err error) {
	addr := c.cfg.MetricsAddr
	if addr == metricsOff {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if c.cfg.MetricsAddrGiven {
			return nil, fmt.Errorf("metrics listener (%s): %w", metricsAddrEnv, err)
		}
		log.Warn("metrics listener not started: the default address is taken; set "+metricsAddrEnv+" to another address, or off",
			"addr", addr, "err", err)
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
