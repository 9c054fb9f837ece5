// A small DOM builder: h('button', {type: 'button', onclick}, 'Save').
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>
export type Child = Node | string | number | null | undefined | false | Child[]

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v as EventListener)
    } else if (k === 'class') {
      el.className = String(v)
    } else if (v === true) {
      el.setAttribute(k, '')
    } else {
      el.setAttribute(k, String(v))
    }
  }
  append(el, children)
  return el
}

export function append(el: Element, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.append(c instanceof Node ? c : String(c))
  }
}

export function clear(el: Element, ...children: Child[]) {
  el.replaceChildren()
  append(el, children)
}

let ids = 0
// uid returns an id for label/input pairs.
export function uid(prefix = 'f'): string {
  return `${prefix}-${++ids}`
}

// field is a labelled control.
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  if (!control.id) control.id = uid()
  const parts: Child[] = [h('label', { for: control.id }, label), control]
  if (hint) {
    const hid = uid('hint')
    control.setAttribute('aria-describedby', hid)
    parts.push(h('small', { id: hid, class: 'hint' }, hint))
  }
  return h('div', { class: 'field' }, parts)
}

export function fmtTime(s: string | null | undefined): string {
  if (!s) return '—'
  const d = new Date(s)
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

// copyButton copies text to the clipboard and says so.
export function copyButton(text: string, label = 'Copy'): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'small' }, label)
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text)
      b.textContent = 'Copied'
    } catch {
      b.textContent = 'Select the text and copy it'
    }
  })
  return b
}
