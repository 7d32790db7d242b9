// SPDX-License-Identifier: BSL-1.0
// systask's status page (docs/ui.md): reads this host's API with the token the operator gives
// once, and redraws every 2 s. Every text that comes from the server is inserted with
// textContent (through el() below), never as HTML: messages carry remote error text and
// directory names, and the page's CSP forbids inline script anyway.

const API = new URL('../api/v3/', document.baseURI).href;
const TOKEN_KEY = 'systask.token';
const POLL_MS = 2000;
const MAX_BACKOFF_MS = 30000;
const LEVELS = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes, never markup. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

class ApiError extends Error {
  constructor(kind, status, detail) {
    super(detail || kind);
    this.kind = kind; // 'unreachable', 'auth', 'forbidden', 'http'
    this.status = status;
  }
}

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  live: true,
  timer: 0,
  failures: 0,
  lastOk: 0,
  downSince: 0,
  inFlight: false,
  refreshes: 0,          // successful refreshes, shown as data-refreshes (the browser test waits on it)
  providers: [],
  statuses: new Map(),   // provider key -> sync status body
  schedules: [],
  schedulesError: '',
  openTasks: new Set(),  // task uuids whose <details> is open
  openMessages: new Set(),  // "uuid/index" of messages whose attributes are shown
  pending: new Set(),    // keys of actions sent and not yet seen in a refresh
  notice: '',
  noticeAt: 0,           // when the notice was set: it shows for 10 s
};

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, Accept: 'application/json' };
  const init = { method: options.method || 'GET', headers, cache: 'no-store', credentials: 'omit' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (e) {
    throw new ApiError('unreachable', 0, String(e && e.message ? e.message : e));
  }
  let body = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try { body = JSON.parse(text); } catch { body = null; }
  }
  if (res.ok) return body;
  const code = body && typeof body === 'object' ? body.code : '';
  const detail = body && typeof body === 'object' && typeof body.detail === 'string' ? body.detail : `HTTP ${res.status}`;
  if (res.status === 401 || (res.status === 403 && (code === 'not_authenticated' || code === 'authentication_failed'))) {
    throw new ApiError('auth', res.status, detail);
  }
  if (res.status === 403) throw new ApiError('forbidden', res.status, detail);
  throw new ApiError('http', res.status, detail);
}

const providerKey = (p) => `${p.kind}/${p.id}`;
const results = (body) => (Array.isArray(body) ? body : (body && Array.isArray(body.results) ? body.results : []));

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}
function fmtClock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
}
function fmtAgo(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < -5) return `in ${fmtDuration(-s)}`;
  if (s < 5) return 'just now';
  return `${fmtDuration(s)} ago`;
}
function fmtDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}
/** A time element: local time shown, UTC in the tooltip. */
function timeEl(iso, withAgo) {
  const d = new Date(iso);
  const title = iso && !Number.isNaN(d.getTime()) ? d.toISOString() : '';
  const text = withAgo && iso ? `${fmtTime(iso)} (${fmtAgo(iso)})` : fmtTime(iso);
  return el('time', { datetime: title || undefined, title: title ? `UTC ${title}` : undefined, text });
}
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const pill = (cls, text) => el('span', { class: `pill ${cls}`, text });
const statusWords = {
  successful: 'Successful', warning: 'Warning', error: 'Error', unknown: 'Running', running: 'Running',
  done: 'Done', rejected: 'Rejected', queued: 'Queued', info: 'Info', cancelled: 'Cancelled',
};
const statusPill = (status) => pill(`st-${status === 'unknown' ? 'running' : status}`, statusWords[status] || String(status));

// ---------------------------------------------------------------------------------------------
// Sign-in and connection state

function showLogin(message) {
  stopPolling();
  $('main').hidden = true;
  $('forget').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  setConnection(message ? 'Signed out: the token was refused.' : 'Signed out.', Boolean(message));
  $('token').focus();
}

function signIn() {
  const token = $('token').value.trim();
  if (!token) {
    $('login-error').textContent = 'Enter a token.';
    return;
  }
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  $('login').hidden = true;
  $('forget').hidden = false;
  setConnection('Connecting…', false);
  refresh();
}

function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = '';
  state.providers = [];
  state.statuses.clear();
  state.schedules = [];
  showLogin('');
}

function setConnection(text, bad) {
  const c = $('connection');
  c.textContent = text;
  c.classList.toggle('bad', bad);
  c.dataset.state = bad ? 'bad' : 'ok';
}

