package main

import (
	"io"
	"net"
	"sync"
	"testing"
)

// tcpProxy forwards connections to a target until it is closed, after which
// it refuses new ones and cuts the open ones: a service that went away.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	return startTCPProxyWith(t, target, nil)
}

// startTCPProxyWith is startTCPProxy that also hands a copy of everything
// each client sends to observe (which must read it to the end).
func startTCPProxyWith(t *testing.T, target string, observe func(io.Reader)) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	t.Cleanup(p.close)
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
			go func() {
				if observe == nil {
					io.Copy(u, c)
				} else {
					pr, pw := io.Pipe()
					go observe(pr)
					io.Copy(u, io.TeeReader(c, pw))
					pw.Close()
				}
				u.Close()
			}()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
