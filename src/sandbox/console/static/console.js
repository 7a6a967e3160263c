// The sandbox console's page: polls the console API (src/sandbox/console/app.ts) and draws the customer's phone,
// the hops and the agent's panel. Plain JavaScript, no build step.

const $ = (id) => document.getElementById(id);
const view = { channels: [], current: undefined, hops: [], lastSeq: 0, offsetMs: 0, selected: undefined, bridge: undefined };

async function api(path, body) {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error ?? `the console answered ${res.status}`);
  return json;
}

function showError(err) {
  const box = $('error');
  box.textContent = err ? String(err.message ?? err) : '';
  box.hidden = !err;
}

/** Runs a play, with its button disabled meanwhile; a refusal shows above the panels. */
async function act(button, run) {
  if (button) button.disabled = true;
  try {
    await run();
    showError(undefined);
    await pollHops();
  } catch (err) {
    showError(err);
  } finally {
    if (button) button.disabled = false;
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child);
  return node;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');
function clockText(ms, withDate = true) {
  const d = new Date(ms);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withDate ? `${d.toISOString().slice(0, 10)} ${time} UTC` : time;
}
function hopTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}
function span(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}
const sandboxNow = () => Date.now() + view.offsetMs;
const channel = () => view.channels.find((c) => c.name === view.current);

// ---- drawing ----

function drawChannels() {
  const nav = $('channels');
  nav.replaceChildren(
    ...view.channels.map((c) =>
      el('button', { type: 'button', 'aria-pressed': String(c.name === view.current), onclick: () => selectChannel(c.name) }, c.source),
    ),
  );
  const c = channel();
  if (!c) return;
  $('phone-title').textContent = `${c.platform} · ${c.customerName}`;
  $('phone-sub').textContent = `the customer's phone (id ${c.customerId})`;
  $('agent-source').textContent = c.source;
  const actions = $('customer-actions');
  actions.replaceChildren(
    actions.querySelector('#customer-image'),
    ...c.actions.map((a) =>
      el('button', { type: 'button', 'data-action': a.name, title: a.help + (a.takesText ? ` (the text field: ${a.takesText})` : '') }, actionLabel(a)),
    ),
  );
}

function actionLabel(action) {
  return action.name.replace(/-/g, ' ');
}

function drawWindow() {
  const c = channel();
  const line = $('window');
  if (!c) return;
  const end = c.window.endsAt;
  if (end === undefined) {
    line.textContent = `${c.platform}: the customer has not written yet, so there is no reply window.`;
    line.classList.remove('closed');
    return;
  }
  const left = end - sandboxNow();
  line.classList.toggle('closed', left <= 0);
  line.textContent =
    left > 0
      ? `${c.platform} reply window: open until ${clockText(end)} (${span(left)} left on the sandbox clock).`
      : `${c.platform} reply window: closed at ${clockText(end)}, ${span(left)} ago — a reply ${c.platform} no longer allows fails before the bridge calls it, and the agent reads why.`;
  if (c.window.humanAgentEndsAt !== undefined) line.textContent += ` A human agent's reply may go out until ${clockText(c.window.humanAgentEndsAt)}.`;
}

function drawClock() {
  $('clock').textContent = clockText(sandboxNow());
  $('offset').textContent = view.offsetMs > 0 ? `(+${span(view.offsetMs)} ahead of real time)` : '(real time)';
}

function bubbleContent(b) {
  return [b.imageUrl ? el('img', { src: b.imageUrl, alt: 'image' }) : undefined, b.text ?? undefined];
}

function drawThreads() {
  const mine = view.hops.filter((h) => h.channel === view.current && h.bubble);
  const phone = mine.filter((h) => h.bubble.on === 'phone');
  $('phone-thread').replaceChildren(
    ...phone.map((h) =>
      el('li', { class: `bubble ${h.bubble.who === 'customer' ? 'mine' : 'theirs'}` }, bubbleContent(h.bubble), el('span', { class: 'meta' }, hopTime(h.at).slice(6, 11))),
    ),
  );
  const receipts = new Map(mine.filter((h) => h.bubble.on === 'receipt').map((h) => [h.bubble.genesysMessageId, h.bubble]));
  const agent = mine.filter((h) => h.bubble.on === 'agent');
  $('agent-thread').replaceChildren(
    ...agent.map((h) => {
      const b = h.bubble;
      if (b.who === 'customer') return el('li', { class: 'bubble from-customer' }, el('span', { class: 'who' }, b.name ?? 'customer'), bubbleContent(b));
      const receipt = receipts.get(b.genesysMessageId);
      const status = !h.ok
        ? el('span', { class: 'status failed' }, `Not accepted by the bridge: ${h.answer}`)
        : !receipt
          ? el('span', { class: 'status' }, 'Sending…')
          : receipt.status === 'Failed'
            ? el('span', { class: 'status failed' }, `Failed — ${receipt.sentence ?? 'no reason given'}`)
            : el('span', { class: 'status delivered' }, `${receipt.status} ✓`);
      return el('li', { class: 'bubble from-agent', 'data-genesys-id': b.genesysMessageId }, el('span', { class: 'who' }, 'you (agent)'), bubbleContent(b), status);
    }),
  );
  for (const id of ['phone-thread', 'agent-thread']) $(id).scrollTop = $(id).scrollHeight;
}

