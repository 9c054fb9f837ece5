package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// stats is what one load run measured.
type stats struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	// FirstError describes the first failed request, for the report.
	FirstError string
}

// RPS is the successful requests per second.
func (s stats) RPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests-s.Errors) / s.Elapsed.Seconds()
}

// target is one row's request: a fresh request each call, and the status a
// correct answer has.
type target struct {
	newRequest func(ctx context.Context) (*http.Request, error)
	want       int
}

// drive sends requests to t from conc workers: first for warmup (not
// measured), then for dur. Every worker stops by itself when its time is up,
// so a run never outlives warmup+dur plus one request timeout.
func drive(ctx context.Context, client *http.Client, t target, conc int, warmup, dur time.Duration) stats {
	loop := func(until time.Time, record bool) ([]time.Duration, int, string) {
		var lat []time.Duration
		errs := 0
		first := ""
		for time.Now().Before(until) && ctx.Err() == nil {
			req, err := t.newRequest(ctx)
			if err != nil {
				return lat, errs + 1, err.Error()
			}
			start := time.Now()
			resp, err := client.Do(req)
			ok := false
			detail := ""
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok = resp.StatusCode == t.want
				detail = resp.Status
			} else {
				detail = err.Error()
			}
			if record {
				lat = append(lat, time.Since(start))
				if !ok {
					errs++
					if first == "" {
						first = detail
					}
				}
			}
		}
		return lat, errs, first
	}
	run := func(d time.Duration, record bool) stats {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var all []time.Duration
		var st stats
		until := time.Now().Add(d)
		start := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lat, errs, first := loop(until, record)
				mu.Lock()
				all = append(all, lat...)
				st.Errors += errs
				if st.FirstError == "" {
					st.FirstError = first
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		st.Elapsed = time.Since(start)
		st.Requests = len(all)
		slices.Sort(all)
		st.P50, st.P99 = percentile(all, 0.50), percentile(all, 0.99)
		return st
	}
	if warmup > 0 {
		run(warmup, false)
	}
	return run(dur, true)
}

// percentile returns the p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}
