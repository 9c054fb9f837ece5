// One device: its attributes, group and configuration, connection state,
// a chart of a telemetry value, its last events (live), its tokens and its
// resources.
import type uPlot from 'uplot'
import { gql, subscribe } from '../api'
import { drawChart, type SeriesPoint } from '../chart'
import { clear, copyButton, field, fmtTime, h } from '../dom'
import { busy, errorText, say } from '../shell'

interface Payload { latitude: number | null; longitude: number | null; celsius: number | null; g: number | null; percent: number | null; fault: boolean | null; transition?: 'ENTERED' | 'LEFT' | null; geogroupId?: string | null }
interface Event { id: string; type: string; occurredAt: string; receivedAt: string; payload: Payload }
interface Token { id: string; name: string; permissions: string[]; createdAt: string; expiresAt: string | null }

interface Stats { min: number; max: number; avg: number; last: number }
interface SeriesRow { start: string; count: number; celsius: Stats | null; g: Stats | null; percent: Stats | null }

// The SeriesInterval values, their length in seconds and their names.
const INTERVALS: Array<[string, number, string]> = [
  ['ONE_MINUTE', 60, 'Per minute'],
  ['FIVE_MINUTES', 300, 'Per 5 minutes'],
  ['FIFTEEN_MINUTES', 900, 'Per 15 minutes'],
  ['ONE_HOUR', 3600, 'Per hour'],
  ['SIX_HOURS', 21600, 'Per 6 hours'],
  ['ONE_DAY', 86400, 'Per day'],
]
const MAX_BUCKETS = 1000

const num = (v: number) => String(Number(v.toFixed(2)))

const METRICS: Record<string, { type: string; key: 'celsius' | 'g' | 'percent'; label: string; unit: string }> = {
  celsius: { type: 'TEMPERATURE', key: 'celsius', label: 'Temperature', unit: '°C' },
  percent: { type: 'BATTERY', key: 'percent', label: 'Battery', unit: '%' },
  g: { type: 'SHOCK', key: 'g', label: 'Shock', unit: 'g' },
}

function describe(e: Event): string {
  const p = e.payload
  switch (e.type) {
    case 'LOCATION': return `${p.latitude?.toFixed(5)}, ${p.longitude?.toFixed(5)}`
    case 'TEMPERATURE': return `${p.celsius} °C`
    case 'SHOCK': return `${p.g} g`
    case 'BATTERY': return `${p.percent} %`
    case 'STATUS': return p.fault ? 'fault' : 'no fault'
    case 'GEOFENCE': return `${p.transition === 'ENTERED' ? 'entered' : 'left'} geogroup ${p.geogroupId ?? ''}`
  }
  return ''
}

