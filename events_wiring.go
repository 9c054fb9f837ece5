package main

import (
	"github.com/assetgate/assetgate/resource"
	"github.com/assetgate/assetgate/storage"
)

// eventParts are the event and device token services and the bus that fans
// events out to live streams: Redis pub/sub when Redis is configured (every
// replica's subscribers get every replica's events), in process otherwise.
type eventParts struct {
	events       *resource.EventService
	deviceTokens *resource.DeviceTokenService
	bus          eventBus
}

// eventBus is a bus that can be closed: closing ends every live stream
// with a final "shutdown" event.
type eventBus interface {
	resource.EventBus
	Close()
}

// newEventParts builds the event services on a's database and stores, and
// makes device deletes revoke the device's tokens.
func newEventParts(a *app) *eventParts {
	var bus eventBus = resource.NewLocalBus(resource.DefaultSubscriberBuffer)
	if a.redis != nil {
		bus = storage.NewRedisEventBus(a.redis, redisPrefix, resource.DefaultSubscriberBuffer, a.log)
	}
	deviceStore := storage.NewDeviceStore(a.db)
	p := &eventParts{
		events: &resource.EventService{Store: storage.NewEventStore(a.db), Devices: deviceStore, Bus: bus,
			Streams: resource.NewCaps(a.cfg.MaxStreamsPerPrincipal)},
		deviceTokens: &resource.DeviceTokenService{Store: storage.NewDeviceTokenStore(a.db), Devices: deviceStore,
			Tokens: a.stores.tokens, Key: a.key},
		bus: bus,
	}
	a.devices.DeviceTokens = p.deviceTokens
	return p
}

// endStreams ends every live event stream (with a final "shutdown" event),
// so that a graceful shutdown does not wait for them. Later streams are
// refused or end at once.
func (p *eventParts) endStreams() {
	if p != nil {
		p.bus.Close()
	}
}
