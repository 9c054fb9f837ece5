package storage

import "github.com/assetgate/assetgate/resource"

// DevicePageSQL returns the page query that ListDevices runs for q, with ?
// placeholders, and its arguments, so that tests can EXPLAIN it.
func DevicePageSQL(customerID string, q resource.DeviceQuery) (string, []any, error) {
	order, err := orderBy(q.Sort, deviceSorts)
	if err != nil {
		return "", nil, err
	}
	query, args := pageSQL(`SELECT `+deviceColumns+` FROM devices`, deviceConds(customerID, q.Filter), order, q.Offset, q.Limit)
	return query, args, nil
}

// IDAfter exposes idAfter to tests.
func IDAfter(prev string) (string, error) { return idAfter(prev) }
