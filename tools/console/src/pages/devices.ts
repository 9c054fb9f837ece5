// The fleet: a filtered, sorted, paged table of devices beside a map,
// both updated live from one subscription to every event of the customer
// (with the MQTT connects and disconnects), so the devices on the map that
// the table's page does not show move too.
import { gql, subscribe } from '../api'
import { clear, field, fmtTime, h } from '../dom'
import { FleetMap, type MapDevice, type MapGeogroup } from '../map'
import { errorText, navigate, say } from '../shell'

interface Device extends MapDevice {
  imei: string
  mac: string | null
  lastEventAt: string | null
  group: { id: string; name: string } | null
  stats: { connected: boolean }
}

interface LiveEvent {
  deviceId: string
  type: string
  occurredAt: string
  payload: { latitude: number | null; longitude: number | null; fault: boolean | null }
  connection: { connected: boolean; reason: string | null } | null
}

const connBadge = (connected: boolean) => connected ? h('span', { class: 'badge good' }, 'Connected') : h('span', { class: 'badge' }, 'Not connected')

const PAGE = 25
const MAP_LIMIT = 1000

export async function devicesPage(root: HTMLElement) {
  document.title = 'Devices — assetgate console'
  const params = new URLSearchParams(location.search)
  const opts = await gql('filter-options')
  const groups: Array<{ id: string; name: string }> = opts.deviceGroups.edges.map((e: { node: unknown }) => e.node)
  const geogroups: MapGeogroup[] = opts.geogroups.edges.map((e: { node: unknown }) => e.node)

  const input = (name: string, type = 'search') => h('input', { name, type, value: params.get(name) || '', autocomplete: 'off' })
  const select = (name: string, options: Array<[string, string]>) => {
    const s = h('select', { name }, options.map(([v, l]) => h('option', { value: v }, l)))
    s.value = params.get(name) || options[0][0]
    if (s.selectedIndex < 0) s.value = options[0][0]
    return s
  }
  const search = input('search')
  const imei = input('imei')
  const mac = input('mac')
  const fault = select('fault', [['', 'Any'], ['true', 'With a fault'], ['false', 'Without a fault']])
  const group = select('group', [['', 'Any group'], ['none', 'In no group'], ...groups.map((g) => [g.id, g.name] as [string, string])])
  const geogroup = select('geogroup', [['', 'Anywhere'], ...geogroups.map((g) => [g.id, `Inside ${g.name}`] as [string, string])])
  const sortOptions: Array<[string, string]> = [['', '—'], ['NAME', 'Name'], ['IMEI', 'IMEI'], ['CREATED_AT', 'Created'], ['LAST_EVENT_AT', 'Last event']]
  const sort1 = select('sort', sortOptions.slice(1))
  if (!params.get('sort')) sort1.value = 'NAME'
  const dir1 = select('dir', [['ASC', 'ascending'], ['DESC', 'descending']])
  const sort2 = select('sort2', sortOptions)
  const dir2 = select('dir2', [['ASC', 'ascending'], ['DESC', 'descending']])

  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter devices' },
    field('Search (name, IMEI or MAC)', search),
    field('IMEI', imei),
    field('MAC', mac, 'Any notation: 00:1A:2B:…, 00-1a-2b-…, 001a.2b3c.…'),
    field('Fault', fault),
    field('Group', group),
    field('Geogroup', geogroup),
    field('Sort by', sort1), field('Order', dir1),
    field('Then by', sort2), field('Then order', dir2),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'apply' }, 'Apply'), h('button', { type: 'reset' }, 'Clear')),
  )
  const tableArea = h('div', { class: 'table-area', 'aria-busy': 'false' })
  const mapEl = h('div', { class: 'map', id: 'map', role: 'region', 'aria-label': 'Map of the devices' })
  clear(root,
    h('h1', {}, 'Devices'),
    form,
    h('div', { class: 'fleet' }, h('section', { 'aria-label': 'Device list' }, tableArea), mapEl),
  )
  const map = new FleetMap(mapEl, (id) => navigate(`/console/devices/${encodeURIComponent(id)}`))
  map.setGeogroups(geogroups)

  let cursor: { after?: string; before?: string } = {}

  const filter = () => {
    const f: Record<string, unknown> = {}
    if (search.value.trim()) f.search = search.value.trim()
    if (imei.value.trim()) f.imei = imei.value.trim()
    if (mac.value.trim()) f.mac = mac.value.trim()
    if (fault.value) f.fault = fault.value === 'true'
    if (group.value) f.group = group.value
    if (geogroup.value) f.geogroupInside = geogroup.value
    return f
  }
  const order = () => {
    const o = [{ field: sort1.value, direction: dir1.value }]
    if (sort2.value && sort2.value !== sort1.value) o.push({ field: sort2.value, direction: dir2.value })
    return o
  }
  const syncAddress = () => {
    const q = new URLSearchParams()
    for (const el of [search, imei, mac, fault, group, geogroup, sort1, dir1, sort2, dir2]) {
      if (el.value && !(el === dir1 && el.value === 'ASC') && !(el === dir2 && el.value === 'ASC')) q.set(el.name, el.value)
    }
    history.replaceState(null, '', '/console/' + (q.size ? '?' + q : ''))
  }

  const rows = new Map<string, HTMLTableRowElement>()
  const load = async () => {
    tableArea.setAttribute('aria-busy', 'true')
    tableArea.classList.add('loading')
    say('Loading devices…')
    try {
      const page = cursor.before ? { last: PAGE, before: cursor.before } : { first: PAGE, after: cursor.after }
      const d = await gql('devices', { filter: filter(), orderBy: order(), ...page })
      const conn = d.devices
      const list: Device[] = conn.edges.map((e: { node: Device }) => e.node)
      rows.clear()
      const body = h('tbody', {}, list.map((dev) => {
        const tr = h('tr', { 'data-device': dev.id },
          h('td', {}, h('a', { href: `/console/devices/${encodeURIComponent(dev.id)}` }, dev.name)),
          h('td', {}, dev.imei),
          h('td', {}, dev.mac || '—'),
          h('td', { class: 'fault-cell' }, dev.fault ? h('span', { class: 'badge bad' }, 'Fault') : h('span', { class: 'badge good' }, 'OK')),
          h('td', { class: 'conn-cell' }, connBadge(dev.stats.connected)),
          h('td', {}, dev.group?.name || '—'),
          h('td', { class: 'last-event' }, fmtTime(dev.lastEventAt)),
        )
        rows.set(dev.id, tr)
        return tr
      }))
      const prev = h('button', { type: 'button', disabled: !conn.pageInfo.hasPreviousPage }, '← Previous')
      const next = h('button', { type: 'button', disabled: !conn.pageInfo.hasNextPage }, 'Next →')
      prev.addEventListener('click', () => { cursor = { before: conn.pageInfo.startCursor }; void load() })
      next.addEventListener('click', () => { cursor = { after: conn.pageInfo.endCursor }; void load() })
      clear(tableArea,
        h('p', { id: 'device-count' }, `${conn.totalCount} device${conn.totalCount === 1 ? '' : 's'} match.`),
        list.length
          ? h('table', { class: 'grid', id: 'devices' },
            h('caption', { class: 'sr-only' }, 'Devices matching the filter'),
            h('thead', {}, h('tr', {}, ['Name', 'IMEI', 'MAC', 'State', 'Connection', 'Group', 'Last event'].map((c) => h('th', { scope: 'col' }, c)))),
            body)
          : h('p', { class: 'empty' }, 'No device matches: change or clear the filter.'),
        h('div', { class: 'pager' }, prev, next),
      )
      say(`${conn.totalCount} device${conn.totalCount === 1 ? '' : 's'} match.`)
      void loadMap()
    } catch (e) {
      clear(tableArea, h('div', { class: 'error', role: 'alert' }, errorText(e)))
      say('')
    } finally {
      tableArea.setAttribute('aria-busy', 'false')
      tableArea.classList.remove('loading')
    }
  }

  // loadMap draws every matching device with a position (up to MAP_LIMIT).
  const loadMap = async () => {
    const all: Device[] = []
    let after: string | undefined
    for (let i = 0; i < MAP_LIMIT / 100; i++) {
      const d = await gql('devices', { filter: filter(), first: 100, after })
      all.push(...d.devices.edges.map((e: { node: Device }) => e.node))
      if (!d.devices.pageInfo.hasNextPage) break
      after = d.devices.pageInfo.endCursor
    }
    map.setDevices(all.map((d) => ({ ...d, connected: d.stats.connected })))
  }

  // live applies an item of the customer's stream to the map and, when the
  // device is on the table's page, to its row.
  const live = (e: LiveEvent) => {
    const tr = rows.get(e.deviceId)
    const change: Partial<MapDevice> & { id: string } = { id: e.deviceId }
    if (e.type === 'CONNECTION' && e.connection) change.connected = e.connection.connected
    if (e.type === 'LOCATION' && e.payload.latitude !== null) {
      change.latitude = e.payload.latitude
      change.longitude = e.payload.longitude
    }
    if (e.type === 'STATUS' && e.payload.fault !== null) change.fault = e.payload.fault
    map.update(change)
    if (!tr) return
    const name = tr.querySelector('a')?.textContent
    if (e.type === 'CONNECTION') {
      clear(tr.querySelector('.conn-cell')!, connBadge(change.connected ?? false))
      say(`${name} ${change.connected ? 'connected' : 'disconnected'}.`)
    } else {
      tr.querySelector('.last-event')!.textContent = fmtTime(e.occurredAt)
      if (change.fault !== undefined) {
        clear(tr.querySelector('.fault-cell')!, change.fault ? h('span', { class: 'badge bad' }, 'Fault') : h('span', { class: 'badge good' }, 'OK'))
      }
      say(`New ${e.type.toLowerCase()} event from ${name}.`)
    }
    tr.classList.remove('flash')
    void tr.offsetWidth
    tr.classList.add('flash')
  }
  const liveState = h('span', { class: 'badge', id: 'live-state' }, 'connecting…')
  root.querySelector('h1')!.append(' ', liveState)
  const stopLive = subscribe<{ deviceEvents: LiveEvent }>('fleet-events-live', {}, (e) => live(e.deviceEvents), (err) => {
    liveState.textContent = 'not live'
    liveState.classList.remove('good')
    say(err.message)
  })
  liveState.textContent = 'live'
  liveState.classList.add('good')

  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    cursor = {}
    syncAddress()
    void load()
  })
  form.addEventListener('reset', () => {
    setTimeout(() => {
      for (const s of [fault, group, geogroup, sort2]) s.value = ''
      sort1.value = 'NAME'
      cursor = {}
      syncAddress()
      void load()
    })
  })
  await load()
  return () => {
    stopLive()
    map.remove()
  }
}
