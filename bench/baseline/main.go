// Command baseline is the yardstick of `make bench`: the least a Go HTTP
// service can do on this machine. GET /plain answers a 40-byte JSON body;
// GET /redis does the same after one Redis GET; POST /redis-set after one SET
// with a TTL; POST /code-exchange (oidc.go) a code exchange with an RS256
// ID token. With -postgres it also serves the reference rows of
// postgres.go: /pg-row, /pg-list and /pg-insert.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// body is exactly 40 bytes of JSON.
var body = []byte(`{"status":"ok","data":"0123456789abcde"}`)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/15", "Redis URL")
	pgURL := fs.String("postgres", "", "an empty PostgreSQL database for the reference rows (none without)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, err := redis.ParseURL(*redisURL)
	if err != nil {
		return err
	}
	opts.PoolSize = 64
	rc := redis.NewClient(opts)
	defer rc.Close()
	if err := rc.Set(ctx, "baseline:key", "value", time.Hour).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { write(w) })
	mux.HandleFunc("GET /redis", func(w http.ResponseWriter, r *http.Request) {
		if err := rc.Get(r.Context(), "baseline:key").Err(); err != nil {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		write(w)
	})
	mux.HandleFunc("POST /redis-set", func(w http.ResponseWriter, r *http.Request) {
		if err := rc.Set(r.Context(), "baseline:set", "value", time.Minute).Err(); err != nil {
			http.Error(w, "redis", http.StatusBadGateway)
			return
		}
		write(w)
	})
	if err := codeExchangeRoute(mux, rc); err != nil {
		return err
	}
	if *pgURL != "" {
		closeDB, err := refRoutes(ctx, mux, rc, *pgURL)
		if err != nil {
			return err
		}
		defer closeDB()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("baseline listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}
