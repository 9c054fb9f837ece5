// Sign-in as a public OAuth client: authorization code + PKCE (S256) with
// openid, through assetgate's own login and consent pages. Tokens live in
// this module's memory only; the PKCE verifier and state wait in
// sessionStorage during the round trip to the login page (single use).
// Refresh tokens rotate: each refresh returns a new one. Sign-out revokes
// both tokens and ends the login session.

export interface Config {
  clientId: string | null
  scope: string
  callbackPath: string
}

interface Tokens {
  access: string
  refresh: string | null
  idToken: string | null
  expiresAt: number
}

let tokens: Tokens | null = null
let refreshing: Promise<boolean> | null = null
let refreshTimer: number | undefined
let config: Config
const listeners: Array<() => void> = []

const PENDING = 'assetgate-console:pending'
const CLIENT = 'assetgate-console:client_id'

export function onSignedOut(f: () => void) {
  listeners.push(f)
}

// loadConfig reads /console/config.json; a client_id in the console's
// address (printed by `assetgate app create-console`) wins and is kept for
// the tab's session (it is a public value).
export async function loadConfig(): Promise<Config> {
  const res = await fetch('/console/config.json', { headers: { Accept: 'application/json' } })
  if (!res.ok) throw new Error(`config.json answered ${res.status}`)
  config = await res.json()
  const q = new URLSearchParams(location.search).get('client_id')
  if (q) sessionStorage.setItem(CLIENT, q)
  config.clientId = sessionStorage.getItem(CLIENT) || config.clientId
  return config
}

export function signedIn(): boolean {
  return tokens !== null
}

function b64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function random(n = 32): string {
  return b64url(crypto.getRandomValues(new Uint8Array(n)))
}

function redirectURI(): string {
  return location.origin + config.callbackPath
}

// signIn goes to the authorization endpoint; back is where to return.
export async function signIn(back: string) {
  if (!config.clientId) throw new Error('no client id')
  const verifier = random(48)
  const state = random(16)
  const nonce = random(16)
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, back }))
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectURI(),
    scope: config.scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  location.assign('/oauth/authorize?' + q.toString())
}

export class AuthError extends Error {}

// completeSignIn handles /console/callback: checks state, exchanges the code
// and returns the path to go back to.
export async function completeSignIn(): Promise<string> {
  const q = new URLSearchParams(location.search)
  const raw = sessionStorage.getItem(PENDING)
  sessionStorage.removeItem(PENDING)
  if (q.get('error')) {
    const why = q.get('error') === 'access_denied' ? 'You declined the console access to your account.' : q.get('error_description') || q.get('error')
    throw new AuthError(`Sign-in did not complete: ${why} Sign in again to continue.`)
  }
  if (!raw) throw new AuthError('This sign-in was not started in this tab (or was already used). Sign in again.')
  const pending = JSON.parse(raw) as { verifier: string; state: string; nonce: string; back: string }
  if (q.get('state') !== pending.state) throw new AuthError('The sign-in answer does not match the request (state). Sign in again.')
  await tokenRequest({
    grant_type: 'authorization_code',
    code: q.get('code') || '',
    redirect_uri: redirectURI(),
    client_id: config.clientId || '',
    code_verifier: pending.verifier,
  })
  return pending.back || '/console/'
}

async function tokenRequest(form: Record<string, string>) {
  let res: Response
  try {
    res = await fetch('/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(form),
    })
  } catch {
    throw new AuthError('The server cannot be reached. Check your connection, then sign in again.')
  }
  const body = await res.json().catch(() => ({}))
  if (!res.ok) {
    throw new AuthError(`Sign-in failed (${body.error || res.status}${body.error_description ? ': ' + body.error_description : ''}). Sign in again.`)
  }
  tokens = {
    access: body.access_token,
    refresh: body.refresh_token || tokens?.refresh || null,
    idToken: body.id_token || tokens?.idToken || null,
    expiresAt: Date.now() + (body.expires_in || 3600) * 1000,
  }
  scheduleRefresh()
}

function scheduleRefresh() {
  window.clearTimeout(refreshTimer)
  if (!tokens?.refresh) return
  const wait = Math.max(5_000, tokens.expiresAt - Date.now() - 60_000)
  refreshTimer = window.setTimeout(() => void refresh(), wait)
}

// refresh exchanges the refresh token for new tokens (the refresh token
// rotates). It returns false when the session is over.
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing
  refreshing = (async () => {
    try {
      if (!tokens?.refresh) return false
      await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh, client_id: config.clientId || '' })
      return true
    } catch {
      forget()
      return false
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

export function accessToken(): string | null {
  return tokens?.access ?? null
}

function forget() {
  tokens = null
  window.clearTimeout(refreshTimer)
  for (const f of listeners) f()
}

async function revoke(token: string, hint: string) {
  await fetch('/oauth/revoke', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: hint, client_id: config.clientId || '' }),
  })
}

// signOut revokes the tokens, then ends the login session at the
// authorization server, which sends the browser back to the console.
export async function signOut() {
  const t = tokens
  tokens = null
  window.clearTimeout(refreshTimer)
  if (t) {
    await Promise.allSettled([t.refresh ? revoke(t.refresh, 'refresh_token') : null, revoke(t.access, 'access_token')])
  }
  const q = new URLSearchParams({ client_id: config.clientId || '', post_logout_redirect_uri: location.origin + '/console/' })
  if (t?.idToken) q.set('id_token_hint', t.idToken)
  location.assign('/oauth/logout?' + q.toString())
}
