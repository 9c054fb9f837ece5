package graph_test

import (
	"strings"
	"testing"

	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage/storagetest"
)

// TestDeviceMutations creates, updates, regroups and deletes a device, and
// checks that absent and null input fields differ.
func TestDeviceMutations(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		imei := storagetest.NewIMEI()
		d := e.query(t, me, `mutation($in: CreateDeviceInput!) { createDevice(input: $in) { device { id name imei mac latitude longitude fault group { id } } } }`,
			map[string]any{"in": map[string]any{"name": " Pump 7 ", "imei": imei, "mac": "aa:bb:cc:dd:ee:ff", "latitude": 1.5, "longitude": 2.5, "groupId": e.a.group.ID}}).ok(t)
		id, _ := get(d, "createDevice.device.id").(string)
		if get(d, "createDevice.device.name") != "Pump 7" || get(d, "createDevice.device.mac") != "AA:BB:CC:DD:EE:FF" ||
			get(d, "createDevice.device.group.id") != e.a.group.ID || get(d, "createDevice.device.latitude") != 1.5 {
			t.Fatalf("created %v", d)
		}

		t.Run("UpdateAbsentKeeps", func(t *testing.T) {
			d := e.query(t, me, `mutation($in: UpdateDeviceInput!) { updateDevice(input: $in) { device { name mac latitude group { id } } } }`,
				map[string]any{"in": map[string]any{"id": id, "name": "Pump 8"}}).ok(t)
			if get(d, "updateDevice.device.name") != "Pump 8" || get(d, "updateDevice.device.mac") != "AA:BB:CC:DD:EE:FF" ||
				get(d, "updateDevice.device.latitude") != 1.5 || get(d, "updateDevice.device.group.id") != e.a.group.ID {
				t.Fatalf("updated %v", d)
			}
		})
		t.Run("UpdateNullClears", func(t *testing.T) {
			d := e.query(t, me, `mutation($in: UpdateDeviceInput!) { updateDevice(input: $in) { device { name mac latitude longitude group { id } } } }`,
				map[string]any{"in": map[string]any{"id": id, "mac": nil, "latitude": nil, "longitude": nil, "groupId": nil}}).ok(t)
			if get(d, "updateDevice.device.name") != "Pump 8" || get(d, "updateDevice.device.mac") != nil ||
				get(d, "updateDevice.device.latitude") != nil || get(d, "updateDevice.device.group") != nil {
				t.Fatalf("updated %v", d)
			}
		})
		t.Run("ErrNullName", func(t *testing.T) {
			r := e.query(t, me, `mutation { updateDevice(input: {id: "`+id+`", name: null}) { device { id } } }`, nil)
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.name" {
				t.Fatalf("error %+v", err)
			}
		})
		t.Run("ErrInvalidIMEI", func(t *testing.T) {
			r := e.query(t, me, `mutation { updateDevice(input: {id: "`+id+`", imei: "123"}) { device { id } } }`, nil)
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.imei" || !strings.Contains(err.Message, "15 digits") {
				t.Fatalf("error %+v", err)
			}
		})
		t.Run("ErrConflictIMEI", func(t *testing.T) {
			r := e.query(t, me, `mutation($in: CreateDeviceInput!) { createDevice(input: $in) { device { id } } }`,
				map[string]any{"in": map[string]any{"name": "Twin", "imei": imei}})
			if err := r.fails(t, "CONFLICT"); err.Extensions["field"] != "input.imei" {
				t.Fatalf("error %+v", err)
			}
		})
		t.Run("SetDeviceGroup", func(t *testing.T) {
			d := e.query(t, me, `mutation($in: SetDeviceGroupInput!) { setDeviceGroup(input: $in) { device { group { id } } } }`,
				map[string]any{"in": map[string]any{"id": id, "groupId": e.a.group.ID}}).ok(t)
			if get(d, "setDeviceGroup.device.group.id") != e.a.group.ID {
				t.Fatalf("set %v", d)
			}
			d = e.query(t, me, `mutation($in: SetDeviceGroupInput!) { setDeviceGroup(input: $in) { device { group { id } } } }`,
				map[string]any{"in": map[string]any{"id": id, "groupId": nil}}).ok(t)
			if get(d, "setDeviceGroup.device.group") != nil {
				t.Fatalf("unset %v", d)
			}
			// Another customer's group does not exist.
			r := e.query(t, me, `mutation($in: SetDeviceGroupInput!) { setDeviceGroup(input: $in) { device { id } } }`,
				map[string]any{"in": map[string]any{"id": id, "groupId": e.b.group.ID}})
			if err := r.fails(t, "NOT_FOUND"); err.Extensions["field"] != "input.groupId" {
				t.Fatalf("error %+v", err)
			}
		})
		t.Run("NoStaleEdges", func(t *testing.T) {
			// Mutations run in order; each one's payload shows the writes
			// of those before it.
			d := e.query(t, me, `mutation($id: ID!, $g: ID!) {
				a: setDeviceGroup(input: {id: $id, groupId: $g}) { device { group { name } } }
				b: updateDeviceGroup(input: {id: $g, name: "Renamed"}) { deviceGroup { name } }
				c: setDeviceGroup(input: {id: $id, groupId: $g}) { device { group { name } } } }`,
				map[string]any{"id": id, "g": e.a.group.ID}).ok(t)
			if get(d, "a.device.group.name") != e.a.group.Name || get(d, "c.device.group.name") != "Renamed" {
				t.Fatalf("payloads %v", d)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			d := e.query(t, me, `mutation { deleteDevice(input: {id: "`+id+`"}) { deletedId } }`, nil).ok(t)
			if get(d, "deleteDevice.deletedId") != id {
				t.Fatalf("deleted %v", d)
			}
			e.query(t, me, `mutation { deleteDevice(input: {id: "`+id+`"}) { deletedId } }`, nil).fails(t, "NOT_FOUND")
		})
	})
}

