package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/assetgate/assetgate/metrics"
)

// closeUnauthorized is graphql-transport-ws's close code for a subscribe
// message that arrives before the connection was acknowledged.
const closeUnauthorized = 4401

// errSubscribeBeforeInit ends a connection whose first message subscribes.
var errSubscribeBeforeInit = errors.New("subscribe before connection_init")

// firstMessageGuard accepts WebSocket connections with gqlgen's default
// implementation and looks at the first message of each: a graphql-transport-ws
// client that subscribes before connection_init is closed with 4401
// Unauthorized, as the protocol asks (gqlgen itself answers any unexpected
// first message with 1002, a protocol error).
type firstMessageGuard struct {
	inner   transport.WebsocketImplementation
	log     *slog.Logger
	metrics *metrics.Metrics // counts the refusals; nil counts nothing
}

// Accept implements transport.WebsocketImplementation.
func (g firstMessageGuard) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := g.inner.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	return &guardedConn{WebsocketConn: c, log: g.log, metrics: g.metrics, r: r}, nil
}

// guardedConn is a connection whose first message is checked.
type guardedConn struct {
	transport.WebsocketConn
	log     *slog.Logger
	metrics *metrics.Metrics
	r       *http.Request
	seen    bool
}

// NextReader implements transport.WebsocketConn.
func (c *guardedConn) NextReader() (int, io.Reader, error) {
	typ, rd, err := c.WebsocketConn.NextReader()
	if err != nil || c.seen {
		return typ, rd, err
	}
	c.seen = true
	if c.Subprotocol() != "graphql-transport-ws" {
		return typ, rd, nil
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return typ, nil, err
	}
	var m struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &m) == nil && m.Type == "subscribe" {
		c.log.InfoContext(c.r.Context(), "graphql: websocket refused: subscribe before connection_init")
		c.metrics.WebSocketRefused("subscribe_before_init")
		_ = c.WriteClose(closeUnauthorized, "Unauthorized")
		return typ, nil, errSubscribeBeforeInit
	}
	return typ, bytes.NewReader(data), nil
}

// SetReadLimit passes the transport's read limit on.
func (c *guardedConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline passes the transport's read deadline on.
func (c *guardedConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
