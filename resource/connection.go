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
