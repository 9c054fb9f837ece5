// Device groups and configurations: create, edit drafts, publish (a
// published configuration is read-only), assign to groups.
import { gql } from '../api'
import { clear, field, fmtTime, h } from '../dom'
import { busy, errorText, say } from '../shell'

interface Settings { reportingIntervalS: number | null; temperatureLogIntervalS: number | null; shockThresholdG: number | null }
interface Cfg { id: string; name: string; state: 'DRAFT' | 'PUBLISHED'; publishedAt: string | null; settings: Settings }
interface Group { id: string; name: string; configuration: { id: string; name: string } | null; devices: { totalCount: number } }

const num = (v: string) => (v.trim() === '' ? null : Number(v))

export async function groupsPage(root: HTMLElement) {
  document.title = 'Groups and configurations — assetgate console'
  const msg = h('div', { role: 'status' })
  const groupsArea = h('section', { class: 'card', 'aria-labelledby': 'groups-h' })
  const cfgArea = h('section', { class: 'card', 'aria-labelledby': 'cfgs-h' })
  const report = (e: unknown) => clear(msg, h('div', { class: 'error', role: 'alert' }, errorText(e)))

  const load = async () => {
    const d = await gql('groups')
    const groups: Group[] = d.deviceGroups.edges.map((e: { node: Group }) => e.node)
    const cfgs: Cfg[] = d.configurations.edges.map((e: { node: Cfg }) => e.node)
    const published = cfgs.filter((c) => c.state === 'PUBLISHED')

    // Groups.
    const gName = h('input', { name: 'name', required: true, autocomplete: 'off', id: 'group-name' })
    const gCreate = h('button', { type: 'submit' }, 'Create group')
    const gForm = h('form', { class: 'inline' }, field('New group', gName), gCreate)
    gForm.addEventListener('submit', async (ev) => {
      ev.preventDefault()
      try {
        await busy(gCreate, 'Creating…', () => gql('create-device-group', { input: { name: gName.value } }))
        say(`Group ${gName.value} created.`)
        await load()
      } catch (e) { report(e) }
    })
    clear(groupsArea, h('h2', { id: 'groups-h' }, 'Device groups'),
      groups.length ? h('table', { class: 'grid', id: 'groups' },
        h('thead', {}, h('tr', {}, ['Group', 'Devices', 'Configuration', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
        h('tbody', {}, groups.map((g) => {
          const sel = h('select', { 'aria-label': `Configuration of ${g.name}` }, h('option', { value: '' }, 'None'), published.map((c) => h('option', { value: c.id }, c.name)))
          sel.value = g.configuration?.id || ''
          sel.addEventListener('change', async () => {
            sel.disabled = true
            try {
              await gql('assign-configuration', { input: { groupId: g.id, configurationId: sel.value || null } })
              say(`${g.name} now uses ${sel.selectedOptions[0].textContent}.`)
            } catch (e) { report(e) } finally { sel.disabled = false }
          })
          const del = h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete group ${g.name}` }, 'Delete')
          del.addEventListener('click', async () => {
            if (!confirm(`Delete the group “${g.name}”? Its devices stay, in no group.`)) return
            try { await busy(del, 'Deleting…', () => gql('delete-device-group', { input: { id: g.id } })); await load() } catch (e) { report(e) }
          })
          return h('tr', {}, h('td', {}, h('a', { href: `/console/?group=${encodeURIComponent(g.id)}` }, g.name)), h('td', {}, String(g.devices.totalCount)), h('td', {}, sel), h('td', {}, del))
        })))
        : h('p', { class: 'empty' }, 'No groups yet.'),
      h('p', { class: 'hint' }, 'Only published configurations can be assigned.'),
      gForm)

    // Configurations.
    const settingsFields = (s: Settings | null, ro: boolean) => {
      const mk = (name: keyof Settings, step: string) => h('input', { type: 'number', name, step, min: 0, value: s?.[name] ?? '', readonly: ro, placeholder: 'device default' })
      return [mk('reportingIntervalS', '1'), mk('temperatureLogIntervalS', '1'), mk('shockThresholdG', '0.1')]
    }
    const labels = ['Reporting interval (s)', 'Temperature log interval (s)', 'Shock threshold (g)']
    const cards = cfgs.map((c) => {
      const ro = c.state === 'PUBLISHED'
      const name = h('input', { name: 'name', value: c.name, readonly: ro, required: true })
      const inputs = settingsFields(c.settings, ro)
      const form = h('form', { class: 'stack cfg', 'data-configuration': c.id, 'aria-label': `Configuration ${c.name}` },
        h('h3', {}, c.name, ' ', h('span', { class: ro ? 'badge good' : 'badge' }, ro ? `published ${fmtTime(c.publishedAt)}` : 'draft')),
        field('Name', name), inputs.map((inp, i) => field(labels[i], inp)))
      if (ro) {
        form.append(h('p', { class: 'hint' }, 'Published: read-only. Create a new draft to change settings.'))
      } else {
        const save = h('button', { type: 'submit' }, 'Save draft')
        const publish = h('button', { type: 'button', class: 'primary' }, 'Publish')
        const del = h('button', { type: 'button', class: 'danger' }, 'Delete')
        form.append(h('div', { class: 'actions' }, save, publish, del))
        form.addEventListener('submit', async (ev) => {
          ev.preventDefault()
          const [a, b, g] = inputs.map((i) => num(i.value))
          try {
            await busy(save, 'Saving…', () => gql('update-configuration', { input: { id: c.id, name: name.value, settings: { reportingIntervalS: a, temperatureLogIntervalS: b, shockThresholdG: g } } }))
            say(`${name.value} saved.`)
          } catch (e) { report(e) }
        })
        publish.addEventListener('click', async () => {
          if (!confirm(`Publish “${c.name}”? It becomes read-only, for good.`)) return
          try { await busy(publish, 'Publishing…', () => gql('publish-configuration', { input: { id: c.id } })); await load() } catch (e) { report(e) }
        })
        del.addEventListener('click', async () => {
          if (!confirm(`Delete the draft “${c.name}”?`)) return
          try { await busy(del, 'Deleting…', () => gql('delete-configuration', { input: { id: c.id } })); await load() } catch (e) { report(e) }
        })
      }
      return form
    })
    const cName = h('input', { name: 'name', required: true, autocomplete: 'off', id: 'cfg-name' })
    const cInputs = settingsFields(null, false)
    const cCreate = h('button', { type: 'submit' }, 'Create draft')
    const cForm = h('form', { class: 'stack', 'aria-labelledby': 'new-cfg-h' }, h('h3', { id: 'new-cfg-h' }, 'New configuration'), field('Name', cName), cInputs.map((inp, i) => field(labels[i], inp)), cCreate)
    cForm.addEventListener('submit', async (ev) => {
      ev.preventDefault()
      const [a, b, g] = cInputs.map((i) => num(i.value))
      try {
        await busy(cCreate, 'Creating…', () => gql('create-configuration', { input: { name: cName.value, settings: { reportingIntervalS: a, temperatureLogIntervalS: b, shockThresholdG: g } } }))
        await load()
      } catch (e) { report(e) }
    })
    clear(cfgArea, h('h2', { id: 'cfgs-h' }, 'Configurations'), cards.length ? cards : h('p', { class: 'empty' }, 'No configurations yet.'), cForm)
  }
  clear(root, h('h1', {}, 'Groups and configurations'), msg, h('div', { class: 'cards two' }, groupsArea, cfgArea))
  await load()
}
