package resource

import (
	"context"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// DeviceGroup is a named set of a customer's devices that share one
// published configuration.
type DeviceGroup struct {
	ID         string
	CustomerID string
	Name       string
	// ConfigurationID is the group's published configuration, or "".
	ConfigurationID string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// DeviceGroupFilter is a checked device group filter; zero fields do not
// filter.
type DeviceGroupFilter struct {
	// Search keeps groups whose name contains it (lower-case already),
	// compared in lower case.
	Search string
	// Names keeps groups with one of these exact names.
	Names []string
}

// DeviceGroupQuery is a checked list query as a DeviceGroupStore runs it.
type DeviceGroupQuery struct {
	Filter DeviceGroupFilter
	Sort   []SortField
	Offset int
	Limit  int
}

// DeviceGroupStore persists device groups, confined to one customer per
// call.
type DeviceGroupStore interface {
	// CreateDeviceGroup inserts g; ENotFound (Field "configuration") when
	// its configuration does not exist.
	CreateDeviceGroup(ctx context.Context, g *DeviceGroup) error
	// FindDeviceGroup returns a group of the customer, or ENotFound.
	FindDeviceGroup(ctx context.Context, customerID, id string) (*DeviceGroup, error)
	// FindDeviceGroups returns the customer's groups among ids, ordered by
	// id; unknown ids are left out.
	FindDeviceGroups(ctx context.Context, customerID string, ids []string) ([]*DeviceGroup, error)
	// ListDeviceGroups returns the page of the customer's groups that q
	// selects and how many match in all.
	ListDeviceGroups(ctx context.Context, customerID string, q DeviceGroupQuery) ([]*DeviceGroup, int, error)
	// UpdateDeviceGroup writes the name, configuration and update time of
	// g. ENotFound; ENotFound (Field "configuration") when its
	// configuration does not exist.
	UpdateDeviceGroup(ctx context.Context, g *DeviceGroup) error
	// DeleteDeviceGroup removes a group of the customer; its devices are
	// left in no group. ENotFound.
	DeleteDeviceGroup(ctx context.Context, customerID, id string) error
}

// Device group filter names and include paths.
const (
	GroupFilterSearch = "search"
	GroupFilterName   = "name"

	IncludeConfiguration = "configuration"
)

// Device group sort fields.
const (
	GroupSortName      = "name"
	GroupSortCreatedAt = "created_at"
)

var groupSpec = QuerySpec{
	Filters:     []string{GroupFilterSearch, GroupFilterName},
	Sorts:       []string{GroupSortName, GroupSortCreatedAt},
	Includes:    []string{IncludeConfiguration},
	DefaultSort: []SortField{{Field: GroupSortCreatedAt}},
}

// DeviceGroupQuerySpec returns the filters, sorts and include paths that
// device group lists accept.
func DeviceGroupQuerySpec() QuerySpec { return groupSpec.clone() }

// DeviceGroupList is a page of device groups.
type DeviceGroupList struct {
	Groups   []*DeviceGroup
	Total    int
	Page     Page
	Included Included
}

// DeviceGroupInput is what a caller gives to create a group.
type DeviceGroupInput struct {
	Name string
	// ConfigurationID assigns a published configuration; "" for none.
	ConfigurationID string
}

// DeviceGroupPatch changes some fields of a group; null clears the
// configuration, the name cannot be null.
type DeviceGroupPatch struct {
	Name            Optional[string]
	ConfigurationID Optional[string]
}

// DeviceGroupService holds the rules for device groups.
type DeviceGroupService struct {
	Store          DeviceGroupStore
	Configurations ConfigurationStore
	// Devices serves ListDevices.
	Devices *DeviceService
	Now     func() time.Time
}

// DeviceGroupListFilter is the filter of a device group list as a client
// gives it, typed; nil fields do not filter.
type DeviceGroupListFilter struct {
	// Search keeps groups whose name contains it, case-insensitively.
	Search *string
	// Name keeps groups with one of these exact names (items are trimmed,
	// empty ones dropped); a list left empty is refused.
	Name []string
}

// Validate checks f and returns it as stores apply it. EInvalid pointing
// at the filter's path ("filter.name").
func (f DeviceGroupListFilter) Validate() (DeviceGroupFilter, error) {
	var out DeviceGroupFilter
	if err := checkTextFilter(GroupFilterSearch, f.Search); err != nil {
		return out, err
	}
	if err := checkListFilter(GroupFilterName, f.Name); err != nil {
		return out, err
	}
	if f.Search != nil {
		out.Search = strings.ToLower(strings.TrimSpace(*f.Search))
	}
	if f.Name != nil {
		if out.Names = cleanList(f.Name); len(out.Names) == 0 {
			return out, Invalidf(filterPath(GroupFilterName), "filter[name] must list at least one name")
		}
	}
	return out, nil
}

// List returns a page of the principal's customer's groups. EInvalid for a
// malformed filter, an unknown sort field or include path, or a bad page;
// EUnauthenticated, EForbidden.
func (s *DeviceGroupService) List(ctx context.Context, q ListQuery[DeviceGroupListFilter]) (*DeviceGroupList, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	c, err := groupSpec.check(q.Sort, q.Page, q.Include)
	if err != nil {
		return nil, err
	}
	f, err := q.Filter.Validate()
	if err != nil {
		return nil, err
	}
	groups, total, err := s.Store.ListDeviceGroups(ctx, p.CustomerID, DeviceGroupQuery{
		Filter: f, Sort: c.sort, Offset: c.page.Offset(), Limit: c.page.Size,
	})
	if err != nil {
		return nil, err
	}
	list := &DeviceGroupList{Groups: groups, Total: total, Page: c.page}
	if len(q.Include) > 0 {
		if list.Included.Configurations, err = groupConfigurations(ctx, s.Configurations, p.CustomerID, groups); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// Find returns a group of the principal's customer. ENotFound,
// EUnauthenticated, EForbidden.
func (s *DeviceGroupService) Find(ctx context.Context, id string) (*DeviceGroup, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	return s.find(ctx, p.CustomerID, id)
}

// FindMany returns the principal's customer's groups among ids, for data
// loaders; unknown ids are left out. EUnauthenticated, EForbidden.
func (s *DeviceGroupService) FindMany(ctx context.Context, ids []string) ([]*DeviceGroup, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	valid := validIDs(ids)
	if len(valid) == 0 {
		return []*DeviceGroup{}, nil
	}
	return s.Store.FindDeviceGroups(ctx, p.CustomerID, valid)
}

func (s *DeviceGroupService) find(ctx context.Context, customerID, id string) (*DeviceGroup, error) {
	if !ValidID(id) {
		return nil, Errorf(ENotFound, "device group %q not found", id)
	}
	return s.Store.FindDeviceGroup(ctx, customerID, id)
}

// Include returns the resources that the include paths name for groups.
// EInvalid for an unknown path; EUnauthenticated, EForbidden.
func (s *DeviceGroupService) Include(ctx context.Context, groups []*DeviceGroup, include []string) (*Included, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	if err := groupSpec.checkInclude(include); err != nil {
		return nil, err
	}
	inc := &Included{}
	if len(include) > 0 {
		if inc.Configurations, err = groupConfigurations(ctx, s.Configurations, p.CustomerID, groups); err != nil {
			return nil, err
		}
	}
	return inc, nil
}

// Configuration returns the configuration assigned to a group, or nil when
// there is none. ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceGroupService) Configuration(ctx context.Context, groupID string) (*Configuration, error) {
	g, err := s.Find(ctx, groupID)
	if err != nil || g.ConfigurationID == "" {
		return nil, err
	}
	return s.Configurations.FindConfiguration(ctx, g.CustomerID, g.ConfigurationID)
}

// ListDevices returns a page of the devices of a group; q must not filter
// by group itself. ENotFound for the group; EInvalid as for
// DeviceService.List; EUnauthenticated, EForbidden (it needs both group and
// device read access).
func (s *DeviceGroupService) ListDevices(ctx context.Context, groupID string, q ListQuery[DeviceListFilter]) (*DeviceList, error) {
	if _, err := s.Find(ctx, groupID); err != nil {
		return nil, err
	}
	if q.Filter.Group != nil {
		return nil, Invalidf(filterPath(DeviceFilterGroup), "the devices of a group cannot be filtered by group")
	}
	q.Filter.Group = &groupID
	return s.Devices.List(ctx, q)
}

// Create adds a group to the principal's customer. EInvalid for a bad name
// or a draft configuration; ENotFound (Field "configuration") for an
// unknown configuration; EUnauthenticated, EForbidden.
func (s *DeviceGroupService) Create(ctx context.Context, in DeviceGroupInput) (*DeviceGroup, error) {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return nil, err
	}
	var bad invalids
	name, err := normalizeName("name", in.Name)
	_ = bad.add(err)
	if err := bad.add(s.checkConfiguration(ctx, p.CustomerID, in.ConfigurationID)); err != nil {
		return nil, err
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	now := nowUTC(s.Now)
	g := &DeviceGroup{ID: NewID(), CustomerID: p.CustomerID, Name: name, ConfigurationID: in.ConfigurationID, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateDeviceGroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// Update changes the fields of a group that patch sets. ENotFound,
// EInvalid as for Create; EUnauthenticated, EForbidden.
func (s *DeviceGroupService) Update(ctx context.Context, id string, patch DeviceGroupPatch) (*DeviceGroup, error) {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return nil, err
	}
	g, err := s.find(ctx, p.CustomerID, id)
	if err != nil {
		return nil, err
	}
	var bad invalids
	if v, ok, err := nonNull(patch.Name, "name"); err != nil {
		_ = bad.add(err)
	} else if ok {
		g.Name, err = normalizeName("name", v)
		_ = bad.add(err)
	}
	if patch.ConfigurationID.Set {
		g.ConfigurationID = patch.ConfigurationID.Value
		if patch.ConfigurationID.Null {
			g.ConfigurationID = ""
		}
		if err := bad.add(s.checkConfiguration(ctx, p.CustomerID, g.ConfigurationID)); err != nil {
			return nil, err
		}
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	g.UpdatedAt = nowUTC(s.Now)
	if err := s.Store.UpdateDeviceGroup(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// AssignConfiguration assigns a published configuration of the same
// customer to a group, or unassigns it when configurationID is "" (PATCH
// /device-groups/{id}/relationships/configuration). EInvalid (Field
// "configuration") for a draft; ENotFound for the group, or with Field
// "configuration" for the configuration; EUnauthenticated, EForbidden.
func (s *DeviceGroupService) AssignConfiguration(ctx context.Context, groupID, configurationID string) (*DeviceGroup, error) {
	patch := DeviceGroupPatch{ConfigurationID: Null[string]()}
	if configurationID != "" {
		patch.ConfigurationID = Some(configurationID)
	}
	return s.Update(ctx, groupID, patch)
}

// Delete removes a group of the principal's customer; its devices are left
// in no group. ENotFound, EUnauthenticated, EForbidden.
func (s *DeviceGroupService) Delete(ctx context.Context, id string) error {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return err
	}
	if !ValidID(id) {
		return Errorf(ENotFound, "device group %q not found", id)
	}
	return s.Store.DeleteDeviceGroup(ctx, p.CustomerID, id)
}

// checkConfiguration checks that id ("" for none) names a published
// configuration of the customer: ENotFound or EInvalid, both with Field
// "configuration".
func (s *DeviceGroupService) checkConfiguration(ctx context.Context, customerID, id string) error {
	if id == "" {
		return nil
	}
	notFound := &Error{Code: ENotFound, Field: "configuration", Message: "configuration not found"}
	if !ValidID(id) {
		return notFound
	}
	c, err := s.Configurations.FindConfiguration(ctx, customerID, id)
	if ErrorCode(err) == ENotFound {
		return notFound
	} else if err != nil {
		return err
	}
	if c.State != ConfigurationPublished {
		return Invalidf("configuration", "only a published configuration can be assigned; %q is a draft", id)
	}
	return nil
}

// groupConfigurations loads the configurations of groups, each once.
func groupConfigurations(ctx context.Context, store ConfigurationStore, customerID string, groups []*DeviceGroup) ([]*Configuration, error) {
	var ids []string
	seen := map[string]bool{}
	for _, g := range groups {
		if g.ConfigurationID != "" && !seen[g.ConfigurationID] {
			seen[g.ConfigurationID] = true
			ids = append(ids, g.ConfigurationID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return store.FindConfigurations(ctx, customerID, ids)
}