function connectionText() {
  if (state.downSince) {
    return `Server unreachable since ${new Date(state.downSince).toLocaleTimeString()}: showing the last data ` +
      `received${state.lastOk ? ` (${new Date(state.lastOk).toLocaleTimeString()})` : ''}; retrying.`;
  }
  const live = state.live ? 'live' : 'paused';
  if (state.notice && Date.now() - state.noticeAt > 10000) state.notice = '';
  return `Updated ${new Date(state.lastOk).toLocaleTimeString()} (${live})${state.notice ? ` · ${state.notice}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Polling

function stopPolling() {
  clearTimeout(state.timer);
  state.timer = 0;
}

function schedulePoll() {
  stopPolling();
  if (!state.live || !state.token || document.hidden) return;
  // Back off on errors, up to 30 s; every 2 s while the server answers.
  const delay = state.failures ? Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** Math.min(state.failures, 4)) : POLL_MS;
  state.timer = setTimeout(refresh, delay);
}

async function refresh() {
  if (state.inFlight || !state.token) return;
  state.inFlight = true;
  try {
    const providers = results(await api('systask/providers/'));
    const [statuses, schedules] = await Promise.all([
      Promise.all(providers.map((p) =>
        api(`providers/${encodeURIComponent(p.kind)}/${encodeURIComponent(p.id)}/sync/status/?include_running=true`)
          .catch((e) => e))),
      api('tasks/schedules/?page_size=100').catch((e) => e),
    ]);
    for (const s of [...statuses, schedules]) {
      if (s instanceof ApiError && (s.kind === 'auth' || s.kind === 'unreachable')) throw s;
    }
    state.providers = providers;
    state.statuses = new Map(providers.map((p, i) => [providerKey(p), statuses[i]]));
    state.schedulesError = schedules instanceof ApiError ? schedules.message : '';
    state.schedules = schedules instanceof ApiError ? [] : results(schedules);
    state.failures = 0;
    state.downSince = 0;
    state.lastOk = Date.now();
    $('main').hidden = false;
    $('forget').hidden = false;
    render();
    setConnection(connectionText(), false);
    state.refreshes += 1;
    $('connection').dataset.refreshes = String(state.refreshes);
  } catch (e) {
    if (e instanceof ApiError && e.kind === 'auth') {
      state.inFlight = false;
      showLogin(`The server refused the token (${e.status}: ${e.message}). Enter a valid token.`);
      return;
    }
    state.failures += 1;
    if (!state.downSince) state.downSince = Date.now();
    if (state.providers.length) render();  // the last data stays, its "N s ago" keeps counting
    if (e instanceof ApiError && e.kind === 'unreachable') {
      setConnection(connectionText(), true);
    } else {
      setConnection(`The server answered with an error: ${e.message}; retrying.`, true);
    }
  } finally {
    state.inFlight = false;
  }
  schedulePoll();
}

/** Runs an action (pause, resume, run now), then refreshes at once. */
async function act(key, label, fn) {
  state.pending.add(key);
  render();
  try {
    await fn();
    state.notice = `${label}: sent`;
    state.noticeAt = Date.now();
  } catch (e) {
    if (e instanceof ApiError && e.kind === 'auth') {
      showLogin(`The server refused the token (${e.status}: ${e.message}). Enter a valid token.`);
      return;
    }
    state.noticeAt = Date.now();
    state.notice = e instanceof ApiError && e.kind === 'forbidden'
      ? `${label}: this token may not do that (${e.message})`
      : `${label} failed: ${e.message}`;
  } finally {
    state.pending.delete(key);
  }
  await refresh();
}

// ---------------------------------------------------------------------------------------------
// Rendering. Each refresh rebuilds the cards and the schedule table in one synchronous
// replaceChildren (no layout in between, so the scroll position stays); open task details and
// expanded messages are remembered by uuid and reopened. The filter inputs are outside the
// rebuilt part and keep their focus and text.

function scheduleOf(provider) {
  if (!provider.schedule_id) return null;
  return state.schedules.find((s) => s.id === provider.schedule_id) || null;
}

/** A schedule's cadence: its crontab, or systask's interval (seconds) for an interval schedule. */
function cadence(schedule) {
  if (schedule.crontab) return schedule.crontab;
  return schedule.interval ? `every ${fmtDuration(schedule.interval)}` : '—';
}

function providerStatus(provider, st) {
  if (st && st.is_running) return 'running';
  const last = (st && st.last_sync_status) || provider.last_sync_status || provider.last_status;
  return last || 'none';
}

function messageFilter() {
  const min = LEVELS[$('level').value] ?? 0;
  const needle = $('search').value.trim().toLowerCase();
  return (m) => {
    if ((LEVELS[m.log_level] ?? 1) < min) return false;
    if (!needle) return true;
    const hay = `${m.event} ${m.logger} ${JSON.stringify(m.attributes || {})}`.toLowerCase();
    return hay.includes(needle);
  };
}

