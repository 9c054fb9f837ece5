package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// ListDeviceTokensMany returns, in one query, the tokens of the customer's
// devices among deviceIDs that have not expired at now, ordered by device,
// then oldest first.
func (s *DeviceTokenStore) ListDeviceTokensMany(ctx context.Context, customerID string, deviceIDs []string, now time.Time) ([]*resource.DeviceToken, error) {
	if len(deviceIDs) == 0 {
		return []*resource.DeviceToken{}, nil
	}
	q, args, err := sqlx.In(`SELECT `+deviceTokenColumns+` FROM device_tokens
		WHERE customer_id = ? AND device_id IN (?) AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY device_id, created_at, id`, customerID, deviceIDs, dbTime(now))
	if err != nil {
		return nil, err
	}
	rows := []deviceTokenRow{}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list device tokens: %w", err)
	}
	out := make([]*resource.DeviceToken, len(rows))
	for i := range rows {
		out[i] = rows[i].deviceToken()
	}
	return out, nil
}
