package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// tcpProxy forwards connections to a target until it is closed, after which
// it refuses new ones and cuts the open ones: a service that went away. It
// can also be stalled: it keeps every connection open (and accepts new
// ones) but forwards no byte until resumed, which is what a client sees of
// a server that was stopped with SIGSTOP.
type tcpProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	resumed *sync.Cond // signalled when stalled turns false or the proxy closes
	stalled bool
	closed  bool
	conns   []net.Conn
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
	p.resumed = sync.NewCond(&p.mu)
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
					p.pump(u, c)
				} else {
					pr, pw := io.Pipe()
					go observe(pr)
					p.pump(u, io.TeeReader(c, pw))
					pw.Close()
				}
				u.Close()
			}()
			go func() { p.pump(c, u); c.Close() }()
		}
	}()
	return p
}

// pump copies src to dst, holding every chunk it read while the proxy is
// stalled.
func (p *tcpProxy) pump(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitResumed() {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitResumed blocks while the proxy is stalled; it reports false once the
// proxy is closed.
func (p *tcpProxy) waitResumed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && !p.closed {
		p.resumed.Wait()
	}
	return !p.closed
}

// stall stops forwarding bytes, in both directions, until resume.
func (p *tcpProxy) stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// resume forwards bytes again, the ones held while stalled first.
func (p *tcpProxy) resume() {
	p.mu.Lock()
	p.stalled = false
	p.mu.Unlock()
	p.resumed.Broadcast()
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.resumed.Broadcast()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
