// What every page shares: the status line, errors in words, navigation.
import { ApiError } from './api'
import { AuthError } from './auth'
import { clear, h } from './dom'

let go: (path: string) => void = (p) => location.assign(p)

export function setNavigator(f: (path: string) => void) {
  go = f
}

export function navigate(path: string) {
  go(path)
}

// say shows a short message to everyone, screen readers included.
export function say(text: string) {
  const s = document.getElementById('status')
  if (s) s.textContent = text
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError || e instanceof AuthError) return e.message
  console.error(e)
  return 'Something unexpected went wrong in the console. Reload the page and try again.'
}

export function showError(root: HTMLElement, e: unknown) {
  clear(root, h('div', { class: 'error', role: 'alert' }, errorText(e)))
}

// busy disables a button while work runs and shows progress on it.
export async function busy<T>(button: HTMLButtonElement, label: string, work: () => Promise<T>): Promise<T> {
  const old = button.textContent
  button.disabled = true
  button.setAttribute('aria-busy', 'true')
  button.textContent = label
  try {
    return await work()
  } finally {
    button.disabled = false
    button.removeAttribute('aria-busy')
    button.textContent = old
  }
}
