package resource

import (
	"context"
	"slices"
	"sync"
	"time"
)

// DeviceConnection is a device's MQTT connection state (Thinger.io's
// device stats), shared by every replica.
type DeviceConnection struct {
	CustomerID string `json:"customer_id"`
	DeviceID   string `json:"device_id"`
	Connected  bool   `json:"connected"`
	// ConnectedAt is when the current (or last) session began;
	// DisconnectedAt when the last one ended, nil while connected.
	ConnectedAt    *time.Time `json:"connected_at,omitempty"`
	DisconnectedAt *time.Time `json:"disconnected_at,omitempty"`
	// DisconnectReason: client, takeover, revoked, timeout or shutdown.
	DisconnectReason string `json:"disconnect_reason,omitempty"`
	RemoteAddress    string `json:"remote_address,omitempty"`
	// RxBytes and TxBytes are what the server received from and sent to
	// the device in the session.
	RxBytes int64 `json:"rx_bytes"`
	TxBytes int64 `json:"tx_bytes"`
	// LastPacketAt is when the device last sent a packet (a PINGREQ too).
	LastPacketAt *time.Time `json:"last_packet_at,omitempty"`
	// Replica and Session name the live session (calls and takeovers are
	// sent there).
	Replica string `json:"replica,omitempty"`
	Session string `json:"session,omitempty"`
	// Resources is what the device announced last.
	Resources []DeviceResource `json:"resources,omitempty"`
}

// ConnectionStore keeps device connection states: in Redis with one
// (storage.RedisConnectionStore), in process otherwise.
type ConnectionStore interface {
	// PutConnection stores c as the device's state.
	PutConnection(ctx context.Context, c *DeviceConnection) error
	// EndConnection stores c, a disconnected state, unless another
	// session of the device (not c.Session) began meanwhile.
	EndConnection(ctx context.Context, c *DeviceConnection) error
	// FindConnections returns the states of the customer's devices among
	// ids; a device that never connected has none.
	FindConnections(ctx context.Context, customerID string, ids []string) (map[string]*DeviceConnection, error)
	// ConnectedDevices returns the ids of the customer's connected
	// devices.
	ConnectedDevices(ctx context.Context, customerID string) ([]string, error)
}

// MemoryConnections is a ConnectionStore in process (one replica).
type MemoryConnections struct {
	mu sync.Mutex
	m  map[string]DeviceConnection
}

var _ ConnectionStore = (*MemoryConnections)(nil)

// NewMemoryConnections returns an empty MemoryConnections.
func NewMemoryConnections() *MemoryConnections {
	return &MemoryConnections{m: map[string]DeviceConnection{}}
}

// PutConnection implements ConnectionStore.
func (s *MemoryConnections) PutConnection(_ context.Context, c *DeviceConnection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[c.DeviceID] = *c
	return nil
}

// EndConnection implements ConnectionStore.
func (s *MemoryConnections) EndConnection(_ context.Context, c *DeviceConnection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[c.DeviceID]; ok && old.Session != c.Session {
		return nil
	}
	s.m[c.DeviceID] = *c
	return nil
}

// FindConnections implements ConnectionStore.
func (s *MemoryConnections) FindConnections(_ context.Context, customerID string, ids []string) (map[string]*DeviceConnection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*DeviceConnection{}
	for _, id := range ids {
		if c, ok := s.m[id]; ok && c.CustomerID == customerID {
			c.Resources = slices.Clone(c.Resources)
			out[id] = &c
		}
	}
	return out, nil
}

