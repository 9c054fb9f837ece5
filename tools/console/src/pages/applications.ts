// The customer's OAuth applications: list, create (the secret is shown
// once), rotate the secret, delete.
import { gql } from '../api'
import { clear, copyButton, field, fmtTime, h } from '../dom'
import { busy, errorText, say } from '../shell'

interface App {
  id: string; name: string; grantTypes: string[]; redirectUris: string[]; tokenEndpointAuthMethod: string
  pkceEnforcement: string; scopes: string[]; accessTokenTtl: number; refreshTokenDuration: number; enabled: boolean; createdAt: string
}

const GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']

function secretBox(title: string, secret: string, clientId: string): HTMLElement {
  return h('div', { class: 'once', role: 'status', id: 'secret-box' },
    h('p', {}, title),
    h('p', {}, 'client_id: ', h('code', {}, clientId), ' ', copyButton(clientId, 'Copy client id')),
    h('p', {}, 'client_secret: ', h('code', { class: 'secret', id: 'client-secret' }, secret), ' ', copyButton(secret, 'Copy secret')),
    h('p', { class: 'hint' }, 'The secret is shown only now: store it safely. Lost it? Rotate it.'))
}

export async function applicationsPage(root: HTMLElement) {
  document.title = 'Applications — assetgate console'
  const listArea = h('div', { 'aria-busy': 'false' })
  const notice = h('div', {})

  const load = async () => {
    listArea.setAttribute('aria-busy', 'true')
    try {
      const d = await gql('applications', { first: 100 })
      const apps: App[] = d.applications.edges.map((e: { node: App }) => e.node)
      clear(listArea, apps.length
        ? h('table', { class: 'grid', id: 'applications' },
          h('thead', {}, h('tr', {}, ['Name', 'Client id', 'Grants', 'Client type', 'PKCE', 'Token lifetime', 'Created', ''].map((c) => h('th', { scope: 'col' }, c || h('span', { class: 'sr-only' }, 'Actions'))))),
          h('tbody', {}, apps.map((a) => row(a))))
        : h('p', { class: 'empty' }, 'No applications yet.'))
    } catch (e) {
      clear(listArea, h('div', { class: 'error', role: 'alert' }, errorText(e)))
    } finally {
      listArea.setAttribute('aria-busy', 'false')
    }
  }

  const row = (a: App) => {
    const actions: HTMLElement[] = []
    if (a.tokenEndpointAuthMethod !== 'none') {
      const rotate = h('button', { type: 'button', class: 'small', 'aria-label': `Rotate secret of ${a.name}` }, 'Rotate secret')
      rotate.addEventListener('click', async () => {
        if (!confirm(`Rotate the secret of “${a.name}”? The old secret stops working at once.`)) return
        try {
          const r = await busy(rotate, 'Rotating…', () => gql('rotate-application-secret', { input: { id: a.id } }))
          clear(notice, secretBox(`New secret of ${a.name}:`, r.rotateApplicationSecret.clientSecret, a.id))
        } catch (e) {
          clear(notice, h('div', { class: 'error', role: 'alert' }, errorText(e)))
        }
      })
      actions.push(rotate)
    }
    const del = h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${a.name}` }, 'Delete')
    del.addEventListener('click', async () => {
      if (!confirm(`Delete “${a.name}”? Its tokens stop working.`)) return
      try {
        await busy(del, 'Deleting…', () => gql('delete-application', { input: { id: a.id } }))
        say(`${a.name} deleted.`)
        await load()
      } catch (e) {
        clear(notice, h('div', { class: 'error', role: 'alert' }, errorText(e)))
      }
    })
    actions.push(del)
    return h('tr', { 'data-application': a.id },
      h('td', {}, a.name), h('td', {}, h('code', {}, a.id)), h('td', {}, a.grantTypes.map((g) => g.replace('urn:ietf:params:oauth:grant-type:', '')).join(', ')),
      h('td', {}, a.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential'), h('td', {}, a.pkceEnforcement),
      h('td', {}, `${a.accessTokenTtl} s`), h('td', {}, fmtTime(a.createdAt)), h('td', { class: 'actions' }, actions))
  }

  // The create form.
  const name = h('input', { name: 'name', required: true, autocomplete: 'off', id: 'app-name' })
  const grants = GRANTS.map((g, i) => {
    const cb = h('input', { type: 'checkbox', name: 'grant', value: g, id: `grant-${i}`, checked: g === 'client_credentials' })
    return h('span', { class: 'check' }, cb, h('label', { for: cb.id }, g.replace('urn:ietf:params:oauth:grant-type:', '')))
  })
  const uris = h('textarea', { name: 'redirectUris', rows: 2, id: 'app-redirects' })
  const auth = h('select', { name: 'auth', id: 'app-auth' },
    h('option', { value: 'client_secret_basic' }, 'Confidential: client_secret_basic'),
    h('option', { value: 'client_secret_post' }, 'Confidential: client_secret_post'),
    h('option', { value: 'none' }, 'Public (no secret)'))
  const pkce = h('select', { name: 'pkce', id: 'app-pkce' },
    h('option', { value: 's256_required' }, 'S256 required'), h('option', { value: 'required' }, 'required'), h('option', { value: 'optional' }, 'optional (confidential clients only)'))
  const ttl = h('input', { type: 'number', name: 'ttl', min: 60, step: 60, value: 7200, id: 'app-ttl' })
  const refreshDays = h('input', { type: 'number', name: 'refresh', min: 1, value: 60, id: 'app-refresh' })
  const create = h('button', { type: 'submit', class: 'primary', id: 'app-create' }, 'Create application')
  const formMsg = h('div', {})
  const form = h('form', { class: 'stack card', 'aria-labelledby': 'new-app-h' },
    h('h2', { id: 'new-app-h' }, 'New application'),
    field('Name', name),
    h('fieldset', {}, h('legend', {}, 'Grant types'), grants),
    field('Redirect URIs', uris, 'One per line, matched exactly; needed for authorization_code.'),
    field('Client type', auth), field('PKCE', pkce),
    field('Access token lifetime (seconds)', ttl), field('Refresh token lifetime (days)', refreshDays),
    create, formMsg)
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const input = {
      name: name.value,
      grantTypes: [...form.querySelectorAll<HTMLInputElement>('input[name=grant]:checked')].map((c) => c.value),
      redirectUris: uris.value.split(/\s+/).filter(Boolean),
      tokenEndpointAuthMethod: auth.value,
      pkceEnforcement: pkce.value,
      accessTokenTtl: Number(ttl.value),
      refreshTokenDuration: Number(refreshDays.value) * 86400,
    }
    clear(formMsg)
    try {
      const r = await busy(create, 'Creating…', () => gql('create-application', { input }))
      const c = r.createApplication
      form.reset()
      clear(notice, c.clientSecret
        ? secretBox(`${c.application.name} created.`, c.clientSecret, c.application.id)
        : h('div', { class: 'once', role: 'status', id: 'secret-box' }, h('p', {}, `${c.application.name} created: a public client, without a secret. client_id: `, h('code', {}, c.application.id), ' ', copyButton(c.application.id, 'Copy client id'))))
      await load()
    } catch (e) {
      clear(formMsg, h('div', { class: 'error', role: 'alert' }, errorText(e)))
    }
  })
  clear(root, h('h1', {}, 'Applications'), notice, listArea, form)
  await load()
}
