package graph

import (
	"encoding/json"
	"strings"

	"github.com/assetgate/assetgate/graph/model"
	"github.com/assetgate/assetgate/resource"
)

// deviceResources presents what a device announced.
func deviceResources(rs *resource.DeviceResources) *model.DeviceResources {
	out := &model.DeviceResources{Connected: rs.Connected, Resources: []*model.DeviceResource{}}
	for _, res := range rs.Resources {
		m := &model.DeviceResource{Name: res.Name, Kind: model.DeviceResourceKind(strings.ToUpper(string(res.Kind)))}
		if res.In != nil {
			var schema any
			if err := json.Unmarshal(res.In, &schema); err == nil {
				m.In = schema
			}
		}
		out.Resources = append(out.Resources, m)
	}
	return out
}

// jsonOf is the JSON of a JSON scalar's value; nil for null.
func jsonOf(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, resource.Invalidf("in", "in is not a JSON value")
	}
	return b, nil
}

// callPayload presents the answer of a call.
func callPayload(out json.RawMessage, call *resource.ResourceCall) (*model.CallDeviceResourcePayload, error) {
	p := &model.CallDeviceResourcePayload{CallID: call.ID, DurationMs: float64(call.Duration.Microseconds()) / 1000}
	if out != nil {
		if err := json.Unmarshal(out, &p.Out); err != nil {
			return nil, err
		}
	}
	return p, nil
}
