package resource_test

import "github.com/assetgate/assetgate/resource"

// The list queries of the resources, as the tests write them.
type (
	deviceQuery = resource.ListQuery[resource.DeviceListFilter]
	groupQuery  = resource.ListQuery[resource.DeviceGroupListFilter]
	configQuery = resource.ListQuery[resource.ConfigurationListFilter]
	eventQuery  = resource.ListQuery[resource.EventListFilter]
	appQuery    = resource.ListQuery[resource.ApplicationListFilter]
)

// ref returns a pointer to v, for the optional fields of a filter.
func ref[T any](v T) *T { return &v }