/** Who a hop went from and to, as the page names them. */
function party(name, hop) {
  const platform = view.channels.find((c) => c.name === hop.channel)?.platform ?? 'platform';
  return { customer: `${platform} customer`, platform, bridge: 'bridge', genesys: 'Genesys', agent: 'Genesys agent' }[name];
}

function drawHops() {
  const shown = view.hops.filter((h) => h.channel === undefined || h.channel === view.current);
  const list = $('hops');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren(
    ...shown.map((h) =>
      el(
        'li',
        { class: h.seq === view.selected ? 'selected' : undefined, 'data-seq': String(h.seq), onclick: () => selectHop(h.seq) },
        el('time', {}, hopTime(h.at)),
        el('span', { class: h.ok ? undefined : 'refused' }, el('span', { class: 'party' }, `${party(h.from, h)} → ${party(h.to, h)}:`), ' ', h.title),
        h.answer ? el('span', { class: 'answer' }, `answered ${h.answer}`) : undefined,
      ),
    ),
  );
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function selectHop(seq) {
  view.selected = seq;
  const hop = view.hops.find((h) => h.seq === seq);
  $('detail').hidden = !hop;
  if (hop) {
    $('detail-title').textContent = `${hopTime(hop.at)} ${hop.title}${hop.answer ? ` — answered ${hop.answer}` : ''}`;
    const parts = [];
    if (hop.headers) parts.push(`headers: ${JSON.stringify(hop.headers, null, 2)}`);
    parts.push(hop.json === undefined ? '(no body)' : JSON.stringify(hop.json, null, 2));
    $('detail-json').textContent = parts.join('\n\n');
  }
  drawHops();
}

function drawCounters() {
  const b = view.bridge;
  if (!b) return;
  const rows = [
    ['queue', `${b.queue.pending} pending, ${b.queue.leased} running, ${b.queue.done} done, ${b.queue.dead} dead`],
    ...b.webhooks.map((v) => [`webhooks ${v.labels.route}`, `${v.labels.outcome}: ${v.value}`]),
    ...b.jobs.map((v) => [`jobs ${v.labels.kind}`, `${v.labels.outcome}: ${v.value}`]),
    ...b.skipped.map((v) => [`skipped (${v.labels.channel})`, `${v.labels.reason}: ${v.value}`]),
  ];
  $('counters').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function selectChannel(name) {
  view.current = name;
  drawChannels();
  drawWindow();
  drawThreads();
  drawHops();
}

// ---- polling ----

async function pollState() {
  const state = await api('/api/state');
  view.offsetMs = state.offsetMs;
  view.channels = state.channels;
  view.bridge = state.bridge;
  if (!view.current && state.channels[0]) selectChannel(state.channels[0].name);
  drawClock();
  drawWindow();
  drawCounters();
}

async function pollHops() {
  const { hops } = await api(`/api/hops?after=${view.lastSeq}`);
  if (hops.length === 0) return;
  view.lastSeq = hops[hops.length - 1].seq;
  view.hops.push(...hops);
  view.hops.sort((a, b) => a.at - b.at || a.seq - b.seq);
  drawThreads();
  drawHops();
}

function every(ms, run) {
  const tick = () => run().catch(showError).finally(() => setTimeout(tick, ms));
  tick();
}

// ---- the players ----

$('customer-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = e.target.elements.text;
  const text = input.value.trim();
  if (!text) return;
  act(e.submitter, async () => {
    await api('/api/customer', { channel: view.current, action: 'send', text });
    input.value = '';
  });
});

$('customer-actions').addEventListener('click', (e) => {
  const button = e.target.closest('button');
  if (!button) return;
  const input = $('customer-form').elements.text;
  if (button.id === 'customer-image') {
    act(button, () => api('/api/customer', { channel: view.current, action: 'send', imageUrl: new URL('/static/sample.png', location.href).href }));
    return;
  }
  const name = button.dataset.action;
  const spec = channel()?.actions.find((a) => a.name === name);
  const text = spec?.takesText ? input.value.trim() : '';
  act(button, async () => {
    await api('/api/customer', { channel: view.current, action: name, ...(text ? { text } : {}) });
    if (text) input.value = '';
  });
});

$('agent-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const { text: input, bot } = e.target.elements;
  const text = input.value.trim();
  if (!text) return;
  act(e.submitter, async () => {
    await api('/api/agent', { channel: view.current, text, bot: bot.checked });
    input.value = '';
  });
});

for (const button of document.querySelectorAll('[data-advance]')) {
  button.addEventListener('click', () => act(button, async () => {
    await api('/api/clock', { advanceMs: Number(button.dataset.advance) });
    await pollState();
  }));
}
$('close-window').addEventListener('click', (e) =>
  act(e.currentTarget, async () => {
    await api('/api/clock', { pastWindowOf: view.current });
    await pollState();
  }),
);

every(1000, pollState);
every(400, pollHops);
setInterval(drawClock, 1000);
