// The chat page: the project's example client. It talks to the gateway exactly as any client
// would (docs/client-protocol.md): HTTP for signing in, history and uploads; one WebSocket for
// everything live. Reconnecting resumes with ?last_id=, so nothing is lost or shown twice.
'use strict';

const $ = (id) => document.getElementById(id);

const chat = {
  token: null,
  me: null,                 // {id, title, principals} from GET /api/v1/context
  socket: null,
  lastId: 0,                // the highest event id received: where a reconnect resumes
  seen: new Set(),          // event ids shown (a repeat would be a gateway bug: counted, not shown)
  duplicates: 0,
  connects: 0,
  reconnectDelay: 1000,
  nextRef: 1,
  sent: new Map(),          // ref of a publish → its <li>, until the ack gives its event id
  mine: new Map(),          // event id of a message I sent → its <li>, for read marks
  unreadMarks: [],          // read marks waiting for an open socket and a visible page
  typingSentAt: 0,
  typingTimer: null,
};
window.chat = chat;         // for the browser tests and the curious (devtools)

// MARK: Signing in and out

async function signIn(token) {
  try {
    chat.me = (await gatewayJSON('/api/v1/context', token)).principal;
  } catch (error) {
    $('sign-in-error').textContent = `Cannot sign in: ${error.message}`;
    return;
  }
  chat.token = token;
  sessionStorage.setItem('gateway.token', token);
  $('me').textContent = `${chat.me.title || chat.me.id} (${chat.me.id})`;
  $('sign-in').hidden = true;
  $('chat').hidden = false;
  $('sign-out').hidden = false;
  await loadHistory();
  connect();
}

function signOut(reason = '') {
  sessionStorage.removeItem('gateway.token');
  chat.token = null;
  chat.socket?.close(1000);
  chat.socket = null;
  $('events').replaceChildren();
  chat.seen.clear();
  chat.lastId = 0;
  $('chat').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('me').textContent = '';
  $('sign-in-error').textContent = reason;
  setStatus('signed out');
}

// MARK: History and the live connection

/** GET /api/v1/notifications: newest first, without what I sent; shown oldest first. */
async function loadHistory() {
  const host = encodeURIComponent(location.origin);  // the WebSocket's host is its Origin
  const history = await gatewayJSON(`/api/v1/notifications?host=${host}`, chat.token);
  for (const event of history.notifications.reverse()) showEvent(event);
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  // A browser cannot set Authorization on a WebSocket: the token travels as a subprotocol.
  const socket = new WebSocket(`${scheme}://${location.host}/ws?last_id=${chat.lastId}`,
                               ['accessToken', chat.token]);
  chat.socket = socket;
  setStatus('connecting…');
  socket.onopen = () => {
    chat.connects += 1;
    chat.reconnectDelay = 1000;
    setStatus('connected', 'connected');
    flushReadMarks();
  };
  socket.onmessage = (message) => receive(JSON.parse(message.data));
  socket.onclose = (close) => {
    if (chat.socket !== socket) return;  // signed out, or replaced already
    chat.socket = null;
    reconnectLater(close.code);
  };
}

async function reconnectLater(code) {
  // A refused upgrade looks like any lost connection (1006): ask over HTTP whether the token
  // still works before trying again.
  const tokenRefused = await gatewayFetch('/api/v1/context', chat.token)
    .then(() => false, (error) => error.status === 401);
  if (tokenRefused) return signOut('Your token is no longer accepted; sign in again.');
  if (chat.socket || !chat.token) return;  // back online meanwhile ('online' event), or signed out
  const delay = chat.reconnectDelay;
  chat.reconnectDelay = Math.min(delay * 2, 8000);
  setStatus(`disconnected (${code}); reconnecting in ${delay / 1000} s`, 'disconnected');
  setTimeout(() => { if (chat.token && !chat.socket) connect(); }, delay);
}

window.addEventListener('online', () => { if (chat.token && !chat.socket) connect(); });

function setStatus(text, kind = '') {
  $('status').textContent = text;
  $('status').className = `status ${kind}`;
}

// MARK: What the gateway sends

function receive(frame) {
  if (frame.category !== undefined) return showEvent(frame);  // events carry a category
  switch (frame.type) {
    case 'ack': return acknowledged(frame);
    case 'error': return refused(frame);
    case 'typing': return showTyping(frame.source);
    case 'read': return showReadMark(frame);
  }
}

function showEvent(event) {
  if (chat.seen.has(event.id)) {
    chat.duplicates += 1;
    return;
  }
  chat.seen.add(event.id);
  chat.lastId = Math.max(chat.lastId, event.id);
  const sender = event.source?.title || event.source?.id || 'gateway';
  const item = el('li', {className: 'event'},
    el('div', {className: 'meta'}, `${sender} · ${formatTime(event.timestamp)} · #${event.id}`),
    el('div', {className: 'text'}, event.message ?? event.title ?? event.category));
  for (const attachment of event.attachments ?? []) item.append(attachmentView(attachment));
  item.dataset.id = event.id;
  appendItem(item);
  if (event.source?.id && event.source.id !== chat.me.id) markRead(event);
}

