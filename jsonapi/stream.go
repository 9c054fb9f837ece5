package jsonapi

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/assetgate/assetgate/metrics"
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/scopes"
)

// DefaultStreamHeartbeat is how often an event stream sends a heartbeat
// comment and re-checks its token.
const DefaultStreamHeartbeat = 15 * time.Second

// Event stream constants.
const (
	// streamPath is the path of a device's event stream under BasePath.
	streamPath = "/devices/{id}/events/stream"
	// customerStreamPath is the path of the stream of every event of the
	// principal's customer.
	customerStreamPath = "/events/stream"
	// LastEventIDHeader is the header an EventSource resumes with.
	LastEventIDHeader = "Last-Event-ID"
	// streamRetryMS is the reconnection delay the stream asks for.
	streamRetryMS = 2000
	// streamWriteSlack is how long past a heartbeat a write may block
	// before the client is given up.
	streamWriteSlack = 30 * time.Second
)

// streamTokenKey is the context key of the bearer token of a stream
// request, kept to re-check it on every heartbeat.
type streamTokenKey struct{}

// streamRoute and customerStreamRoute describe the streams for the error
// mapper.
var (
	streamRoute         = &route{method: "GET", path: streamPath, ops: []scopes.Operation{scopes.OpEventsRead}}
	customerStreamRoute = &route{method: "GET", path: customerStreamPath, ops: []scopes.Operation{scopes.OpEventsRead}}
)

// deviceStream opens the stream of GET /devices/{id}/events/stream.
func (a *API) deviceStream(r *http.Request, lastEventID string) (*resource.EventStream, error) {
	return a.deps.Events.Follow(r.Context(), r.PathValue("id"), lastEventID)
}

// customerStream opens the stream of GET /events/stream: every event of
// the principal's customer (a device token's: its own device's).
func (a *API) customerStream(r *http.Request, lastEventID string) (*resource.EventStream, error) {
	return a.deps.Events.FollowCustomer(r.Context(), lastEventID)
}

// streamHandler serves a live event stream (Server-Sent Events): GET
// /api/v1/devices/{id}/events/stream or GET /api/v1/events/stream, as rt
// says, opened by open. It takes its bearer token from the Authorization
// header or, for EventSource clients that cannot set headers, from the
// authorization query parameter (these routes only), and re-resolves it on
// every heartbeat so that a revoked token's stream ends within one.
func (a *API) streamHandler(rt *route, open func(*http.Request, string) (*resource.EventStream, error)) http.Handler {
	resolve := a.resolver()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.stream(w, r, resolve, open); err != nil {
			a.writeError(w, r, rt, err)
		}
	})
	bearer := a.authenticate(inner, scopes.AllowQueryToken())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), streamTokenKey{}, rawBearer(r))))
	})
}

// rawBearer returns the token a stream request carries, as the bearer
// middleware reads it (which refuses what is malformed).
func rawBearer(r *http.Request) string {
	if t := r.URL.Query().Get(scopes.QueryParam); t != "" {
		return t
	}
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimLeft(rest, " ")
	}
	return ""
}

