package mqtt_test

import (
	"bufio"
	"context"
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

	"github.com/eclipse/paho.golang/paho"

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

// TestFigures measures, with 1,000 devices connected at once:
//
//   - heap per connected device, after a GC, with the devices connected
//     as bare MQTT 3.1.1 connections (the client side is a socket and a
//     small buffer, so the figure is the server's share), and again with
//     paho.golang MQTT 5 clients in this process (server and client
//     together: an upper bound of the server's share);
//   - QoS 1 events per second: every paho client publishes perDevice
//     events one after the other, each waiting for its PUBACK (sent only
//     after the group commit stored it), all clients at once;
//   - resource call round trip (JSON:API service call → MQTT 5 request →
//     device reply → answer), p50 and p99 of 200 sequential calls to one
//     paho device while the 999 others stay connected.
//
// Every device is checked connected in the broker and in the
// filter[connected] count before measuring. It runs only with
// ASSETGATE_MQTT_FIGURES=1 (a few minutes); set
// ASSETGATE_MQTT_FIGURES_BACKEND=postgres+redis for PostgreSQL and Redis
// (SQLite otherwise).
func TestFigures(t *testing.T) {
	if os.Getenv("ASSETGATE_MQTT_FIGURES") == "" {
		t.Skip("figures run with ASSETGATE_MQTT_FIGURES=1")
	}
	const n, perDevice = 1000, 10
	b := backends()[0]
	if os.Getenv("ASSETGATE_MQTT_FIGURES_BACKEND") == "postgres+redis" {
		b = backends()[2]
	}
	e := newEnv(t, b)
	t.Logf("backend %s, %d devices, GOMAXPROCS %d", b.name, n, runtime.GOMAXPROCS(0))
	devs := make([]struct{ id, token string }, n)
	for i := range devs {
		d := storagetest.NewDevice(e.tn.Customer.ID, time.Now())
		storagetest.MustCreateDevice(t, e.app.Stores.Devices, d)
		devs[i].id, devs[i].token = d.ID, e.deviceToken(d.ID, nil)
	}
	addr := e.app.MQTT.Addr()
	yes := true
	// allConnected waits until the broker holds want of the sessions and
	// filter[connected]=true counts want devices of the customer.
	allConnected := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			live := 0
			for _, d := range devs {
				if e.app.MQTT.Connected(d.id) {
					live++
				}
			}
			l, err := e.app.Devices.List(e.me, resource.ListQuery[resource.DeviceListFilter]{
				Filter: resource.DeviceListFilter{Connected: &yes}, Page: resource.Page{Size: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if live == want && l.Total == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d sessions in the broker, %d devices filter[connected]=true; want %d", live, l.Total, want)
			}
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}

	before := heap()
	raws := make([]*rawDevice, n)
	for i, d := range devs {
		raws[i] = dialRaw(t, addr, d.id, d.token)
	}
	allConnected(n)
	perRaw := (float64(heap()) - float64(before)) / n
	t.Logf("heap per connected device (bare 3.1.1 connections: the server's share), after GC: %.1f KB", perRaw/1024)
	for _, r := range raws {
		_ = r.conn.Close()
	}
	allConnected(0)

	before = heap()
	clients := make([]*client5, n)
	for i, d := range devs {
		clients[i] = mustDial5(t, addr, d.id, d.token)
	}
	allConnected(n)
	perPaho := (float64(heap()) - float64(before)) / n
	t.Logf("heap per connected device (paho.golang MQTT 5 clients in this process: server and client), after GC: %.1f KB", perPaho/1024)

	msg := temperature(21)
	start := time.Now()
	var wg sync.WaitGroup
	var acked, refused atomic.Int64
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perDevice {
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				pr, err := c.Publish(ctx, &paho.Publish{Topic: eventsTopic(devs[i].id), QoS: 1, Payload: msg})
				cancel()
				if err != nil || pr == nil || pr.ReasonCode >= 0x80 {
					refused.Add(1)
					return
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("QoS 1 events (paho, each acknowledged after its commit): %d acknowledged of %d from %d devices in %v: %.0f events/s (%d not acknowledged)",
		acked.Load(), n*perDevice, n, took.Round(time.Millisecond), float64(acked.Load())/took.Seconds(), refused.Load())
	if acked.Load() != n*perDevice {
		t.Errorf("%d of %d events acknowledged", acked.Load(), n*perDevice)
	}

	// Calls: one answering paho device in place of the first, beside the
	// 999 others.
	_ = clients[0].Disconnect(&paho.Disconnect{})
	startDevice(t, addr, devs[0].id, devs[0].token)
	waitAnnounced(t, e.app, e.me, devs[0].id)
	allConnected(n)
	var lat []time.Duration
	for range 200 {
		s := time.Now()
		if _, err := e.app.DeviceResources.Call(e.me, devs[0].id, "temperature", nil, 0); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(s))
	}
	slices.Sort(lat)
	t.Logf("resource call round trip with %d connected devices (200 sequential calls): p50 %v, p99 %v", n,
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond))
	var stored int
	if err := e.db.GetContext(t.Context(), &stored, `SELECT COUNT(*) FROM events`); err != nil {
		t.Fatal(err)
	}
	// Every acknowledged event is stored (an unacknowledged one may be
	// too: its commit can finish after the client gave up waiting).
	if int64(stored) < acked.Load() {
		t.Fatalf("%d events stored, but %d acknowledged", stored, acked.Load())
	}
}

func eventsTopic(id string) string { return "devices/" + id + "/events" }
