package storage

import "github.com/assetgate/assetgate/resource"

// DevicePageSQL returns the statement that ListDevices (withGroups:
// ListDevicesWithGroups) runs for q (the page with its count), with ? placeholders, and its arguments, so that
// tests can EXPLAIN it.
func DevicePageSQL(customerID string, q resource.DeviceQuery, withGroups bool) (string, []any, error) {
	order, err := orderBy(q.Sort, deviceSorts)
	if err != nil {
		return "", nil, err
	}
	c := deviceConds(customerID, q.Filter)
	query, args := deviceListSQL(deviceCount(customerID, q.Filter, c), c, order, q.Offset, q.Limit, withGroups)
	return query, args, nil
}

// IDAfter exposes idAfter to tests.
func IDAfter(prev string) (string, error) { return idAfter(prev) }
