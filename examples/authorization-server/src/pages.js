/** The only HTML this server serves: the login form of the authorization endpoint, and errors. */
import { escapeHtml } from './http.js';

const HEAD = '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>tokenward example: sign in</title>';

/**
 * The form posts the authorization request back with the credentials.
 * @param {URLSearchParams | Map<string, string>} request the authorization request parameters
 * @param {{ clientId: string, scope: string[], message?: string }} view
 */
export function loginPage(request, view) {
  const hidden = [...request.entries()]
    .filter(([name]) => name !== 'username' && name !== 'password')
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const message = view.message === undefined ? '' : `<p role="alert">${escapeHtml(view.message)}</p>`;
  return `${HEAD}<h1>Sign in</h1>
<p><b>${escapeHtml(view.clientId)}</b> asks for: ${escapeHtml(view.scope.join(' ') || '(default scopes)')}</p>${message}
<form method="post" action="/authorize">${hidden}
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Sign in and allow</button></form>`;
}

/** @param {string} message */
export function errorPage(message) {
  return `${HEAD}<h1>Request refused</h1><p>${escapeHtml(message)}</p>`;
}
