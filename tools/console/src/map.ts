// The fleet map: Leaflet with no tile server. The world outline is
// Natural Earth's, from the world-atlas package, built into the console;
// devices are markers coloured by fault, clustered by supercluster when
// dense; geogroups are drawn as polygons (circles for Point + radius).
import 'leaflet/dist/leaflet.css'
import * as L from 'leaflet'
import Supercluster from 'supercluster'
import { feature } from 'topojson-client'
import type { GeometryCollection, Topology } from 'topojson-specification'
import countries from 'world-atlas/countries-110m.json'

export interface MapDevice {
  id: string
  name: string
  latitude: number | null
  longitude: number | null
  fault: boolean
  // connected: whether it has a live MQTT session; undefined when unknown.
  connected?: boolean
}

export interface MapGeogroup {
  id: string
  name: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  geometry: any
}

type Props = { id: string; name: string; fault: boolean; connected?: boolean }

export class FleetMap {
  readonly map: L.Map
  private markers = L.layerGroup()
  private areas = L.layerGroup()
  private devices = new Map<string, MapDevice>()
  private index = new Supercluster<Props>({ radius: 48, maxZoom: 14 })
  private fitted = false

  constructor(el: HTMLElement, private open: (id: string) => void) {
    this.map = L.map(el, { worldCopyJump: true, attributionControl: false, minZoom: 1, maxZoom: 16, zoomSnap: 0.5 })
    const topo = countries as unknown as Topology<{ countries: GeometryCollection }>
    L.geoJSON(feature(topo, topo.objects.countries), {
      interactive: false,
      style: { className: 'land', weight: 0.6 },
    }).addTo(this.map)
    this.areas.addTo(this.map)
    this.markers.addTo(this.map)
    this.map.setView([30, 10], 1.5)
    this.map.on('moveend zoomend', () => this.draw())
  }

  setGeogroups(list: MapGeogroup[]) {
    this.areas.clearLayers()
    for (const g of list) {
      const geom = g.geometry
      let layer: L.Layer
      if (geom?.type === 'Point' && typeof geom.radius === 'number') {
        layer = L.circle([geom.coordinates[1], geom.coordinates[0]], { radius: geom.radius, className: 'area' })
      } else {
        layer = L.geoJSON(geom, { style: { className: 'area' } })
      }
      ;(layer as L.Path).bindTooltip?.(g.name)
      this.areas.addLayer(layer)
    }
  }

  setDevices(list: MapDevice[]) {
    this.devices = new Map(list.map((d) => [d.id, d]))
    this.reindex()
    if (!this.fitted) {
      const placed = list.filter((d) => d.latitude !== null && d.longitude !== null)
      if (placed.length) {
        this.map.fitBounds(L.latLngBounds(placed.map((d) => [d.latitude!, d.longitude!] as L.LatLngTuple)).pad(0.3), { maxZoom: 8 })
        this.fitted = true
      }
    }
  }

  // update changes one device (a live event) and redraws.
  update(d: Partial<MapDevice> & { id: string }) {
    const cur = this.devices.get(d.id)
    if (!cur) return
    this.devices.set(d.id, { ...cur, ...d })
    this.reindex()
  }

  private reindex() {
    const points: Array<GeoJSON.Feature<GeoJSON.Point, Props>> = []
    for (const d of this.devices.values()) {
      if (d.latitude === null || d.longitude === null) continue
      points.push({ type: 'Feature', properties: { id: d.id, name: d.name, fault: d.fault, connected: d.connected }, geometry: { type: 'Point', coordinates: [d.longitude, d.latitude] } })
    }
    this.index = new Supercluster<Props>({ radius: 48, maxZoom: 14 })
    this.index.load(points)
    this.draw()
  }

  private draw() {
    this.markers.clearLayers()
    const b = this.map.getBounds()
    const zoom = Math.round(this.map.getZoom())
    const box: [number, number, number, number] = [Math.max(-180, b.getWest()), Math.max(-85, b.getSouth()), Math.min(180, b.getEast()), Math.min(85, b.getNorth())]
    for (const c of this.index.getClusters(box, zoom)) {
      const [lng, lat] = c.geometry.coordinates
      const p = c.properties as Props & { cluster?: boolean; cluster_id?: number; point_count?: number }
      if (p.cluster) {
        const leaves = this.index.getLeaves(p.cluster_id!, Infinity)
        const faults = leaves.filter((l) => l.properties.fault).length
        const icon = L.divIcon({
          className: `cluster ${faults ? 'has-fault' : ''}`,
          html: `<span>${p.point_count}</span>`,
          iconSize: [34, 34],
        })
        const label = `${p.point_count} devices${faults ? `, ${faults} with a fault` : ''}: zoom in`
        const m = L.marker([lat, lng], { icon, title: label, alt: label, keyboard: true })
        m.on('click', () => this.map.flyTo([lat, lng], Math.min(this.index.getClusterExpansionZoom(p.cluster_id!), 16)))
        this.markers.addLayer(m)
      } else {
        const label = `${p.name}${p.fault ? ' (fault)' : ''}${p.connected ? ', connected' : ''}`
        const icon = L.divIcon({ className: `pin ${p.fault ? 'fault' : 'ok'}${p.connected ? ' online' : ''}`, iconSize: [16, 16] })
        const m = L.marker([lat, lng], { icon, title: label, alt: label, keyboard: true })
        // The device and its position, for whoever reads the page's markup.
        const mark = () => {
          const el = m.getElement()
          el?.setAttribute('data-device', p.id)
          el?.setAttribute('data-position', `${lat},${lng}`)
        }
        mark()
        m.on('add', mark)
        m.on('click', () => this.open(p.id))
        this.markers.addLayer(m)
      }
    }
  }

  remove() {
    this.map.remove()
  }
}
