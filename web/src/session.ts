/**
 * Who the page calls the API as. In local development mode nobody signs in; otherwise the
 * page holds one bearer token (an API token, or a JWT handed over by the embedding app), in
 * this tab's session storage only: never in local storage, a cookie or the URL.
 */
const KEY = 'takeout.token';

export function currentToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled: the token lives as long as the page
  }
}

export function setToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: nothing to keep.
  }
}

/**
 * A token in the URL fragment (`#token=...` or `#access_token=...`), as an app that opens the
 * page may pass it; the fragment never reaches a server, and it is taken out of the address
 * bar (and history) at once.
 */
export function takeTokenFromFragment(): boolean {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token') ?? fragment.get('access_token');
  if (!token) return false;
  setToken(token);
  history.replaceState(null, '', location.pathname + location.search);
  return true;
}

/**
 * The embedding app (the page in its iframe; CSP frame-ancestors says which apps may frame
 * it) sends `{ type: 'takeout:token', token }` with postMessage. Only the parent window is
 * listened to. The page says `takeout:ready` once it listens, so the app knows when to send.
 */
export function acceptTokenFromParent(onToken: () => void): void {
  if (window.parent === window) return;
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent) return;
    const data = event.data as { type?: unknown; token?: unknown } | null;
    if (data?.type !== 'takeout:token' || typeof data.token !== 'string' || data.token === '') return;
    setToken(data.token);
    onToken();
  });
  window.parent.postMessage({ type: 'takeout:ready' }, '*');
}
