/*
 * The dashboard's only way to the data: the service's public HTTP API, with the session cookie
 * (sent by the browser, never readable here) and, on writes, the CSRF token the API gave.
 */

export interface Problem {
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly errors?: readonly { field: string; message: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(status: number, problem: Problem | undefined) {
    const fields = problem?.errors?.map((e) => `${e.field}: ${e.message}`).join('; ');
    super(
      `${problem?.detail ?? problem?.title ?? `The server answered HTTP ${status}`}${fields ? ` (${fields})` : ''}`,
    );
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

export interface SessionInfo {
  readonly token: { readonly id: string; readonly name: string; readonly scope: 'read' | 'write' };
  readonly session: { readonly expiresAt: string; readonly csrfToken: string } | null;
}

let csrfToken: string | undefined;
let onSignedOut: () => void = () => {};

export const useSession = (session: SessionInfo | undefined): void => {
  csrfToken = session?.session?.csrfToken;
};
export const whenSignedOut = (handler: () => void): void => {
  onSignedOut = handler;
};

export interface RequestOptions {
  readonly method?: string;
  readonly body?: BodyInit | object | null;
  readonly headers?: Record<string, string>;
  readonly accept?: string;
  /** Leave a 401 to the caller (sign-in) instead of going back to the sign-in page. */
  readonly quiet401?: boolean;
}

export const request = async (path: string, options: RequestOptions = {}): Promise<Response> => {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = {
    accept: options.accept ?? 'application/json',
    ...options.headers,
  };
  let body: BodyInit | null | undefined;
  if (options.body === undefined || options.body === null) body = undefined;
  else if (
    typeof options.body === 'string' ||
    options.body instanceof Blob ||
    options.body instanceof FormData ||
    options.body instanceof ArrayBuffer
  )
    body = options.body as BodyInit;
  else {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken !== undefined) headers['x-ferry-csrf'] = csrfToken;
  const response = await fetch(path, { method, headers, body: body ?? null, credentials: 'same-origin' });
  if (!response.ok) {
    let problem: Problem | undefined;
    try {
      problem = (await response.json()) as Problem;
    } catch {
      problem = undefined;
    }
    if (response.status === 401 && options.quiet401 !== true) onSignedOut();
    throw new ApiError(response.status, problem);
  }
  return response;
};

export const getJson = async <T>(path: string, options: RequestOptions = {}): Promise<T> =>
  (await (await request(path, options)).json()) as T;

export const query = (params: Record<string, string | number | boolean | undefined | null>): string => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
};
