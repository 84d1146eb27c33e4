// Shared by the chat page and the admin console: HTTP calls with a token, building DOM nodes
// (always as text: event contents come from other users and are never parsed as HTML), and the
// development login.
'use strict';

/** fetch() with the bearer token; a refusal throws an Error with the gateway's stable code. */
async function gatewayFetch(path, token, options = {}) {
  const headers = {...options.headers};
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {...options, headers});
  if (!response.ok) {
    let code = `http.${response.status}`;
    let message = response.statusText;
    try {
      ({code, message} = (await response.json()).error);
    } catch (_) { /* not a JSON error document */ }
    throw Object.assign(new Error(`${message} (${code})`), {code, status: response.status});
  }
  return response;
}

async function gatewayJSON(path, token, options) {
  return (await gatewayFetch(path, token, options)).json();
}

/** el('li', {className: 'event'}, 'text', childNode): children are text or nodes, never HTML. */
function el(tag, properties = {}, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function formatTime(timestamp) {
  const date = new Date(timestamp);
  return isNaN(date) ? '' : date.toLocaleTimeString();
}

/**
 * Shows `form` only while the gateway runs on its built-in development secret (it answers
 * {"enabled": false} otherwise, and refuses to mint). On submit, mints a token for the typed
 * name (with the admin scope when the form has data-admin="true") and hands it to onToken.
 */
async function offerDevelopmentLogin(form, onToken, onError) {
  const status = await gatewayJSON('/api/v1/dev/login').catch(() => ({enabled: false}));
  if (!status.enabled) return;
  form.hidden = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {name: form.elements.name.value, admin: form.dataset.admin === 'true'};
    try {
      const answer = await gatewayJSON('/api/v1/dev/login', null, {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body),
      });
      onToken(answer.token);
    } catch (error) {
      onError(error);
    }
  });
}
