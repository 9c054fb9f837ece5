package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// wsListener serves MQTT over WebSocket (subprotocol "mqtt", binary
// frames, any path). It binds its address in Init, so ":0" works and
// Address tells the port taken.
type wsListener struct {
	id, address string
	tlsConfig   *tls.Config
	log         *slog.Logger

	mu  sync.Mutex
	ln  net.Listener
	srv *http.Server
	end bool
	// ctx ends the WebSocket connections when the listener closes.
	ctx    context.Context
	cancel context.CancelFunc
}

var _ listeners.Listener = (*wsListener)(nil)

func newWSListener(id, address string, tlsConfig *tls.Config) *wsListener {
	ctx, cancel := context.WithCancel(context.Background())
	return &wsListener{id: id, address: address, tlsConfig: tlsConfig, ctx: ctx, cancel: cancel}
}

func (l *wsListener) ID() string       { return l.id }
func (l *wsListener) Protocol() string { return "ws" }

func (l *wsListener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.address
}

// Init binds the address.
func (l *wsListener) Init(log *slog.Logger) error {
	l.log = log
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	ln = &countingListener{Listener: ln}
	if l.tlsConfig != nil {
		ln = tls.NewListener(ln, l.tlsConfig)
	}
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	return nil
}

// countingListener makes countingConns.
type countingListener struct{ net.Listener }

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c}, nil
}

// connKey is the context key of the connection under a WebSocket.
type connKey struct{}

// Serve accepts WebSocket upgrades and hands each connection to establish.
func (l *wsListener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	if l.end || l.ln == nil {
		l.mu.Unlock()
		return
	}
	l.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Devices authenticate inside MQTT's CONNECT, never with
			// cookies, so any origin may open the socket.
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mqtt"}, InsecureSkipVerify: true})
			if err != nil {
				return
			}
			if c.Subprotocol() != "mqtt" {
				_ = c.Close(websocket.StatusPolicyViolation, "the subprotocol must be mqtt")
				return
			}
			c.SetReadLimit(maxPacketSize + 16)
			cc, _ := r.Context().Value(connKey{}).(net.Conn)
			nc := &wsConn{Conn: websocket.NetConn(l.ctx, c, websocket.MessageBinary), remote: remoteAddr(r.RemoteAddr),
				counting: counters(cc)}
			if err := establish(l.id, nc); err != nil {
				l.log.Debug("mqtt websocket session ended", "err", err)
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	srv, ln := l.srv, l.ln
	l.mu.Unlock()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		l.log.Warn("mqtt websocket listener", "err", err)
	}
}

// Close ends the clients (through closeClients), then the listener.
func (l *wsListener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	if l.end {
		l.mu.Unlock()
		return
	}
	l.end = true
	srv, ln := l.srv, l.ln
	l.mu.Unlock()
	closeClients(l.id)
	l.cancel()
	if srv != nil {
		_ = srv.Close()
	} else if ln != nil {
		_ = ln.Close()
	}
}

// wsConn is a WebSocket as a net.Conn with the client's address.
type wsConn struct {
	net.Conn
	remote   net.Addr
	counting *countingConn
}

func (c *wsConn) RemoteAddr() net.Addr { return c.remote }

// remoteAddr is an address as http.Request.RemoteAddr has it.
type remoteAddr string

func (a remoteAddr) Network() string { return "tcp" }
func (a remoteAddr) String() string  { return string(a) }

// tcpListener serves MQTT on TCP (TLS with a tls.Config), counting the
// bytes of each connection.
type tcpListener struct {
	id, address string
	tlsConfig   *tls.Config
	log         *slog.Logger

	mu  sync.Mutex
	ln  net.Listener
	end bool
	wg  sync.WaitGroup
}

var _ listeners.Listener = (*tcpListener)(nil)

func (l *tcpListener) ID() string       { return l.id }
func (l *tcpListener) Protocol() string { return "tcp" }

func (l *tcpListener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.address
}

// Init binds the address.
func (l *tcpListener) Init(log *slog.Logger) error {
	l.log = log
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	return nil
}

// Serve accepts connections and hands each to establish.
func (l *tcpListener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	ln := l.ln
	l.mu.Unlock()
	if ln == nil {
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var conn net.Conn = &countingConn{Conn: c}
		if l.tlsConfig != nil {
			conn = tls.Server(conn, l.tlsConfig)
		}
		go func() {
			if err := establish(l.id, conn); err != nil {
				l.log.Debug("mqtt session ended", "err", err)
			}
		}()
	}
}

// Close ends the clients (through closeClients), then the listener.
func (l *tcpListener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	if l.end {
		l.mu.Unlock()
		return
	}
	l.end = true
	ln := l.ln
	l.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	closeClients(l.id)
}

// countingConn counts the bytes read and written on a connection.
type countingConn struct {
	net.Conn
	rx, tx atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.rx.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.tx.Add(int64(n))
	return n, err
}

// counters returns the byte counters under a connection the listeners
// made.
func counters(c net.Conn) *countingConn {
	switch v := c.(type) {
	case *countingConn:
		return v
	case *tls.Conn:
		return counters(v.NetConn())
	case *wsConn:
		return v.counting
	}
	return nil
}