// TestGroupAndConfigurationMutations walks a configuration from draft to
// published and assigned, and a group through its life.
func TestGroupAndConfigurationMutations(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		app := e.app(e.a, "app")
		d := e.query(t, app, `mutation { createConfiguration(input: {name: "Winter", settings: {reportingIntervalS: 60, shockThresholdG: 2.5}}) {
			configuration { id state publishedAt settings { reportingIntervalS temperatureLogIntervalS shockThresholdG } } } }`, nil).ok(t)
		cid, _ := get(d, "createConfiguration.configuration.id").(string)
		if get(d, "createConfiguration.configuration.state") != "DRAFT" || get(d, "createConfiguration.configuration.settings.reportingIntervalS") != 60.0 ||
			get(d, "createConfiguration.configuration.settings.temperatureLogIntervalS") != nil {
			t.Fatalf("created %v", d)
		}
		r := e.query(t, app, `mutation { updateConfiguration(input: {id: "`+cid+`", settings: {shockThresholdG: 500}}) { configuration { id } } }`, nil)
		if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.settings.shockThresholdG" {
			t.Fatalf("error %+v", err)
		}
		d = e.query(t, app, `mutation { updateConfiguration(input: {id: "`+cid+`", settings: null}) { configuration { name settings { reportingIntervalS } } } }`, nil).ok(t)
		if get(d, "updateConfiguration.configuration.name") != "Winter" || get(d, "updateConfiguration.configuration.settings.reportingIntervalS") != nil {
			t.Fatalf("updated %v", d)
		}
		// A draft cannot be assigned.
		r = e.query(t, app, `mutation { createDeviceGroup(input: {name: "Cold", configurationId: "`+cid+`"}) { deviceGroup { id } } }`, nil)
		if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.configurationId" {
			t.Fatalf("error %+v", err)
		}
		d = e.query(t, app, `mutation { publishConfiguration(input: {id: "`+cid+`"}) { configuration { state publishedAt } } }`, nil).ok(t)
		if get(d, "publishConfiguration.configuration.state") != "PUBLISHED" || get(d, "publishConfiguration.configuration.publishedAt") == nil {
			t.Fatalf("published %v", d)
		}
		e.query(t, app, `mutation { publishConfiguration(input: {id: "`+cid+`"}) { configuration { id } } }`, nil).fails(t, "CONFLICT")

		d = e.query(t, app, `mutation { createDeviceGroup(input: {name: "Cold"}) { deviceGroup { id configuration { id } } } }`, nil).ok(t)
		gid, _ := get(d, "createDeviceGroup.deviceGroup.id").(string)
		d = e.query(t, app, `mutation { assignConfiguration(input: {groupId: "`+gid+`", configurationId: "`+cid+`"}) { deviceGroup { configuration { id } } } }`, nil).ok(t)
		if get(d, "assignConfiguration.deviceGroup.configuration.id") != cid {
			t.Fatalf("assigned %v", d)
		}
		// In use: the configuration cannot go.
		e.query(t, app, `mutation { deleteConfiguration(input: {id: "`+cid+`"}) { deletedId } }`, nil).fails(t, "CONFLICT")
		d = e.query(t, app, `mutation { updateDeviceGroup(input: {id: "`+gid+`", name: "Frozen"}) { deviceGroup { name configuration { id } } } }`, nil).ok(t)
		if get(d, "updateDeviceGroup.deviceGroup.name") != "Frozen" || get(d, "updateDeviceGroup.deviceGroup.configuration.id") != cid {
			t.Fatalf("updated %v", d)
		}
		d = e.query(t, app, `mutation { assignConfiguration(input: {groupId: "`+gid+`", configurationId: null}) { deviceGroup { configuration { id } } } }`, nil).ok(t)
		if get(d, "assignConfiguration.deviceGroup.configuration") != nil {
			t.Fatalf("unassigned %v", d)
		}
		e.query(t, app, `mutation { deleteDeviceGroup(input: {id: "`+gid+`"}) { deletedId } }`, nil).ok(t)
		e.query(t, app, `mutation { deleteDeviceGroup(input: {id: "`+gid+`"}) { deletedId } }`, nil).fails(t, "NOT_FOUND")
		// A draft can be deleted; this one is published.
		e.query(t, app, `mutation { deleteConfiguration(input: {id: "`+cid+`"}) { deletedId } }`, nil).fails(t, "CONFLICT")
		d = e.query(t, app, `mutation { createConfiguration(input: {name: "Scratch"}) { configuration { id } } }`, nil).ok(t)
		draft, _ := get(d, "createConfiguration.configuration.id").(string)
		d = e.query(t, app, `mutation { deleteConfiguration(input: {id: "`+draft+`"}) { deletedId } }`, nil).ok(t)
		if get(d, "deleteConfiguration.deletedId") != draft {
			t.Fatalf("deleted %v", d)
		}
	})
}

