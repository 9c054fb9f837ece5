package graph

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/assetgate/assetgate/metrics"
)

// CloseServiceRestart is the WebSocket close code (RFC 6455 §7.4.1, IANA
// registry: 1012 "Service Restart") a graceful shutdown closes every
// GraphQL WebSocket with: the client should reconnect, to this replica once
// it is back or to another one.
const CloseServiceRestart = 1012

// Sockets keeps the open GraphQL WebSocket connections of every endpoint
// built on it, so that a graceful shutdown can close them with
// CloseServiceRestart (net/http's Shutdown does not wait for, nor close,
// connections handed over to a WebSocket). Build it with NewSockets.
type Sockets struct {
	mu      sync.Mutex
	conns   map[*socketConn]struct{}
	closing bool
	metrics *metrics.Metrics
	done    chan struct{} // closed when the last connection is gone while closing
}

// NewSockets returns an empty set; m counts drained connections (nil:
// none).
func NewSockets(m *metrics.Metrics) *Sockets {
	return &Sockets{conns: map[*socketConn]struct{}{}, metrics: m}
}

// wrap returns w with a Hijack that records the connection in s.
func (s *Sockets) wrap(w http.ResponseWriter) http.ResponseWriter {
	if s == nil {
		return w
	}
	return &hijackWriter{ResponseWriter: w, s: s}
}

// Close sends every open connection a close frame with
// CloseServiceRestart and "service restart", waits up to grace for the
// clients to close them, then closes what is left. Connections made later
// are closed the same way at once.
func (s *Sockets) Close(grace time.Duration) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closing = true
	conns := make([]*socketConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	if len(s.conns) > 0 {
		s.done = make(chan struct{})
	}
	done := s.done
	s.mu.Unlock()
	for _, c := range conns {
		c.restart()
		s.metrics.StreamDrained(metrics.TransportWebSocket)
	}
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(grace):
	}
	for _, c := range conns {
		_ = c.Conn.Close()
	}
}

func (s *Sockets) add(c *socketConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Sockets) remove(c *socketConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.closing && len(s.conns) == 0 && s.done != nil {
		close(s.done)
	}
}

// hijackWriter is the ResponseWriter of a WebSocket upgrade.
type hijackWriter struct {
	http.ResponseWriter
	s *Sockets
}

// Hijack hands over the connection, recorded in the set, its writes
// serialised with the close frame of a shutdown.
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	sc := &socketConn{Conn: c, s: h.s}
	if !h.s.add(sc) {
		sc.restart()
		_ = c.Close()
	}
	return sc, rw, nil
}

// Unwrap gives http.ResponseController the writer below.
func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// socketConn is a hijacked WebSocket connection.
type socketConn struct {
	net.Conn
	s    *Sockets
	mu   sync.Mutex // one frame at a time: the library's and the close frame
	shut bool       // the close frame was sent: nothing more is written
	once sync.Once
}

func (c *socketConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *socketConn) Close() error {
	c.once.Do(func() { c.s.remove(c) })
	return c.Conn.Close()
}

// restart writes the close frame of CloseServiceRestart (a server's
// frames are not masked) and lets nothing be written after it.
func (c *socketConn) restart() {
	const reason = "service restart"
	frame := make([]byte, 0, 4+len(reason))
	frame = append(frame, 0x88, byte(2+len(reason)))
	frame = binary.BigEndian.AppendUint16(frame, CloseServiceRestart)
	frame = append(frame, reason...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return
	}
	c.shut = true
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write(frame)
}
