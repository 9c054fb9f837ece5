package resource

import (
	"context"
	"strings"
	"time"

	"github.com/assetgate/assetgate/scopes"
)

// ConfigurationState is the state of a configuration: a draft may change;
// publishing is one-way and makes the configuration read-only and
// assignable to groups. Its value is the one the APIs and the database
// show.
type ConfigurationState string

// Configuration states.
const (
	ConfigurationDraft     ConfigurationState = "draft"
	ConfigurationPublished ConfigurationState = "published"
)

// Configuration is a named set of device settings of a customer.
type Configuration struct {
	ID         string
	CustomerID string
	Name       string
	State      ConfigurationState
	Settings   Settings
	// PublishedAt is when the configuration was published; nil for drafts.
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ConfigurationFilter is a checked configuration filter; zero fields do not
// filter.
type ConfigurationFilter struct {
	// Search keeps configurations whose name contains it (lower-case
	// already), compared in lower case.
	Search string
	// Names keeps configurations with one of these exact names.
	Names []string
	// State keeps configurations in this state.
	State ConfigurationState
}

// ConfigurationQuery is a checked list query as a ConfigurationStore runs
// it.
type ConfigurationQuery struct {
	Filter ConfigurationFilter
	Sort   []SortField
	Offset int
	Limit  int
}

// ConfigurationStore persists configurations, confined to one customer per
// call. Writes take the state the stored configuration must still be in, so
// that a concurrent publish cannot be overwritten.
type ConfigurationStore interface {
	// CreateConfiguration inserts c.
	CreateConfiguration(ctx context.Context, c *Configuration) error
	// FindConfiguration returns a configuration of the customer, or
	// ENotFound.
	FindConfiguration(ctx context.Context, customerID, id string) (*Configuration, error)
	// FindConfigurations returns the customer's configurations among ids,
	// ordered by id; unknown ids are left out.
	FindConfigurations(ctx context.Context, customerID string, ids []string) ([]*Configuration, error)
	// ListConfigurations returns the page of the customer's configurations
	// that q selects and how many match in all.
	ListConfigurations(ctx context.Context, customerID string, q ConfigurationQuery) ([]*Configuration, int, error)
	// UpdateConfiguration writes the name, state, settings, publication and
	// update times of c if the stored configuration is in state ifState.
	// ENotFound; EConflict when it is in another state.
	UpdateConfiguration(ctx context.Context, c *Configuration, ifState ConfigurationState) error
	// DeleteConfiguration removes a configuration of the customer if it is
	// in state ifState. ENotFound; EConflict when it is in another state or
	// a device group uses it.
	DeleteConfiguration(ctx context.Context, customerID, id string, ifState ConfigurationState) error
}

// Configuration filter names.
const (
	ConfigurationFilterSearch = "search"
	ConfigurationFilterName   = "name"
	ConfigurationFilterState  = "state"
)

// Configuration sort fields.
const (
	ConfigurationSortName        = "name"
	ConfigurationSortCreatedAt   = "created_at"
	ConfigurationSortPublishedAt = "published_at"
)

var configurationSpec = QuerySpec{
	Filters:     []string{ConfigurationFilterSearch, ConfigurationFilterName, ConfigurationFilterState},
	Sorts:       []string{ConfigurationSortName, ConfigurationSortCreatedAt, ConfigurationSortPublishedAt},
	DefaultSort: []SortField{{Field: ConfigurationSortCreatedAt}},
}

// ConfigurationQuerySpec returns the filters and sorts that configuration
// lists accept.
func ConfigurationQuerySpec() QuerySpec { return configurationSpec.clone() }

// ConfigurationList is a page of configurations.
type ConfigurationList struct {
	Configurations []*Configuration
	Total          int
	Page           Page
}

// ConfigurationInput is what a caller gives to create a configuration (a
// draft).
type ConfigurationInput struct {
	Name     string
	Settings Settings
}

// ConfigurationPatch changes some fields of a draft. Settings are a JSON
// merge patch (RFC 7396) of the draft's settings: a key the patch leaves
// out keeps its value, a null key removes that setting (back to the
// device's default), a value sets it; null settings clear every setting.
// The name cannot be null.
type ConfigurationPatch struct {
	Name     Optional[string]
	Settings Optional[SettingsPatch]
}

// ConfigurationService holds the rules for configurations and their
// draft/published lifecycle.
type ConfigurationService struct {
	Store ConfigurationStore
	Now   func() time.Time
}

// ConfigurationListFilter is the filter of a configuration list as a
// client gives it, typed; nil fields do not filter.
type ConfigurationListFilter struct {
	// Search keeps configurations whose name contains it,
	// case-insensitively.
	Search *string
	// Name keeps configurations with one of these exact names (items are
	// trimmed, empty ones dropped); a list left empty is refused.
	Name []string
	// State is ConfigurationDraft or ConfigurationPublished.
	State *string
}

// Validate checks f and returns it as stores apply it. EInvalid pointing
// at the filter's path ("filter.state").
func (f ConfigurationListFilter) Validate() (ConfigurationFilter, error) {
	var out ConfigurationFilter
	if err := checkTextFilter(ConfigurationFilterSearch, f.Search); err != nil {
		return out, err
	}
	if err := checkListFilter(ConfigurationFilterName, f.Name); err != nil {
		return out, err
	}
	if f.Search != nil {
		out.Search = strings.ToLower(strings.TrimSpace(*f.Search))
	}
	if f.Name != nil {
		if out.Names = cleanList(f.Name); len(out.Names) == 0 {
			return out, Invalidf(filterPath(ConfigurationFilterName), "filter[name] must list at least one name")
		}
	}
	if f.State != nil {
		if v := ConfigurationState(*f.State); v != ConfigurationDraft && v != ConfigurationPublished {
			return out, Invalidf(filterPath(ConfigurationFilterState), "filter[state] must be %s or %s", ConfigurationDraft, ConfigurationPublished)
		}
		out.State = ConfigurationState(*f.State)
	}
	return out, nil
}

// List returns a page of the principal's customer's configurations.
// EInvalid for a malformed filter, an unknown sort field or a bad page;
// EUnauthenticated, EForbidden.
func (s *ConfigurationService) List(ctx context.Context, q ListQuery[ConfigurationListFilter]) (*ConfigurationList, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	c, err := configurationSpec.check(q.Sort, q.Page, q.Include)
	if err != nil {
		return nil, err
	}
	f, err := q.Filter.Validate()
	if err != nil {
		return nil, err
	}
	items, total, err := s.Store.ListConfigurations(ctx, p.CustomerID, ConfigurationQuery{
		Filter: f, Sort: c.sort, Offset: c.page.Offset(), Limit: c.page.Size,
	})
	if err != nil {
		return nil, err
	}
	return &ConfigurationList{Configurations: items, Total: total, Page: c.page}, nil
}

// Find returns a configuration of the principal's customer. ENotFound,
// EUnauthenticated, EForbidden.
func (s *ConfigurationService) Find(ctx context.Context, id string) (*Configuration, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	return s.find(ctx, p.CustomerID, id)
}

// FindMany returns the principal's customer's configurations among ids, for
// data loaders; unknown ids are left out. EUnauthenticated, EForbidden.
func (s *ConfigurationService) FindMany(ctx context.Context, ids []string) ([]*Configuration, error) {
	p, err := authorize(ctx, scopes.OpGroupsRead)
	if err != nil {
		return nil, err
	}
	valid := validIDs(ids)
	if len(valid) == 0 {
		return []*Configuration{}, nil
	}
	return s.Store.FindConfigurations(ctx, p.CustomerID, valid)
}

func (s *ConfigurationService) find(ctx context.Context, customerID, id string) (*Configuration, error) {
	if !ValidID(id) {
		return nil, Errorf(ENotFound, "configuration %q not found", id)
	}
	return s.Store.FindConfiguration(ctx, customerID, id)
}

// Create adds a draft configuration to the principal's customer. EInvalid
// for a bad name or settings (Errors for several); EUnauthenticated,
// EForbidden.
func (s *ConfigurationService) Create(ctx context.Context, in ConfigurationInput) (*Configuration, error) {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return nil, err
	}
	var bad invalids
	name, err := normalizeName("name", in.Name)
	_ = bad.add(err)
	_ = bad.add(in.Settings.Validate())
	if err := bad.err(); err != nil {
		return nil, err
	}
	now := nowUTC(s.Now)
	c := &Configuration{ID: NewID(), CustomerID: p.CustomerID, Name: name, State: ConfigurationDraft,
		Settings: in.Settings, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateConfiguration(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Update changes the fields of a draft that patch sets, merging its
// settings into the draft's (see ConfigurationPatch). ENotFound;
// EConflict for a published configuration; EInvalid for a bad name or
// settings; EUnauthenticated, EForbidden.
func (s *ConfigurationService) Update(ctx context.Context, id string, patch ConfigurationPatch) (*Configuration, error) {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return nil, err
	}
	c, err := s.find(ctx, p.CustomerID, id)
	if err != nil {
		return nil, err
	}
	if c.State != ConfigurationDraft {
		return nil, errPublished(id)
	}
	var bad invalids
	if v, ok, err := nonNull(patch.Name, "name"); err != nil {
		_ = bad.add(err)
	} else if ok {
		c.Name, err = normalizeName("name", v)
		_ = bad.add(err)
	}
	if patch.Settings.Set {
		c.Settings = patch.Settings.Value.Apply(c.Settings)
		if patch.Settings.Null {
			c.Settings = Settings{}
		}
		_ = bad.add(c.Settings.Validate())
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	c.UpdatedAt = nowUTC(s.Now)
	if err := s.Store.UpdateConfiguration(ctx, c, ConfigurationDraft); err != nil {
		return nil, err
	}
	return c, nil
}

// Publish makes a draft read-only and assignable; there is no way back.
// ENotFound; EConflict when it is published already; EUnauthenticated,
// EForbidden.
func (s *ConfigurationService) Publish(ctx context.Context, id string) (*Configuration, error) {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return nil, err
	}
	c, err := s.find(ctx, p.CustomerID, id)
	if err != nil {
		return nil, err
	}
	if c.State != ConfigurationDraft {
		return nil, Errorf(EConflict, "configuration %q is published already", id)
	}
	now := nowUTC(s.Now)
	c.State, c.PublishedAt, c.UpdatedAt = ConfigurationPublished, &now, now
	if err := s.Store.UpdateConfiguration(ctx, c, ConfigurationDraft); err != nil {
		return nil, err
	}
	return c, nil
}

// Delete removes a draft. ENotFound; EConflict for a published
// configuration or one a group uses; EUnauthenticated, EForbidden.
func (s *ConfigurationService) Delete(ctx context.Context, id string) error {
	p, err := authorize(ctx, scopes.OpGroupsWrite)
	if err != nil {
		return err
	}
	c, err := s.find(ctx, p.CustomerID, id)
	if err != nil {
		return err
	}
	if c.State != ConfigurationDraft {
		return errPublished(id)
	}
	return s.Store.DeleteConfiguration(ctx, p.CustomerID, id, ConfigurationDraft)
}

func errPublished(id string) error {
	return Errorf(EConflict, "configuration %q is published and read-only", id)
}
