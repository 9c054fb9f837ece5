package storage_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// cutProxy is a TCP proxy to Redis whose open connections can be cut.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

// cut closes every connection made so far.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestRedisEventBusConnectionLost checks that subscribers are dropped with
// EndFanoutInterrupted when the pub/sub connection breaks (events may have
// been missed), and that the bus serves new subscribers after Redis is
// back.
func TestRedisEventBusConnectionLost(t *testing.T) {
	opts, err := redis.ParseURL(storagetest.RequireEnv(t, storagetest.RedisURLEnv))
	if err != nil {
		t.Fatal(err)
	}
	direct := storagetest.MustOpenRedis(t)
	prefix := storagetest.MustRedisPrefix(t, direct)
	proxy := startCutProxy(t, opts.Addr)
	proxied := redis.NewClient(&redis.Options{Addr: proxy.ln.Addr().String(), DB: opts.DB})
	t.Cleanup(func() { proxied.Close() })
	bus := storage.NewRedisEventBus(proxied, prefix, 0, nil)
	t.Cleanup(bus.Close)
	publisher := storage.NewRedisEventBus(direct, prefix, 0, nil)
	t.Cleanup(publisher.Close)
	cust, dev := resource.NewID(), resource.NewID()

	sub, err := bus.Subscribe(t.Context(), cust, dev)
	if err != nil {
		t.Fatal(err)
	}
	proxy.cut()
	select {
	case _, ok := <-sub.Events():
		if ok {
			t.Fatal("an event arrived instead of the end")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription outlived its connection by 10s")
	}
	var end *resource.StreamEnd
	if !errors.As(sub.Err(), &end) || end.Reason != resource.EndFanoutInterrupted {
		t.Fatalf("Err() = %v, want %s", sub.Err(), resource.EndFanoutInterrupted)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		sub, err = bus.Subscribe(t.Context(), cust, dev)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no subscription 10s after the cut: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer sub.Close()
	e := &resource.Event{ID: resource.NewID(), CustomerID: cust, DeviceID: dev, Type: resource.EventStatus,
		Payload: map[string]any{"fault": true}}
	publisher.Publish(t.Context(), e)
	select {
	case got := <-sub.Events():
		if got == nil || got.ID != e.ID {
			t.Fatalf("got %+v, want %s", got, e.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after the reconnect")
	}
}
