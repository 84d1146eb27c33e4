// The admin console: everything it shows and does goes through the admin API
// (docs/admin-api.md), refreshed every two seconds. Rates are differences between two refreshes
// of the same counters /metrics exports.
'use strict';

const $ = (id) => document.getElementById(id);
const pageSize = 20;
const admin = {token: null, timer: null, previous: null, offset: 0};
window.admin = admin;  // for the browser tests

async function call(path, options) {
  return gatewayJSON(path, admin.token, options);
}

async function post(path, body) {
  return call(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
}

// MARK: Signing in

async function signIn(token) {
  admin.token = token;
  try {
    await refresh();
  } catch (error) {
    admin.token = null;
    $('sign-in-error').textContent = error.code === 'admin.forbidden'
      ? `This token is not an admin token: ${error.message}` : `Cannot sign in: ${error.message}`;
    return;
  }
  sessionStorage.setItem('gateway.admin.token', token);
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('sign-out').hidden = false;
  admin.timer = setInterval(() => refresh().catch(showError), 2000);
}

function signOut() {
  clearInterval(admin.timer);
  sessionStorage.removeItem('gateway.admin.token');
  Object.assign(admin, {token: null, previous: null});
  $('console').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('status').textContent = 'signed out';
}

function showError(error) {
  $('status').textContent = `refresh failed: ${error.message}`;
  $('status').className = 'status disconnected';
}

// MARK: Refreshing

async function refresh() {
  const [overview, page] = await Promise.all([
    call('/api/v1/admin/overview'),
    call(`/api/v1/admin/connections?offset=${admin.offset}&limit=${pageSize}`),
  ]);
  $('who').textContent = `${overview.admin.id} · gateway up since ${new Date(overview.started_at).toLocaleString()}`;
  showConnections(overview.connections, page);
  showRates(overview.metrics, admin.previous);
  showHistory(overview.history, overview.engine);
  showPlugins(overview.plugins);
  admin.previous = {metrics: overview.metrics, at: performance.now()};
  $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  $('status').className = 'status connected';
}

function rows(tableId, cells) {
  $(tableId).tBodies[0].replaceChildren(...cells.map((row) => el('tr', {}, ...row)));
}

const td = (text, className = '') => el('td', {className}, String(text));
const number = (value) => td(value, 'number');

function showConnections(connections, page) {
  $('connection-count').textContent = connections.total;
  rows('per-host', connections.per_host.map(({host, count}) => [td(host), number(count)]));
  rows('connections', page.connections.map((connection) => {
    const button = el('button', {className: 'secondary'}, 'disconnect');
    button.addEventListener('click', () => disconnect(connection));
    return [td(connection.id), td(connection.principal), td(connection.host),
            td(new Date(connection.connected_at).toLocaleString()), number(connection.queued_bytes), el('td', {}, button)];
  }));
  const last = Math.min(page.offset + page.connections.length, page.total);
  $('page').textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : 'no connections';
  $('previous').disabled = page.offset === 0;
  $('next').disabled = last >= page.total;
}

/** Events per second between the previous refresh and this one. */
function showRates(metrics, previous) {
  const seconds = previous ? (performance.now() - previous.at) / 1000 : 0;
  const rate = (now, before) => (seconds > 0 ? ((now - before) / seconds).toFixed(1) : '–');
  const old = previous?.metrics;
  const lines = Object.entries(metrics.events_in).map(([ingress, count]) =>
    [td(`in (${ingress})`), number(rate(count, old?.events_in[ingress] ?? count))]);
  lines.push([td('routed'), number(rate(metrics.events_routed, old?.events_routed))]);
  lines.push([td('deliveries'), number(rate(metrics.deliveries, old?.deliveries))]);
  const drops = Object.values(metrics.drops).reduce((sum, count) => sum + count, 0);
  const oldDrops = old ? Object.values(old.drops).reduce((sum, count) => sum + count, 0) : drops;
  lines.push([td('drops'), number(rate(drops, oldDrops))]);
  rows('rates', lines);

  const latency = metrics.delivery_latency;
  const recent = old ? subtractHistogram(latency, old.delivery_latency) : latency;
  rows('latency', [
    [td('p50 (last 2 s)'), number(quantile(recent, 0.5))],
    [td('p99 (last 2 s)'), number(quantile(recent, 0.99))],
    [td('p99 (since start)'), number(quantile(latency, 0.99))],
    [td('events measured'), number(latency.count)],
  ]);
}

function subtractHistogram(now, before) {
  return {count: now.count - before.count,
          buckets: now.buckets.map(([le, count], index) => [le, count - before.buckets[index][1]])};
}

/** The upper bound of the histogram bucket holding quantile q: "≤ 1 ms". */
function quantile(histogram, q) {
  if (!histogram.count) return '–';
  const wanted = q * histogram.count;
  const bucket = histogram.buckets.find(([, count]) => count >= wanted);
  if (!bucket || bucket[0] === '+Inf') return `> ${formatSeconds(histogram.buckets.at(-2)[0])}`;
  return `≤ ${formatSeconds(bucket[0])}`;
}

function formatSeconds(seconds) {
  return seconds >= 1 ? `${seconds} s` : seconds >= 0.001 ? `${seconds * 1000} ms` : `${seconds * 1e6} µs`;
}

function showHistory(history, engine) {
  const engineRow = [td('engine'), td(`${engine.kind}, ${engine.state}${engine.reason ? `: ${engine.reason}` : ''}`, 'number')];
  if (!history) return rows('history', [engineRow, [td('history'), td('kept by the engine', 'number')]]);
  rows('history', [
    engineRow,
    [td('events'), number(history.events)],
    [td('deliveries'), number(history.deliveries)],
    [td('size'), number(`${(history.size_bytes / 1024).toFixed(0)} KiB`)],
    [td('last event id'), number(history.last_event_id)],
  ]);
}

function showPlugins(plugins) {
  rows('plugins', plugins.map((plugin, index) => {
    const toggle = el('input', {type: 'checkbox', checked: plugin.enabled, title: `enable ${plugin.entry}`});
    toggle.dataset.entry = plugin.entry;
    toggle.addEventListener('change', () => setEnabled(plugin.entry, toggle.checked));
    return [td(index + 1), td(plugin.entry), td(plugin.name ?? '–'), td(plugin.version ?? '–'),
            td((plugin.capabilities ?? []).join(', ')), number(plugin.calls), number(plugin.errors), el('td', {}, toggle)];
  }));
  plugins.forEach((plugin, index) => $('plugins').tBodies[0].rows[index].classList.toggle('disabled', !plugin.enabled));
  showMessengers(plugins.filter((plugin) => plugin.enabled && plugin.capabilities?.includes('messenger')));
}

/** The messenger choices: enabled plugins with the messenger capability (kept while unchanged). */
function showMessengers(messengers) {
  const select = $('test-messenger').elements.messenger;
  const names = messengers.map((plugin) => plugin.entry);
  if (names.join() !== [...select.options].map((option) => option.value).join()) {
    select.replaceChildren(...names.map((name) => el('option', {value: name}, name)));
  }
  $('test-messenger').hidden = names.length === 0;
  $('no-messengers').hidden = names.length > 0;
}

// MARK: Actions (each one is written to the gateway's log as an audit line)

async function setEnabled(entry, enabled) {
  const persist = $('persist').checked;
  await act(`${enabled ? 'enabled' : 'disabled'} ${entry}${persist ? ' and wrote gateway.conf' : ''}`,
            () => post(`/api/v1/admin/plugins/${encodeURIComponent(entry)}`, {enabled, persist}));
}

async function disconnect(connection) {
  await act(`disconnected ${connection.principal} (#${connection.id})`,
            () => post(`/api/v1/admin/connections/${connection.id}/disconnect`, {}));
}

async function sendTestEvent(submit) {
  submit.preventDefault();
  const form = submit.target.elements;
  const event = {category: 'admin.test', message: form.message.value, target: {principals: [form.to.value.trim()]}};
  await act('sent a test event', () => post('/api/v1/admin/events', event), (answer) => ` (#${answer.id})`);
}

async function sendTestMessage(submit) {
  submit.preventDefault();
  const form = submit.target.elements;
  const messenger = form.messenger.value;
  const address = form.address.value.trim();
  await act(`sent a test message through ${messenger} to ${address}`,
            () => post(`/api/v1/admin/messengers/${encodeURIComponent(messenger)}/test`, {address}));
}

async function act(description, request, detail = () => '') {
  try {
    const answer = await request();
    $('action-result').textContent = `${new Date().toLocaleTimeString()}: ${description}${detail(answer)}`;
  } catch (error) {
    $('action-result').textContent = `${new Date().toLocaleTimeString()}: refused: ${error.message}`;
  }
  await refresh().catch(showError);
}

// MARK: Start

$('token-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  signIn(submit.target.elements.token.value.trim());
});
$('sign-out').addEventListener('click', signOut);
$('test-event').addEventListener('submit', sendTestEvent);
$('test-messenger').addEventListener('submit', sendTestMessage);
$('previous').addEventListener('click', () => { admin.offset = Math.max(0, admin.offset - pageSize); refresh(); });
$('next').addEventListener('click', () => { admin.offset += pageSize; refresh(); });
offerDevelopmentLogin($('dev-form'), signIn, (error) => { $('sign-in-error').textContent = error.message; });
const saved = sessionStorage.getItem('gateway.admin.token');
if (saved) signIn(saved);