// ConnectedDevices implements ConnectionStore.
func (s *MemoryConnections) ConnectedDevices(_ context.Context, customerID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, c := range s.m {
		if c.CustomerID == customerID && c.Connected {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ConnectionMirror keeps, in the database, whether each device is
// connected, since when and on which replica (storage.ConnectionMirror),
// so that device lists filter on it in SQL with the other filters and the
// count. The MQTT listener writes it on connect and disconnect, and renews
// its replica's lease; a device whose row names a replica without a
// running lease reads disconnected (a replica that died cannot end its
// sessions).
type ConnectionMirror interface {
	// MarkConnected records c, a session that began on c.Replica.
	MarkConnected(ctx context.Context, c *DeviceConnection) error
	// MarkDisconnected records the end of c's session, unless another
	// session of the device (not c.Session) began meanwhile.
	MarkDisconnected(ctx context.Context, c *DeviceConnection) error
	// RenewLease extends the replica's lease to until, and marks
	// disconnected the devices of replicas whose lease ran out before now
	// (at the end of their lease). lapsed reports that the replica's own
	// lease had run out (or never existed): its live sessions must be
	// marked connected again.
	RenewLease(ctx context.Context, replica string, until, now time.Time) (lapsed bool, err error)
	// ReleaseLease ends the replica's lease, marking its devices that are
	// still connected disconnected at now.
	ReleaseLease(ctx context.Context, replica string, now time.Time) error
	// FindMirrored returns the mirrored states of the customer's devices
	// among ids (none for a device that never connected), with the lease
	// rule applied at now.
	FindMirrored(ctx context.Context, customerID string, ids []string, now time.Time) (map[string]*MirroredConnection, error)
}

// MirroredConnection is a device's row of the ConnectionMirror, read at
// some time: Connected only while the session's replica holds its lease.
type MirroredConnection struct {
	Connected      bool
	ConnectedAt    time.Time
	DisconnectedAt *time.Time
}

// DeviceConnectionState is what the APIs show of a device's MQTT
// connection (device attributes, GET /devices/{id}/stats): zero values for
// a device that never connected.
type DeviceConnectionState struct {
	Connected      bool
	ConnectedAt    *time.Time
	DisconnectedAt *time.Time
	RemoteAddress  string
	RxBytes        int64
	TxBytes        int64
	// LastPacketAt is when the device last sent an MQTT packet.
	LastPacketAt *time.Time
}

// LastSeenAt is the PING-style "last seen": the later of the device's last
// event and its last MQTT packet, nil when it has neither.
func LastSeenAt(lastEventAt, lastPacketAt *time.Time) *time.Time {
	if lastPacketAt != nil && (lastEventAt == nil || lastPacketAt.After(*lastEventAt)) {
		return lastPacketAt
	}
	return lastEventAt
}

// ConnectionReader reads the connection states the APIs show, in two
// batch reads whatever the number of devices: the connection store (one
// Redis pipeline) for the session's address, bytes and last packet, and
// the mirror (one statement) for connected, connected_at and
// disconnected_at, so that the attributes and filter[connected] agree by
// construction (the same lease rule decides both). A nil reader, or one
// without a store, reads every device as never connected.
type ConnectionReader struct {
	Store ConnectionStore
	// Mirror, when set, decides connected, connected_at and
	// disconnected_at; without one the store does.
	Mirror ConnectionMirror
	Now    func() time.Time
}

// States returns the states of the customer's devices among ids; a device
// that never connected has none. With a mirror, the store is asked only
// about the devices the mirror has a row of (a device that never connected
// costs no Redis command).
func (r *ConnectionReader) States(ctx context.Context, customerID string, ids []string) (map[string]*DeviceConnectionState, error) {
	out := map[string]*DeviceConnectionState{}
	if r == nil || r.Store == nil || len(ids) == 0 {
		return out, nil
	}
	var ms map[string]*MirroredConnection
	if r.Mirror != nil {
		var err error
		if ms, err = r.Mirror.FindMirrored(ctx, customerID, ids, nowUTC(r.Now)); err != nil {
			return nil, err
		}
		ids = make([]string, 0, len(ms))
		for id := range ms {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return out, nil
		}
		slices.Sort(ids)
	}
	cs, err := r.Store.FindConnections(ctx, customerID, ids)
	if err != nil {
		return nil, err
	}
	for id, c := range cs {
		out[id] = &DeviceConnectionState{Connected: c.Connected, ConnectedAt: c.ConnectedAt, DisconnectedAt: c.DisconnectedAt,
			RemoteAddress: c.RemoteAddress, RxBytes: c.RxBytes, TxBytes: c.TxBytes, LastPacketAt: c.LastPacketAt}
	}
	if r.Mirror == nil {
		return out, nil
	}
	// The mirror decides connected, connected_at and disconnected_at (the
	// filter's rule); a state it has no row of is not shown.
	for id := range out {
		if ms[id] == nil {
			delete(out, id)
		}
	}
	for id, m := range ms {
		st := out[id]
		if st == nil {
			st = &DeviceConnectionState{}
			out[id] = st
		}
		at := m.ConnectedAt
		st.Connected, st.ConnectedAt, st.DisconnectedAt = m.Connected, &at, m.DisconnectedAt
	}
	return out, nil
}

// withConnections sets the connection state of each device (one batch
// read for all of them).
func (r *ConnectionReader) withConnections(ctx context.Context, customerID string, devices ...*Device) error {
	if r == nil || r.Store == nil || len(devices) == 0 {
		return nil
	}
	ids := make([]string, len(devices))
	for i, d := range devices {
		ids[i] = d.ID
	}
	sts, err := r.States(ctx, customerID, ids)
	if err != nil {
		return err
	}
	for _, d := range devices {
		if st := sts[d.ID]; st != nil {
			d.Connection = *st
		} else {
			d.Connection = DeviceConnectionState{}
		}
	}
	return nil
}
