package mqtt_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// rawDevice is a minimal MQTT 3.1.1 client: just a connection, so that
// the heap measured around many of them is mostly the server's.
type rawDevice struct {
	id   string
	conn net.Conn
	r    *bufio.Reader
}

func mqttString(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func packet(typ byte, body []byte) []byte {
	out := []byte{typ}
	n := len(body)
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			break
		}
	}
	return append(out, body...)
}

func dialRaw(tb testing.TB, addr, id, token string) *rawDevice {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	body := append(mqttString("MQTT"), 4, 0xC2, 0, 120)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(id)...)
	body = append(body, mqttString(token)...)
	if _, err := conn.Write(packet(0x10, body)); err != nil {
		tb.Fatal(err)
	}
	d := &rawDevice{id: id, conn: conn, r: bufio.NewReaderSize(conn, 64)}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(d.r, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		tb.Fatalf("CONNACK %x: %v", ack, err)
	}
	return d
}

// publish1 sends a QoS 1 PUBLISH and waits up to 20 s for its PUBACK;
// false when none came (the server did not store it: a 3.1.1 client
// would send it again).
func (d *rawDevice) publish1(topic string, id uint16, payload []byte) bool {
	body := append(mqttString(topic), byte(id>>8), byte(id))
	body = append(body, payload...)
	if _, err := d.conn.Write(packet(0x32, body)); err != nil {
		return false
	}
	_ = d.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	ack := make([]byte, 4)
	_, err := io.ReadFull(d.r, ack)
	return err == nil && ack[0] == 0x40
}

// TestFigures measures, with 1,000 connected devices: heap per connected
// device, QoS 1 events per second, and the round trip of resource calls.
// It runs only with ASSETGATE_MQTT_FIGURES=1 (it takes a minute).
func TestFigures(t *testing.T) {
	if os.Getenv("ASSETGATE_MQTT_FIGURES") == "" {
		t.Skip("figures run with ASSETGATE_MQTT_FIGURES=1")
	}
	const n, perDevice = 1000, 10
	e := newEnv(t, backends()[0])
	if os.Getenv("ASSETGATE_MQTT_FIGURES_BACKEND") == "postgres+redis" {
		e = newEnv(t, backends()[2])
	}
	devs := make([]struct{ id, token string }, n)
	for i := range devs {
		d := storagetest.NewDevice(e.tn.Customer.ID, time.Now())
		storagetest.MustCreateDevice(t, e.app.Stores.Devices, d)
		devs[i].id, devs[i].token = d.ID, e.deviceToken(d.ID, nil)
	}
	addr := e.app.MQTT.Addr()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]*rawDevice, n)
	for i, d := range devs {
		conns[i] = dialRaw(t, addr, d.id, d.token)
	}
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("heap per connected device (server and a bare client connection): %.1f KB", perConn/1024)

	msg := temperature(21)
	start := time.Now()
	var wg sync.WaitGroup
	var acked atomic.Int64
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perDevice {
				if !c.publish1(eventsTopic(c.id), uint16(j+1), msg) {
					return
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("QoS 1 events: %d acknowledged of %d from %d devices in %v: %.0f events/s", acked.Load(), n*perDevice, n,
		took.Round(time.Millisecond), float64(acked.Load())/took.Seconds())

	// Calls: one answering device (paho) beside the 999 others.
	_ = conns[0].conn.Close()
	startDevice(t, addr, devs[0].id, devs[0].token)
	waitAnnounced(t, e.app, e.me, devs[0].id)
	var lat []time.Duration
	_ = conns[1:]
	for range 200 {
		s := time.Now()
		if _, err := e.app.DeviceResources.Call(e.me, devs[0].id, "temperature", nil, 0); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(s))
	}
	slices.Sort(lat)
	t.Logf("resource call round trip with %d connected devices: p50 %v, p99 %v", n, lat[len(lat)/2].Round(time.Microsecond),
		lat[len(lat)*99/100].Round(time.Microsecond))
	var stored int
	if err := e.db.GetContext(t.Context(), &stored, `SELECT COUNT(*) FROM events`); err != nil {
		t.Fatal(err)
	}
	// Every acknowledged event is stored (an unacknowledged one may be
	// too: its commit can finish after the client gave up waiting).
	if int64(stored) < acked.Load() {
		t.Fatalf("%d events stored, but %d acknowledged", stored, acked.Load())
	}
	_ = resource.MaxCallTimeout
}

func eventsTopic(id string) string { return "devices/" + id + "/events" }
