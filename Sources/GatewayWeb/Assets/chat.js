// The chat page: the project's example client. It talks to the gateway exactly as any client
// would (docs/client-protocol.md): HTTP for signing in, history and uploads; one WebSocket for
// everything live. Reconnecting resumes with ?last_id=, so nothing is lost or shown twice.
// Conversations: "Direct messages" (events addressed to principals) and each room you are a
// member of (docs/client-protocol.md#rooms); the list shows only the open conversation's events.
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
  room: null,               // the open room's id; null: direct messages
  rooms: new Map(),         // room id → {id, title, unread, item}, from GET /api/v1/rooms
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
  await Promise.all([loadHistory(), loadRooms()]);
  connect();
}

function signOut(reason = '') {
  sessionStorage.removeItem('gateway.token');
  chat.token = null;
  chat.socket?.close(1000);
  chat.socket = null;
  $('events').replaceChildren();
  chat.seen.clear();
  chat.rooms.clear();
  openConversation(null);
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
  for (const event of history.notifications.reverse()) {
    showEvent(event, {fromHistory: true});
    chat.lastId = Math.max(chat.lastId, event.id);  // the connection resumes after what history showed
  }
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
    case 'typing': return showTyping(frame);
    case 'read': return showReadMark(frame);
    case 'unread': return showUnread(frame);
    case 'room.member': return loadRooms();  // added to, changed in or removed from a room
  }
}

/** One event in the list. A room's history overlaps the live events: what is shown is skipped. */
function showEvent(event, {fromHistory = false} = {}) {
  if (chat.seen.has(event.id)) {
    if (!fromHistory) chat.duplicates += 1;
    return;
  }
  chat.seen.add(event.id);
  if (!fromHistory) chat.lastId = Math.max(chat.lastId, event.id);
  const mine = event.source?.id === chat.me.id;  // in a room's history: what I sent
  const sender = event.source?.title || event.source?.id || 'gateway';
  const item = el('li', {className: mine ? 'event mine' : 'event'},
    el('div', {className: 'meta'}, `${sender} · ${formatTime(event.timestamp)} · #${event.id}`),
    el('div', {className: 'text'}, event.message ?? event.title ?? event.category));
  for (const attachment of event.attachments ?? []) item.append(attachmentView(attachment));
  item.dataset.id = event.id;
  item.dataset.room = event.target?.rooms?.[0] ?? '';
  appendItem(item);
  if (mine) return;
  if (item.dataset.room) {
    if (item.dataset.room === chat.room) markRoomRead();
  } else if (event.source?.id) {
    markRead(event);
  }
}

/** In id order (a room's history arrives after newer live events), shown if in the open conversation. */
function appendItem(item) {
  const list = $('events');
  const id = Number(item.dataset.id);
  const later = item.dataset.id ? [...list.children].find((other) => Number(other.dataset.id) > id) : null;
  list.insertBefore(item, later ?? null);
  item.hidden = item.dataset.room !== (chat.room ?? '');
  list.scrollTop = list.scrollHeight;
}

function showTyping(frame) {
  if ((frame.room ?? null) !== chat.room) return;  // someone typing in another conversation
  const source = frame.source;
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
  const to = chat.room ? chat.rooms.get(chat.room)?.title : $('to').value.trim();
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
  const target = chat.room ? {rooms: [chat.room]} : {principals: [to]};
  const event = {category: 'chat.message', message: text, target};
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
  item.dataset.room = chat.room ?? '';
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
  if ((!to && !chat.room) || Date.now() - chat.typingSentAt < 2000) return;
  const frame = chat.room ? {type: 'typing', room: chat.room} : {type: 'typing', target: {principals: [to]}};
  if (sendFrame(frame)) chat.typingSentAt = Date.now();
}

/** Tells the sender its event was read: once it is on screen and the page is visible. */
function markRead(event) {
  chat.unreadMarks.push({type: 'read', id: event.id, target: {principals: [event.source.id]}});
  flushReadMarks();
}

