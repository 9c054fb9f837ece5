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
			m.In = model.JSON(res.In)
		}
		out.Resources = append(out.Resources, m)
	}
	return out
}

// jsonOf is the JSON of a JSON scalar's value; nil for null or none.
func jsonOf(v model.JSON) (json.RawMessage, error) {
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	return json.RawMessage(v), nil
}

// callPayload presents the answer of a call.
func callPayload(out json.RawMessage, call *resource.ResourceCall) (*model.CallDeviceResourcePayload, error) {
	p := &model.CallDeviceResourcePayload{CallID: call.ID, DurationMs: float64(call.Duration.Microseconds()) / 1000}
	if out != nil {
		p.Out = model.JSON(out)
	}
	return p, nil
}