function renderMessages(task, filter) {
  const all = Array.isArray(task.messages) ? task.messages : [];
  const shown = [];
  all.forEach((m, i) => { if (filter(m)) shown.push([m, i]); });
  if (!shown.length) {
    return el('p', { class: 'empty', text: all.length ? `No message matches the filter (${all.length} hidden).` : 'No messages.' });
  }
  const body = el('tbody');
  for (const [m, i] of shown) {
    const key = `${task.uuid}/${i}`;
    const open = state.openMessages.has(key);
    const row = el('tr', {
      class: `msg lv-row-${m.log_level}`, 'data-level': m.log_level, title: 'Show the attributes',
      onclick: () => {
        if (state.openMessages.has(key)) state.openMessages.delete(key); else state.openMessages.add(key);
        render();
      },
    },
    el('td', {}, el('time', { title: m.timestamp ? `UTC ${m.timestamp}` : undefined, text: fmtClock(m.timestamp) })),
    el('td', {}, pill(`lv-${m.log_level}`, String(m.log_level))),
    el('td', { class: 'event', text: String(m.event) }),
    el('td', { class: 'muted', text: String(m.logger) }));
    body.append(row);
    if (open) {
      body.append(el('tr', { class: 'attrs' }, el('td', { colspan: '4' },
        el('pre', { text: `${m.timestamp}\n${JSON.stringify(m.attributes || {}, null, 2)}` }))));
    }
  }
  const hidden = all.length - shown.length;
  return [
    el('table', { class: 'msgs' },
      el('colgroup', {}, el('col', { class: 'c-time' }), el('col', { class: 'c-level' }), el('col'), el('col', { class: 'c-logger' })),
      el('thead', {}, el('tr', {}, el('th', { text: 'Time' }), el('th', { text: 'Level' }), el('th', { text: 'Event' }), el('th', { text: 'Logger' }))),
      body),
    hidden ? el('p', { class: 'empty', text: `${plural(hidden, 'message')} hidden by the filter.` }) : null,
  ];
}

function renderTask(task, filter) {
  const running = task.status === 'unknown' && task.expires === null;
  const details = el('details', {
    class: 'task', 'data-uuid': task.uuid, 'data-status': running ? 'running' : task.status, open: state.openTasks.has(task.uuid),
  },
  el('summary', {},
    statusPill(running ? 'running' : task.status),
    el('span', { text: String(task.name) }),
    el('span', { class: 'task-time' }, 'started ', timeEl(task.start_timestamp), running ? ' · running for ' : ' · took ',
      fmtDuration(task.duration), ` · ${plural((task.messages || []).length, 'message')}`)),
  renderMessages(task, filter));
  details.addEventListener('toggle', () => {
    if (details.open) state.openTasks.add(task.uuid); else state.openTasks.delete(task.uuid);
  });
  return details;
}

function renderCard(provider, filter) {
  const key = providerKey(provider);
  const st = state.statuses.get(key);
  const status = providerStatus(provider, st);
  const schedule = scheduleOf(provider);
  const card = el('article', { class: 'card', 'data-provider': key, 'data-status': status });
  const tasks = st && !(st instanceof ApiError) && Array.isArray(st.tasks) ? st.tasks : [];
  const finished = tasks.find((t) => !(t.status === 'unknown' && t.expires === null));
  card.append(
    el('div', { class: 'card-head' },
      el('h3', { text: String(provider.name) }),
      el('span', { class: 'kind', text: `${provider.kind} #${provider.id}` }),
      status === 'none' ? pill('st-none', 'Not synced yet') : statusPill(status)),
    el('dl', { class: 'facts' },
      el('dt', { text: 'Current' }), el('dd', { class: 'current', text: st && st.is_running ? 'A sync is running' : 'Idle' }),
      el('dt', { text: 'Last sync' }), el('dd', {},
        finished ? [statusPill(finished.status), ' ', timeEl(finished.finish_timestamp, true), ` · took ${fmtDuration(finished.duration)}`] : 'none yet'),
      el('dt', { text: 'Last success' }), el('dd', { class: 'last-success' },
        st && st.last_successful_sync ? timeEl(st.last_successful_sync, true) : 'never'),
      el('dt', { text: 'Schedule' }), el('dd', {},
        schedule ? [el('code', { text: cadence(schedule) }), schedule.paused ? ' · paused' : [' · next ', timeEl(schedule.next_run, true)]] : '—')));
  const actions = el('div', { class: 'actions' });
  if (schedule) {
    actions.append(runNowButton(schedule, st && st.is_running), pauseButton(schedule));
  }
  card.append(actions);
  if (st instanceof ApiError) {
    card.append(el('p', { class: 'error-text', text: `Sync status unavailable: ${st.message}` }));
  } else if (!tasks.length) {
    card.append(el('p', { class: 'empty', text: 'No sync has run yet.' }));
  } else {
    for (const t of tasks) card.append(renderTask(t, filter));
  }
  return card;
}