// stream serves one event stream. Errors before the stream starts are
// returned (and written as JSON:API errors); once it has started, it ends
// with a final "end" event saying why, or when the client leaves. Each
// event's id: is the greatest event id sent so far (on a device's stream,
// the event's own; on a customer's, where two devices' ids are not
// ordered by commit, the resume point FollowCustomer describes); a
// connection change is an event named "connection" without an id:.
func (a *API) stream(w http.ResponseWriter, r *http.Request, resolve scopes.Resolver,
	open func(*http.Request, string) (*resource.EventStream, error)) error {
	if err := checkStreamAccept(r); err != nil {
		return err
	}
	if _, err := a.parseQuery(r.URL.RawQuery, queryNone); err != nil {
		return err
	}
	st, err := open(r, r.Header.Get(LastEventIDHeader))
	if resource.ErrorField(err) == "last_event_id" {
		return &apiError{Status: http.StatusBadRequest, Code: resource.EInvalid, Header: LastEventIDHeader,
			Detail: "Last-Event-ID must be the id of an event"}
	} else if err != nil {
		return err
	}
	defer st.Close()
	defer a.deps.Metrics.StreamOpened(metrics.TransportSSE)()
	heartbeat := a.deps.StreamHeartbeat
	if heartbeat <= 0 {
		heartbeat = DefaultStreamHeartbeat
	}
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), slack: heartbeat + streamWriteSlack}
	_ = sw.rc.SetReadDeadline(time.Time{}) // the server's ReadTimeout must not end the stream
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// The resume point first: a client that reconnects before any event
	// arrives resumes from it (an id without data fires no event).
	opening := "retry: " + strconv.Itoa(streamRetryMS) + "\n"
	if id := st.Start(); id != "" {
		opening += "id: " + id + "\n"
	}
	if !sw.write(opening + "\n") {
		return nil
	}
	token, _ := r.Context().Value(streamTokenKey{}).(string)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	d := a.writer(resource.Query{})
	var buf []byte
	high := st.Start()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case e, ok := <-st.Events():
			if !ok {
				a.endStream(sw, r, st.Err())
				return nil
			}
			if e.Connection != nil {
				if !sw.write("event: connection\ndata: " + string(connectionData(e)) + "\n\n") {
					return nil
				}
				continue
			}
			var err error
			buf, err = d.object(buf[:0], a.presentEvent(e))
			if err != nil {
				a.endStream(sw, r, err)
				return nil
			}
			high = max(high, e.ID)
			if !sw.write("id: " + high + "\ndata: " + string(buf) + "\n\n") {
				return nil
			}
		case <-tick.C:
			if !sw.write(": heartbeat\n\n") {
				return nil
			}
			if _, err := resolve(r.Context(), token); err != nil {
				var authErr *scopes.AuthError
				if errors.As(err, &authErr) {
					a.endStream(sw, r, resource.NewStreamEnd(resource.EndTokenRevoked))
					return nil
				}
				// A failing token store is not a revocation: keep
				// streaming and check again at the next heartbeat.
				a.log.WarnContext(r.Context(), "jsonapi: event stream: token re-check failed", "err", err)
			}
		}
	}
}

// connectionData is the data of a "connection" event: the device, whether
// it connected or disconnected (and why), its address and when.
func connectionData(e *resource.Event) []byte {
	c := e.Connection
	v := struct {
		DeviceID      string  `json:"device_id"`
		Connected     bool    `json:"connected"`
		Reason        *string `json:"reason"`
		RemoteAddress *string `json:"remote_address"`
		At            string  `json:"at"`
	}{DeviceID: e.DeviceID, Connected: c.Connected, At: timeString(e.OccurredAt)}
	if c.Reason != "" {
		v.Reason = &c.Reason
	}
	if c.RemoteAddress != "" {
		v.RemoteAddress = &c.RemoteAddress
	}
	data, _ := json.Marshal(v)
	return data
}

// endStream writes the final event of a stream: "end" with the reason (a
// *resource.StreamEnd), or "internal_error" (logged) for anything else.
func (a *API) endStream(sw *sseWriter, r *http.Request, err error) {
	var end *resource.StreamEnd
	if !errors.As(err, &end) {
		if err != nil {
			a.log.ErrorContext(r.Context(), "jsonapi: event stream failed", "path", r.URL.Path, "err", err)
		}
		end = &resource.StreamEnd{Reason: resource.EndInternal, Message: "The stream failed; reconnect with Last-Event-ID to resume."}
	}
	if end.Reason == resource.EndShutdown {
		a.deps.Metrics.StreamDrained(metrics.TransportSSE)
	}
	data, _ := json.Marshal(map[string]string{"reason": string(end.Reason), "message": end.Message})
	sw.write("event: end\ndata: " + string(data) + "\n\n")
}

// sseWriter writes to an event stream, flushing every write and keeping
// the write deadline ahead of it.
type sseWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	slack time.Duration
}

// write writes s and flushes it; false when the client is gone.
func (sw *sseWriter) write(s string) bool {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.slack))
	if _, err := sw.w.Write([]byte(s)); err != nil {
		return false
	}
	return sw.rc.Flush() == nil
}

// checkStreamAccept accepts a request whose Accept allows
// text/event-stream (or has no Accept); 406 otherwise.
func checkStreamAccept(r *http.Request) error {
	values := r.Header.Values("Accept")
	if len(values) == 0 {
		return nil
	}
	for _, v := range values {
		for entry := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(entry))
			if err == nil && (mt == "text/event-stream" || mt == "text/*" || mt == "*/*") {
				return nil
			}
		}
	}
	return &apiError{Status: http.StatusNotAcceptable, Code: resource.EInvalid, Header: "Accept",
		Detail: "the event stream is served as text/event-stream only"}
}