// TestApplicationMutations registers, updates, rotates and deletes an
// application, and changes the password.
func TestApplicationMutations(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.me(e.a)
		d := e.query(t, me, `mutation { createApplication(input: {name: "Fleet", grantTypes: ["client_credentials"]}) {
			application { id name scopes tokenEndpointAuthMethod pkceEnforcement accessTokenTtl enabled } clientSecret } }`, nil).ok(t)
		id, _ := get(d, "createApplication.application.id").(string)
		secret, _ := get(d, "createApplication.clientSecret").(string)
		if !strings.HasPrefix(secret, resource.ClientSecretPrefix) || get(d, "createApplication.application.tokenEndpointAuthMethod") != "client_secret_basic" ||
			get(d, "createApplication.application.accessTokenTtl") != float64(resource.DefaultAccessTokenTTL) || get(d, "createApplication.application.enabled") != true {
			t.Fatalf("created %v", d)
		}
		if _, err := e.deps.Applications.Authenticate(t.Context(), id, secret); err != nil {
			t.Fatalf("the shown secret does not authenticate: %v", err)
		}
		d = e.query(t, me, `mutation { updateApplication(input: {id: "`+id+`", accessTokenTtl: 600, scopes: ["basic"]}) { application { accessTokenTtl scopes } } }`, nil).ok(t)
		if get(d, "updateApplication.application.accessTokenTtl") != 600.0 || get(d, "updateApplication.application.scopes.0") != "basic" {
			t.Fatalf("updated %v", d)
		}
		d = e.query(t, me, `mutation { updateApplication(input: {id: "`+id+`", accessTokenTtl: null}) { application { accessTokenTtl scopes } } }`, nil).ok(t)
		if get(d, "updateApplication.application.accessTokenTtl") != float64(resource.DefaultAccessTokenTTL) || get(d, "updateApplication.application.scopes.0") != "basic" {
			t.Fatalf("reset %v", d)
		}
		r := e.query(t, me, `mutation { updateApplication(input: {id: "`+id+`", redirectUris: ["http://example.com/cb"]}) { application { id } } }`, nil)
		if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.redirectUris" {
			t.Fatalf("error %+v", err)
		}
		// Implicit and password are the operator's to enable.
		r = e.query(t, me, `mutation { createApplication(input: {name: "Mobile", grantTypes: ["password"]}) { application { id } } }`, nil)
		if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.grantTypes" || !strings.Contains(err.Message, "operator") {
			t.Fatalf("create with password: error %+v", err)
		}
		r = e.query(t, me, `mutation { updateApplication(input: {id: "`+id+`", grantTypes: ["client_credentials", "password"]}) { application { id } } }`, nil)
		if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.grantTypes" {
			t.Fatalf("update adding password: error %+v", err)
		}
		d = e.query(t, me, `mutation { rotateApplicationSecret(input: {id: "`+id+`"}) { clientSecret } }`, nil).ok(t)
		rotated, _ := get(d, "rotateApplicationSecret.clientSecret").(string)
		if _, err := e.deps.Applications.Authenticate(t.Context(), id, secret); err == nil || rotated == secret {
			t.Fatal("the old secret still authenticates after rotation")
		}
		if _, err := e.deps.Applications.Authenticate(t.Context(), id, rotated); err != nil {
			t.Fatalf("the rotated secret does not authenticate: %v", err)
		}
		d = e.query(t, me, `{ applications { totalCount edges { node { id } } } }`, nil).ok(t)
		if ids := nodeIDs(d["applications"]); len(ids) != 1 || ids[0] != id {
			t.Fatalf("applications %v", d)
		}
		// Another customer's application does not exist.
		e.query(t, e.me(e.b), `mutation { deleteApplication(input: {id: "`+id+`"}) { deletedId } }`, nil).fails(t, "NOT_FOUND")
		e.query(t, me, `mutation { deleteApplication(input: {id: "`+id+`"}) { deletedId } }`, nil).ok(t)
		e.query(t, me, `query { application(id: "`+id+`") { id } }`, nil).fails(t, "NOT_FOUND")

		t.Run("ChangePassword", func(t *testing.T) {
			r := e.query(t, me, `mutation($in: ChangePasswordInput!) { changePassword(input: $in) { changed } }`,
				map[string]any{"in": map[string]any{"oldPassword": "wrong password", "password": "a new long password", "passwordConfirmation": "a new long password"}})
			if err := r.fails(t, "FORBIDDEN"); err.Extensions["field"] != "input.oldPassword" {
				t.Fatalf("error %+v", err)
			}
			r = e.query(t, me, `mutation($in: ChangePasswordInput!) { changePassword(input: $in) { changed } }`,
				map[string]any{"in": map[string]any{"oldPassword": testPassword, "password": "a new long password", "passwordConfirmation": "another one"}})
			if err := r.fails(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.passwordConfirmation" {
				t.Fatalf("error %+v", err)
			}
			d := e.query(t, me, `mutation($in: ChangePasswordInput!) { changePassword(input: $in) { changed } }`,
				map[string]any{"in": map[string]any{"oldPassword": testPassword, "password": "a new long password", "passwordConfirmation": "a new long password"}}).ok(t)
			if get(d, "changePassword.changed") != true {
				t.Fatalf("changed %v", d)
			}
			if _, err := e.deps.Users.Authenticate(t.Context(), e.a.user.Email, "a new long password"); err != nil {
				t.Fatalf("the new password does not work: %v", err)
			}
		})
	})
}
