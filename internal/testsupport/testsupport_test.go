package testsupport

import (
	"strings"
	"sync"
	"testing"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "name": "name", "deviceId": "device_id", "lastSeenAt": "last_seen_at", "IMEI": "i_m_e_i",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSyncBuffer writes from many goroutines (run with -race): every
// write is kept whole.
func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, _ = b.Write([]byte("line\n"))
			_ = b.String()
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("line\n", 50) {
		t.Fatalf("buffer holds %q", got)
	}
}
