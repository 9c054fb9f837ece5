import './style.css'
import { completeSignIn, loadConfig, onSignedOut, signedIn, signIn, signOut } from './auth'
import { closeSocket, gql } from './api'
import { errorText, say, setNavigator, showError } from './shell'
import { clear, h } from './dom'
import { devicesPage } from './pages/devices'
import { devicePage } from './pages/device'
import { applicationsPage } from './pages/applications'
import { groupsPage } from './pages/groups'

const main = document.getElementById('main')!
const nav = document.getElementById('nav')!
const who = document.getElementById('who')!
const signoutButton = document.getElementById('signout') as HTMLButtonElement

// A page renders into main and returns what to stop when it is left.
export type Cleanup = () => void
type Page = (root: HTMLElement, params: string[]) => Promise<Cleanup | void> | Cleanup | void

const routes: Array<[RegExp, string, Page]> = [
  [/^\/console\/?$/, 'devices', devicesPage],
  [/^\/console\/devices\/([^/]+)$/, 'devices', devicePage],
  [/^\/console\/applications$/, 'applications', applicationsPage],
  [/^\/console\/groups$/, 'groups', groupsPage],
]

let cleanup: Cleanup | void

function navigate(path: string) {
  history.pushState(null, '', path)
  void route()
}
setNavigator(navigate)

async function route() {
  if (cleanup) cleanup()
  cleanup = undefined
  say('')
  const path = location.pathname
  for (const [re, name, page] of routes) {
    const m = path.match(re)
    if (!m) continue
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.nav === name) a.setAttribute('aria-current', 'page')
      else a.removeAttribute('aria-current')
    }
    clear(main, h('p', { class: 'busy' }, 'Loading…'))
    try {
      cleanup = await page(main, m.slice(1).map(decodeURIComponent))
    } catch (e) {
      showError(main, e)
    }
    main.focus({ preventScroll: true })
    return
  }
  document.title = 'Not found — assetgate console'
  clear(main, h('h1', {}, 'Page not found'), h('p', {}, 'There is no console page at this address. ', h('a', { href: '/console/' }, 'Go to the devices.')))
}

function signInScreen(message?: string) {
  nav.hidden = true
  signoutButton.hidden = true
  who.textContent = ''
  document.title = 'Sign in — assetgate console'
  const button = h('button', { type: 'button', id: 'signin', class: 'primary' }, 'Sign in')
  button.addEventListener('click', () => {
    button.disabled = true
    button.textContent = 'Opening the sign-in page…'
    void signIn(location.pathname === '/console/callback' ? '/console/' : location.pathname + location.search)
  })
  clear(
    main,
    h('section', { class: 'card signin' },
      h('h1', {}, 'Sign in to the console'),
      message ? h('div', { class: 'error', role: 'alert' }, message) : null,
      h('p', {}, 'You sign in on assetgate’s own page with your e-mail and password; the console then works with your devices, groups and applications.'),
      button),
  )
}

async function start() {
  try {
    const cfg = await loadConfig()
    if (!cfg.clientId) {
      clear(main, h('section', { class: 'card' },
        h('h1', {}, 'The console has no sign-in client yet'),
        h('p', {}, 'Ask your operator for the console’s address: they create it with ', h('code', {}, 'assetgate app create-console --customer ID'), ', which prints a link with your organisation’s client id.')))
      return
    }
    if (location.pathname === '/console/callback') {
      const back = await completeSignIn()
      history.replaceState(null, '', back)
    }
  } catch (e) {
    signInScreen(errorText(e))
    return
  }
  if (!signedIn()) {
    signInScreen()
    return
  }
  onSignedOut(() => {
    closeSocket()
    signInScreen('Your session has ended. Sign in again to continue.')
  })
  nav.hidden = false
  signoutButton.hidden = false
  signoutButton.addEventListener('click', async () => {
    signoutButton.disabled = true
    signoutButton.textContent = 'Signing out…'
    closeSocket()
    await signOut()
  })
  document.addEventListener('click', (ev) => {
    const a = (ev.target as Element).closest('a')
    if (!a || a.target || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return
    const url = new URL(a.href, location.href)
    if (url.origin !== location.origin || !url.pathname.startsWith('/console')) return
    ev.preventDefault()
    navigate(url.pathname + url.search)
  })
  window.addEventListener('popstate', () => void route())
  gql('me').then(
    (d) => { who.textContent = `${d.me.email} · ${d.me.customer.name}` },
    () => {},
  )
  await route()
}

void start()