function appendItem(item) {
  const list = $('events');
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function showTyping(source) {
  $('typing').textContent = `${source.title || source.id} is typing…`;
  clearTimeout(chat.typingTimer);
  chat.typingTimer = setTimeout(() => { $('typing').textContent = ''; }, 3000);
}

function showReadMark(mark) {
  const receipt = chat.mine.get(mark.id)?.querySelector('.receipt');
  if (!receipt) return;
  receipt.textContent = `read by ${mark.source.title || mark.source.id}`;
  receipt.classList.add('read');
}

function acknowledged(ack) {
  const item = chat.sent.get(ack.ref);
  if (!item) return;
  chat.sent.delete(ack.ref);
  chat.mine.set(ack.id, item);
  item.dataset.id = ack.id;
  item.querySelector('.receipt').textContent = 'sent';
}

function refused(frame) {
  const text = `${frame.error.message} (${frame.error.code})`;
  const item = chat.sent.get(frame.ref);
  if (item) {
    item.classList.add('failed');
    item.querySelector('.receipt').textContent = text;
  } else {
    $('chat-error').textContent = text;
  }
}

// MARK: What this page sends

function sendFrame(frame) {
  if (chat.socket?.readyState !== WebSocket.OPEN) return false;
  chat.socket.send(JSON.stringify(frame));
  return true;
}

async function send(submit) {
  submit.preventDefault();
  const to = $('to').value.trim();
  const text = $('message').value.trim();
  const file = $('file').files[0];
  if (!to || (!text && !file)) return;
  if (chat.socket?.readyState !== WebSocket.OPEN) {
    $('chat-error').textContent = 'Not connected: the message was not sent.';
    return;
  }
  $('chat-error').textContent = '';
  let uploaded = [];
  try {
    if (file) uploaded = [await upload(file)];
  } catch (error) {
    $('chat-error').textContent = `Upload refused: ${error.message}`;
    return;
  }
  const event = {category: 'chat.message', message: text, target: {principals: [to]}};
  if (uploaded.length) event.attachments = uploaded.map((attachment) => ({id: attachment.id}));
  const ref = `r${chat.nextRef++}`;
  if (!sendFrame({type: 'publish', ref, event})) {
    $('chat-error').textContent = 'Not connected: the message was not sent.';
    return;
  }
  const item = el('li', {className: 'event mine'},
    el('div', {className: 'meta'}, `to ${to} · ${formatTime(Date.now())}`, el('span', {className: 'receipt'}, 'sending…')),
    el('div', {className: 'text'}, text));
  for (const attachment of uploaded) item.append(attachmentView(attachment));
  chat.sent.set(ref, item);
  appendItem(item);
  $('message').value = '';
  $('file').value = '';
}

/** POST /api/v1/attachments: the raw bytes; answers the attachment's descriptor. */
async function upload(file) {
  return gatewayJSON('/api/v1/attachments', chat.token, {
    method: 'POST',
    headers: {'Content-Type': file.type || 'application/octet-stream', 'X-File-Name': encodeURIComponent(file.name)},
    body: file,
  });
}

function typing() {
  const to = $('to').value.trim();
  if (!to || Date.now() - chat.typingSentAt < 2000) return;
  if (sendFrame({type: 'typing', target: {principals: [to]}})) chat.typingSentAt = Date.now();
}

/** Tells the sender its event was read: once it is on screen and the page is visible. */
function markRead(event) {
  chat.unreadMarks.push({type: 'read', id: event.id, target: {principals: [event.source.id]}});
  flushReadMarks();
}

function flushReadMarks() {
  if (document.visibilityState !== 'visible') return;
  while (chat.unreadMarks.length && sendFrame(chat.unreadMarks[0])) chat.unreadMarks.shift();
}

document.addEventListener('visibilitychange', flushReadMarks);

// MARK: Attachments

/** A thumbnail that opens the original. Both are fetched with the token (an <img src> cannot send it). */
function attachmentView(attachment) {
  if (!attachment.thumbnail && attachment.type !== 'image') {
    return el('div', {className: 'attachment'}, attachment.url ?? attachment.name ?? attachment.type);
  }
  const image = el('img', {className: 'thumbnail', alt: attachment.name ?? 'image', title: 'open the original'});
  showImage(image, attachment.thumbnail?.src ?? attachment.src);
  image.addEventListener('click', () => {
    $('original').removeAttribute('src');
    showImage($('original'), attachment.src);
    $('viewer').showModal();
  });
  return image;
}

async function showImage(image, src) {
  try {
    const blob = await (await gatewayFetch(src, chat.token)).blob();
    image.src = URL.createObjectURL(blob);
  } catch (error) {
    image.alt = `cannot load: ${error.message}`;
  }
}

// MARK: Start

$('token-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  signIn(submit.target.elements.token.value.trim());
});
$('sign-out').addEventListener('click', () => signOut());
$('compose').addEventListener('submit', send);
$('message').addEventListener('input', typing);
offerDevelopmentLogin($('dev-form'), signIn, (error) => { $('sign-in-error').textContent = error.message; });
const saved = sessionStorage.getItem('gateway.token');
if (saved) signIn(saved);