/** A read mark in the open room, up to the newest event shown there: clears my unread count. */
function markRoomRead() {
  const shown = [...$('events').children].filter((item) => item.dataset.room === chat.room && item.dataset.id);
  const id = Math.max(0, ...shown.map((item) => Number(item.dataset.id)));
  if (!id) return;
  chat.unreadMarks = chat.unreadMarks.filter((mark) => mark.room !== chat.room);  // the newest mark covers older ones
  chat.unreadMarks.push({type: 'read', room: chat.room, id});
  flushReadMarks();
}

function flushReadMarks() {
  if (document.visibilityState !== 'visible') return;
  while (chat.unreadMarks.length && sendFrame(chat.unreadMarks[0])) chat.unreadMarks.shift();
}

document.addEventListener('visibilitychange', flushReadMarks);

// MARK: Rooms

/** GET /api/v1/rooms: the rooms I am a member of, with my unread count in each. */
async function loadRooms() {
  const {rooms} = await gatewayJSON('/api/v1/rooms?limit=100', chat.token);
  for (const old of chat.rooms.values()) old.item.remove();
  chat.rooms.clear();
  for (const room of rooms) {
    const item = el('li', {}, el('span', {}, room.title || room.id), el('span', {className: 'unread'}));
    item.dataset.room = room.id;
    item.addEventListener('click', () => openConversation(room.id));
    chat.rooms.set(room.id, {id: room.id, title: room.title || room.id, item});
    $('rooms').append(item);
    setUnread(room.id, room.unread);
  }
  if (chat.room && !chat.rooms.has(chat.room)) openConversation(null);  // I left or was removed
  else highlightConversation();
}

function setUnread(roomId, count) {
  const badge = chat.rooms.get(roomId)?.item.querySelector('.unread');
  if (badge) badge.textContent = count > 0 ? String(count) : '';
}

function showUnread(frame) {
  setUnread(frame.room, frame.count);
  if (frame.count > 0 && frame.room === chat.room) markRoomRead();  // I am looking at it
}

/** Shows one conversation: a room (its history loaded, then marked read) or the direct messages. */
async function openConversation(roomId) {
  chat.room = roomId;
  highlightConversation();
  for (const item of $('events').children) item.hidden = item.dataset.room !== (roomId ?? '');
  $('typing').textContent = '';
  if (!roomId) return;
  const page = await gatewayJSON(`/api/v1/rooms/${encodeURIComponent(roomId)}/events?limit=50`, chat.token);
  for (const event of page.events.reverse()) showEvent(event, {fromHistory: true});
  markRoomRead();
}

function highlightConversation() {
  const room = chat.rooms.get(chat.room);
  $('conversation').textContent = room ? `Room: ${room.title}` : 'Direct messages';
  $('to').hidden = Boolean(room);
  for (const item of $('rooms').children) item.classList.toggle('selected', (item.dataset.room ?? '') === (chat.room ?? ''));
}

/** POST /api/v1/rooms: I become a member with every permission; the listed ones plain members. */
async function createRoom(submit) {
  submit.preventDefault();
  const form = submit.target.elements;
  const members = form.members.value.split(',').map((id) => id.trim()).filter(Boolean).map((id) => ({id}));
  try {
    const room = await gatewayJSON('/api/v1/rooms', chat.token, {
      method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({title: form.title.value.trim(), members}),
    });
    submit.target.reset();
    await loadRooms();
    await openConversation(room.id);
  } catch (error) {
    $('chat-error').textContent = `Room not created: ${error.message}`;
  }
}

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
$('new-room').addEventListener('submit', createRoom);
$('direct').addEventListener('click', () => openConversation(null));
$('message').addEventListener('input', typing);
offerDevelopmentLogin($('dev-form'), signIn, (error) => { $('sign-in-error').textContent = error.message; });
const saved = sessionStorage.getItem('gateway.token');
if (saved) signIn(saved);