export async function devicePage(root: HTMLElement, [id]: string[]) {
  const data = await gql('device', { id })
  const d = data.device
  if (!d) {
    document.title = 'Device not found — assetgate console'
    clear(root, h('h1', {}, 'Device not found'), h('p', {}, 'This device does not exist (any more). ', h('a', { href: '/console/' }, 'Back to the devices.')))
    return
  }
  document.title = `${d.name} — assetgate console`
  const groups: Array<{ id: string; name: string }> = data.deviceGroups.edges.map((e: { node: unknown }) => e.node)

  // Attributes, group and configuration.
  const groupSelect = h('select', { name: 'group' }, h('option', { value: '' }, 'No group'), groups.map((g) => h('option', { value: g.id }, g.name)))
  groupSelect.value = d.group?.id || ''
  const groupSave = h('button', { type: 'submit' }, 'Move')
  const groupMsg = h('p', { class: 'msg', role: 'status' })
  const groupForm = h('form', { class: 'inline' }, field('Group', groupSelect), groupSave, groupMsg)
  groupForm.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    try {
      await busy(groupSave, 'Moving…', () => gql('set-device-group', { input: { id, groupId: groupSelect.value || null } }))
      groupMsg.textContent = 'Moved.'
    } catch (e) {
      groupMsg.textContent = errorText(e)
    }
  })
  const cfg = d.group?.configuration
  const s = d.stats
  const attrs = h('section', { class: 'card', 'aria-labelledby': 'attrs-h' },
    h('h2', { id: 'attrs-h' }, 'Attributes'),
    h('dl', { class: 'props' },
      h('dt', {}, 'IMEI'), h('dd', {}, d.imei),
      h('dt', {}, 'MAC'), h('dd', {}, d.mac || '—'),
      h('dt', {}, 'Position'), h('dd', { id: 'position' }, d.latitude !== null ? `${d.latitude}, ${d.longitude}` : 'unknown'),
      h('dt', {}, 'State'), h('dd', { id: 'fault' }, d.fault ? h('span', { class: 'badge bad' }, 'Fault') : h('span', { class: 'badge good' }, 'OK')),
      h('dt', {}, 'Created'), h('dd', {}, fmtTime(d.createdAt)),
      h('dt', {}, 'Configuration'), h('dd', {}, cfg ? `${cfg.name} (${cfg.state.toLowerCase()}): reporting every ${cfg.settings.reportingIntervalS ?? 'default'} s, temperature log every ${cfg.settings.temperatureLogIntervalS ?? 'default'} s, shock threshold ${cfg.settings.shockThresholdG ?? 'default'} g` : d.group ? 'the group has none' : '—'),
    ),
    groupForm,
  )
  const conn = h('section', { class: 'card', 'aria-labelledby': 'conn-h' },
    h('h2', { id: 'conn-h' }, 'Connection'),
    h('p', { id: 'connected' }, s.connected ? h('span', { class: 'badge good' }, 'Connected') : h('span', { class: 'badge' }, 'Not connected')),
    h('dl', { class: 'props' },
      h('dt', {}, 'Last seen'), h('dd', { id: 'last-seen' }, fmtTime(s.lastSeenAt)),
      h('dt', {}, s.connected ? 'Connected since' : 'Disconnected at'), h('dd', {}, fmtTime(s.connected ? s.connectedAt : s.disconnectedAt)),
      h('dt', {}, 'Address'), h('dd', {}, s.remoteAddress || '—'),
      h('dt', {}, 'Events (24 h)'), h('dd', { id: 'events-24h' }, String(s.eventsLast24h)),
      h('dt', {}, 'Events in all'), h('dd', { id: 'events-total' }, String(s.totalEvents)),
    ),
  )

  // The chart: a telemetry value over a range, in the server's buckets of
  // an interval (Device.series): the average as a line, the minimum and
  // maximum as a band, and the same figures as a table for screen readers.
  const metric = h('select', { name: 'metric' }, Object.entries(METRICS).map(([k, m]) => h('option', { value: k }, m.label)))
  const range = h('select', { name: 'range' }, [['1', 'Last hour'], ['24', 'Last 24 hours'], ['168', 'Last 7 days'], ['720', 'Last 30 days']].map(([v, l]) => h('option', { value: v }, l)))
  range.value = '24'
  const interval = h('select', { name: 'interval' }, INTERVALS.map(([v, , l]) => h('option', { value: v }, l)))
  interval.value = 'ONE_HOUR'
  // A series spans at most 1,000 buckets: the intervals too fine for the
  // range are disabled, and a disabled choice moves to the finest allowed.
  const fitInterval = () => {
    const span = Number(range.value) * 3600
    for (const [i, [, step]] of INTERVALS.entries()) interval.options[i].disabled = span / step > MAX_BUCKETS - 1
    if (interval.selectedOptions[0]?.disabled) interval.value = INTERVALS.find(([, step]) => span / step <= MAX_BUCKETS - 1)![0]
  }
  fitInterval()
  const chartBox = h('div', { class: 'chart', id: 'chart' })
  const summary = h('p', { id: 'series-summary' })
  const figures = h('tbody', { id: 'series' })
  const table = h('details', { class: 'figures' },
    h('summary', {}, 'The figures as a table'),
    h('table', { class: 'grid' },
      h('caption', { class: 'sr-only' }, 'The series, one row per interval'),
      h('thead', {}, h('tr', {}, ['Interval from', 'Events', 'Average', 'Minimum', 'Maximum', 'Last'].map((c) => h('th', { scope: 'col' }, c)))),
      figures))
  let plot: uPlot | null = null
  let drawing = 0
  const drawSeries = async () => {
    const m = METRICS[metric.value]
    const mine = ++drawing
    chartBox.setAttribute('aria-busy', 'true')
    clear(chartBox, h('p', { class: 'busy' }, 'Loading the series…'))
    try {
      const until = new Date()
      const since = new Date(until.getTime() - Number(range.value) * 3600_000)
      const r = await gql('device-series', { id, type: m.type, since: since.toISOString(), until: until.toISOString(), interval: interval.value })
      if (mine !== drawing) return
      const pts: SeriesPoint[] = (r.device.series as SeriesRow[]).filter((p) => p[m.key]).map((p) => ({ t: Date.parse(p.start) / 1000, count: p.count, ...p[m.key]! }))
      plot?.destroy()
      plot = null
      clear(figures, pts.map((p) => h('tr', {},
        h('td', {}, fmtTime(new Date(p.t * 1000).toISOString())), h('td', {}, p.count),
        h('td', {}, `${num(p.avg)} ${m.unit}`), h('td', {}, `${num(p.min)} ${m.unit}`), h('td', {}, `${num(p.max)} ${m.unit}`), h('td', {}, `${num(p.last)} ${m.unit}`))))
      table.hidden = !pts.length
      if (!pts.length) {
        summary.textContent = ''
        clear(chartBox, h('p', { class: 'empty' }, `No ${m.label.toLowerCase()} events in this range.`))
      } else {
        const events = pts.reduce((n, p) => n + p.count, 0)
        summary.textContent = `${m.label}: ${pts.length} point${pts.length === 1 ? '' : 's'} from ${events} event${events === 1 ? '' : 's'}, ` +
          `averages from ${num(Math.min(...pts.map((p) => p.avg)))} to ${num(Math.max(...pts.map((p) => p.avg)))} ${m.unit}, ` +
          `lowest ${num(Math.min(...pts.map((p) => p.min)))}, highest ${num(Math.max(...pts.map((p) => p.max)))} ${m.unit}.`
        clear(chartBox)
        plot = drawChart(chartBox, { label: m.label, unit: m.unit, points: pts, from: since.getTime() / 1000, to: until.getTime() / 1000 })
      }
    } catch (e) {
      if (mine !== drawing) return
      summary.textContent = ''
      table.hidden = true
      clear(chartBox, h('div', { class: 'error', role: 'alert' }, errorText(e)))
    } finally {
      if (mine === drawing) chartBox.setAttribute('aria-busy', 'false')
    }
  }
  range.addEventListener('change', fitInterval)
  for (const c of [metric, range, interval]) c.addEventListener('change', () => void drawSeries())
  const chart = h('section', { class: 'card wide', 'aria-labelledby': 'chart-h' },
    h('h2', { id: 'chart-h' }, 'Telemetry'),
    h('div', { class: 'inline' }, field('Value', metric), field('Range', range), field('Interval', interval)),
    chartBox,
    summary,
    table,
  )

  // Last events, live.
  const evBody = h('tbody', { id: 'events' })
  const eventRow = (e: Event) => h('tr', { 'data-event': e.id }, h('td', {}, fmtTime(e.occurredAt)), h('td', {}, e.type.toLowerCase()), h('td', {}, describe(e)))
  const first = await gql('device-events', { id, first: 20 })
  const evs: Event[] = first.device.events.edges.map((e: { node: Event }) => e.node)
  for (const e of evs) evBody.append(eventRow(e))
  const liveState = h('span', { class: 'badge', id: 'live-state' }, 'connecting…')
  const events = h('section', { class: 'card wide', 'aria-labelledby': 'events-h' },
    h('h2', { id: 'events-h' }, 'Last events ', liveState),
    h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['Occurred', 'Type', 'Value'].map((c) => h('th', { scope: 'col' }, c)))),
      evBody),
    evs.length ? null : h('p', { class: 'empty', id: 'no-events' }, 'No events yet: new ones appear here as they arrive.'),
  )
  let total = s.totalEvents
  let last24h = s.eventsLast24h
  let lastSeen = s.lastSeenAt ? Date.parse(s.lastSeenAt) : 0
  const stop = subscribe<{ deviceEvents: Event }>('device-events-live', { deviceId: id }, ({ deviceEvents: e }) => {
    document.getElementById('no-events')?.remove()
    const tr = eventRow(e)
    tr.classList.add('flash')
    evBody.prepend(tr)
    while (evBody.rows.length > 50) evBody.lastElementChild?.remove()
    document.getElementById('events-total')!.textContent = String(++total)
    // An event may report a moment long past: it counts in the last 24
    // hours only when it occurred in them, and moves "last seen" forward only.
    const at = Date.parse(e.occurredAt)
    if (at > Date.now() - 86400_000) document.getElementById('events-24h')!.textContent = String(++last24h)
    if (at > lastSeen) {
      lastSeen = at
      document.getElementById('last-seen')!.textContent = fmtTime(e.occurredAt)
    }
    if (e.type === 'LOCATION') document.getElementById('position')!.textContent = `${e.payload.latitude}, ${e.payload.longitude}`
    if (e.type === 'STATUS') clear(document.getElementById('fault')!, e.payload.fault ? h('span', { class: 'badge bad' }, 'Fault') : h('span', { class: 'badge good' }, 'OK'))
    say(`New ${e.type.toLowerCase()} event: ${describe(e)}.`)
    if (METRICS[metric.value].type === e.type) void drawSeries()
  }, (err) => {
    liveState.textContent = 'not live'
    say(err.message)
  })
  liveState.textContent = 'live'
  liveState.classList.add('good')

  // Device tokens.
  const tokBody = h('tbody', {})
  const tokens = h('section', { class: 'card', 'aria-labelledby': 'tokens-h' }, h('h2', { id: 'tokens-h' }, 'Device tokens'))
  const renderTokens = (list: Token[]) => {
    document.getElementById('no-tokens')?.toggleAttribute('hidden', list.length > 0)
    clear(tokBody, list.map((t) => {
      const revoke = h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke token ${t.name}` }, 'Revoke')
      revoke.addEventListener('click', async () => {
        if (!confirm(`Revoke the token “${t.name}”? The device can no longer use it.`)) return
        try {
          await busy(revoke, 'Revoking…', () => gql('revoke-device-token', { input: { deviceId: id, id: t.id } }))
          current = current.filter((x) => x.id !== t.id)
          renderTokens(current)
          say(`Token ${t.name} revoked.`)
        } catch (e) {
          say(errorText(e))
        }
      })
      return h('tr', {}, h('td', {}, t.name), h('td', {}, t.permissions.map((p) => p.toLowerCase()).join(', ')), h('td', {}, t.expiresAt ? fmtTime(t.expiresAt) : 'never'), h('td', {}, revoke))
    }))
  }
  let current: Token[] = d.tokens
  renderTokens(current)
  const noTokens = h('p', { class: 'empty', id: 'no-tokens', hidden: current.length > 0 }, 'No live tokens.')
  const tokName = h('input', { name: 'name', required: true, autocomplete: 'off' })
  const perms = ['DEVICE_READ', 'EVENTS_READ', 'EVENTS_WRITE', 'RESOURCES_CALL'].map((p) => {
    const cb = h('input', { type: 'checkbox', name: 'perm', value: p, checked: true, id: `perm-${p}` })
    return h('span', { class: 'check' }, cb, h('label', { for: cb.id }, p.toLowerCase().replace('_', ':')))
  })
  const tokExpiry = h('input', { type: 'datetime-local', name: 'expires' })
  const tokCreate = h('button', { type: 'submit' }, 'Create token')
  const shown = h('div', { class: 'once', role: 'status' })
  const tokForm = h('form', { class: 'stack' },
    field('Token name', tokName),
    h('fieldset', {}, h('legend', {}, 'Permissions'), perms),
    field('Expires (optional)', tokExpiry),
    tokCreate, shown)
  tokForm.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const permissions = [...tokForm.querySelectorAll<HTMLInputElement>('input[name=perm]:checked')].map((c) => c.value)
    try {
      const r = await busy(tokCreate, 'Creating…', () => gql('create-device-token', { input: { deviceId: id, name: tokName.value, permissions, expiresAt: tokExpiry.value ? new Date(tokExpiry.value).toISOString() : null } }))
      const t = r.createDeviceToken
      current = [...current, t.deviceToken]
      renderTokens(current)
      tokForm.reset()
      clear(shown, h('p', {}, 'The token, shown this once — store it on the device now:'), h('code', { class: 'secret', id: 'device-token' }, t.token), ' ', copyButton(t.token))
    } catch (e) {
      clear(shown, h('div', { class: 'error', role: 'alert' }, errorText(e)))
    }
  })
  tokens.append(
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ['Name', 'Permissions', 'Expires', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))), tokBody),
    noTokens, h('h3', {}, 'New token'), tokForm)

  // Resources of a connected device.
  const res = d.resources
  const resources = h('section', { class: 'card', 'aria-labelledby': 'res-h' }, h('h2', { id: 'res-h' }, 'Resources'))
  if (!res.connected) resources.append(h('p', {}, 'The device is not connected: its resources can be called while it is online.'))
  else if (!res.resources.length) resources.append(h('p', {}, 'The device announced no resources.'))
  for (const r of res.resources as Array<{ name: string; kind: string; in: unknown }>) {
    const takes = r.kind === 'INPUT' || r.kind === 'IO'
    const inBox = h('textarea', { name: 'in', rows: 3, spellcheck: 'false' }, takes ? '{}' : '')
    const call = h('button', { type: 'submit' }, `Call ${r.name}`)
    const out = h('pre', { class: 'out', 'aria-live': 'polite' })
    const form = h('form', { class: 'stack resource' },
      h('h3', {}, r.name, ' ', h('small', {}, r.kind.toLowerCase())),
      takes ? field('Input (JSON)', inBox, r.in ? `Schema: ${JSON.stringify(r.in)}` : undefined) : null,
      call, out)
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault()
      let input: unknown = null
      if (takes) {
        try {
          input = JSON.parse(inBox.value || 'null')
        } catch {
          out.textContent = 'The input is not valid JSON: fix it and call again.'
          return
        }
      }
      try {
        const r2 = await busy(call, 'Waiting for the device…', () => gql('call-device-resource', { deviceId: id, name: r.name, in: input }))
        const c = r2.callDeviceResource
        out.textContent = `${c.out === null ? 'Done (no output)' : JSON.stringify(c.out, null, 2)}\n— ${c.durationMs.toFixed(0)} ms`
      } catch (e) {
        out.textContent = errorText(e)
      }
    })
    resources.append(form)
  }

  clear(root,
    h('p', { class: 'crumbs' }, h('a', { href: '/console/' }, '← Devices')),
    h('h1', {}, d.name),
    h('div', { class: 'cards' }, attrs, conn, chart, events, tokens, resources),
  )
  void drawSeries()
  return () => {
    stop()
    plot?.destroy()
  }
}
