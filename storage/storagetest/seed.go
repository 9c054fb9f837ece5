package storagetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
)

// SeedDevices gives an existing customer 100 device groups and n devices in
// one transaction, for benchmarks: about 10% with a fault, 95% with a last
// event in the 30 days before now, positions spread over Germany, made from
// seed so runs compare. It then refreshes the planner's statistics.
func SeedDevices(ctx context.Context, db *storage.DB, customerID string, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	now := time.Now().UTC().Truncate(time.Microsecond)
	const cols, batch = 12, 500
	err := db.WithTx(ctx, func(tx *storage.Tx) error {
		groups := make([]string, 100)
		for i := range groups {
			groups[i] = resource.NewID()
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO device_groups (id, customer_id, name, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?)`), groups[i], customerID, fmt.Sprintf("Group %02d", i), now, now); err != nil {
				return err
			}
		}
		for start := 0; start < n; start += batch {
			end := min(start+batch, n)
			var sb strings.Builder
			sb.WriteString(`INSERT INTO devices (id, customer_id, group_id, name, imei, mac, latitude, longitude, fault,
				last_event_at, created_at, updated_at) VALUES `)
			args := make([]any, 0, (end-start)*cols)
			for i := start; i < end; i++ {
				if i > start {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				var last any
				if rng.IntN(20) != 0 {
					last = now.Add(-time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
				}
				created := now.Add(time.Duration(i-n) * time.Second)
				args = append(args, resource.NewID(), customerID, groups[i%len(groups)], fmt.Sprintf("Device %06d", i), IMEI(i),
					fmt.Sprintf("02:00:00:%02X:%02X:%02X", i>>16&0xff, i>>8&0xff, i&0xff),
					47+rng.Float64()*8, 6+rng.Float64()*9, rng.IntN(10) == 0, last, created, created)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(sb.String()), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed %d devices: %w", n, err)
	}
	_, err = db.ExecContext(ctx, `ANALYZE`)
	return err
}

// IMEI returns a valid IMEI (with its Luhn check digit) made from i.
func IMEI(i int) string {
	body := fmt.Sprintf("35%012d", i)
	sum := 0
	for k := range 14 {
		d := int(body[13-k] - '0')
		if k%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + string(rune('0'+(10-sum%10)%10))
}
