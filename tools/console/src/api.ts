// GraphQL over HTTP and WebSocket with the signed-in user's token. The
// operations are the files of ./graphql, sent as written: they are the
// trusted documents (console/trusted-documents) a locked server runs.
import { createClient, type Client } from 'graphql-ws'
import { accessToken, refresh } from './auth'

const files = import.meta.glob('./graphql/*.graphql', { query: '?raw', import: 'default', eager: true }) as Record<string, string>
const documents: Record<string, string> = {}
for (const [path, text] of Object.entries(files)) {
  documents[path.replace(/^.*\/(.*)\.graphql$/, '$1')] = text
}

export interface GqlError {
  message: string
  path?: (string | number)[]
  extensions?: { code?: string; field?: string; [k: string]: unknown }
}

// ApiError carries a message in words that says what to do.
export class ApiError extends Error {
  constructor(message: string, readonly code: string, readonly field?: string) {
    super(message)
  }
}

// explain turns a GraphQL error into a sentence for a person.
export function explain(e: GqlError): ApiError {
  const code = e.extensions?.code || 'UNKNOWN'
  const field = e.extensions?.field as string | undefined
  const words: Record<string, string> = {
    UNAUTHENTICATED: 'Your session has ended. Sign in again.',
    FORBIDDEN: 'Your account may not do this. Ask an administrator of your organisation.',
    NOT_FOUND: 'This no longer exists (or was never yours to see). Go back to the list and reload it.',
    CONFLICT: `That clashes with what is stored: ${e.message}. Change it and try again.`,
    BAD_USER_INPUT: field ? `Check “${field}”: ${e.message}.` : `Check your input: ${e.message}.`,
    DEVICE_OFFLINE: 'The device is not connected right now. Try again when it is online.',
    GATEWAY_TIMEOUT: 'The device did not answer in time. Check that it is running, then try again.',
    RATE_LIMITED: 'Too many requests in a short time. Wait a minute, then try again.',
    UNAVAILABLE: 'assetgate is briefly unavailable. Try again in a minute.',
    OPERATION_NOT_TRUSTED: 'This server runs only registered operations and this console’s are not among them. Ask your operator to add console/trusted-documents to ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS.',
    PERSISTED_QUERY_NOT_FOUND: 'This server does not know this console’s operations. Ask your operator to register console/trusted-documents.',
    INTERNAL: 'Something went wrong on the server. Try again; if it keeps happening, tell your operator the time it happened.',
  }
  return new ApiError(words[code] || `The server refused: ${e.message}.`, code, field)
}

async function post(name: string, variables: Record<string, unknown>): Promise<Response> {
  const query = documents[name]
  if (!query) throw new ApiError(`The console has no operation “${name}”.`, 'CONSOLE')
  return fetch('/graphql', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `Bearer ${accessToken() || ''}` },
    body: JSON.stringify({ query, variables }),
  })
}

// gql runs the operation of ./graphql/NAME.graphql. A first
// UNAUTHENTICATED refreshes the token and tries once more.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function gql<T = any>(name: string, variables: Record<string, unknown> = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let res: Response
    try {
      res = await post(name, variables)
    } catch (e) {
      if (e instanceof ApiError) throw e
      throw new ApiError('The server cannot be reached. Check your network connection and try again.', 'NETWORK')
    }
    const body = await res.json().catch(() => null)
    if (!body) throw new ApiError(`The server answered ${res.status} without a GraphQL result. Try again.`, 'HTTP')
    const errors: GqlError[] = body.errors || []
    const unauth = res.status === 401 || errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED')
    if (unauth && attempt === 0 && (await refresh())) continue
    if (errors.length) throw explain(errors[0])
    return body.data as T
  }
}

let ws: Client | null = null

function socket(): Client {
  if (!ws) {
    ws = createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      connectionParams: () => ({ Authorization: `Bearer ${accessToken() || ''}` }),
      retryAttempts: 20,
      shouldRetry: () => true,
      lazy: true,
    })
  }
  return ws
}

export function closeSocket() {
  ws?.dispose()
  ws = null
}

// subscribe runs a subscription of ./graphql; it returns its stop function.
export function subscribe<T>(name: string, variables: Record<string, unknown>, next: (data: T) => void, error: (e: ApiError) => void): () => void {
  return socket().subscribe<T>(
    { query: documents[name], variables },
    {
      next: (r) => {
        if (r.errors?.length) error(explain(r.errors[0] as GqlError))
        else if (r.data) next(r.data as T)
      },
      error: (e) => {
        const list = Array.isArray(e) ? (e as GqlError[]) : null
        error(list?.length ? explain(list[0]) : new ApiError('The live connection was lost. Reload the page to reconnect.', 'NETWORK'))
      },
      complete: () => {},
    },
  )
}