function runNowButton(schedule, running) {
  const key = `send/${schedule.id}`;
  return el('button', {
    type: 'button', class: 'run-now', 'data-schedule': schedule.id, disabled: state.pending.has(key) || Boolean(running),
    title: running ? 'A run is in progress' : 'Run this schedule now, outside its cadence',
    text: state.pending.has(key) ? 'Sending…' : 'Run now',
    onclick: () => act(key, `Run ${schedule.identifier || schedule.actor_name}`,
      () => api(`tasks/schedules/${encodeURIComponent(schedule.id)}/send/`, { method: 'POST' })),
  });
}

function pauseButton(schedule) {
  const key = `pause/${schedule.id}`;
  const paused = Boolean(schedule.paused);
  return el('button', {
    type: 'button', class: 'pause', 'data-schedule': schedule.id, 'data-paused': String(paused), disabled: state.pending.has(key),
    text: paused ? 'Resume' : 'Pause',
    onclick: () => act(key, `${paused ? 'Resume' : 'Pause'} ${schedule.identifier || schedule.actor_name}`,
      () => api(`tasks/schedules/${encodeURIComponent(schedule.id)}/`, { method: 'PATCH', body: { paused: !paused } })),
  });
}

function renderSchedules() {
  if (state.schedulesError) return el('p', { class: 'error-text', text: `Schedules unavailable: ${state.schedulesError}` });
  if (!state.schedules.length) return el('p', { class: 'empty', text: 'No schedules.' });
  const rows = state.schedules.map((s) => el('tr', { 'data-schedule': s.id, 'data-paused': String(Boolean(s.paused)) },
    el('td', {}, el('span', { text: String(s.identifier || s.actor_name) }),
      s.description ? el('div', { class: 'muted', text: String(s.description) }) : null),
    el('td', {}, el('code', { text: cadence(s) })),
    el('td', {}, s.paused ? pill('st-paused', 'paused') : timeEl(s.next_run, true)),
    el('td', {}, s.last_task_status ? statusPill(s.last_task_status) : el('span', { class: 'muted', text: 'never ran' })),
    el('td', { class: 'buttons' }, runNowButton(s, false), pauseButton(s))));
  return el('table', { class: 'sched' },
    el('thead', {}, el('tr', {}, ['Schedule', 'Cadence', 'Next run', 'Last run', ''].map((h) => el('th', { text: h })))),
    el('tbody', {}, rows));
}

function renderSummary() {
  const counts = { running: 0, successful: 0, warning: 0, error: 0, none: 0 };
  for (const p of state.providers) {
    const s = providerStatus(p, state.statuses.get(providerKey(p)));
    counts[s in counts ? s : 'none'] += 1;
  }
  const item = (n, label, cls) => el('span', { class: `count ${cls}` }, el('b', { text: String(n) }), label);
  return [
    item(state.providers.length, 'providers', ''), item(counts.running, 'running', 'st-running'),
    item(counts.successful, 'successful', 'st-successful'), item(counts.warning, 'with warnings', 'st-warning'),
    item(counts.error, 'failed', 'st-error'), item(counts.none, 'not synced yet', 'st-none'),
  ];
}

function render() {
  const filter = messageFilter();
  $('summary').replaceChildren(...renderSummary());
  $('providers').replaceChildren(...(state.providers.length
    ? state.providers.map((p) => renderCard(p, filter))
    : [el('p', { class: 'empty', text: 'This host registers no provider.' })]));
  $('schedules').replaceChildren(renderSchedules());
}

// ---------------------------------------------------------------------------------------------

function start() {
  $('sign-in').addEventListener('click', signIn);
  $('token').addEventListener('keydown', (e) => { if (e.key === 'Enter') signIn(); });
  $('forget').addEventListener('click', forget);
  $('level').addEventListener('change', render);
  $('search').addEventListener('input', render);
  $('live').addEventListener('change', () => {
    state.live = $('live').checked;
    if (state.live) refresh(); else stopPolling();
    if (state.lastOk && !state.downSince) setConnection(connectionText(), false);
  });
  // A hidden tab does not poll; it catches up as soon as it is shown again.
  document.addEventListener('visibilitychange', () => { if (!document.hidden && state.live) refresh(); });
  if (state.token) {
    $('login').hidden = true;
    setConnection('Connecting…', false);
    refresh();
  } else {
    showLogin('');
  }
}

start();
