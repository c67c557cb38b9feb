// Transfers (#/transfers): GET /api/transfers every second while the page is visible;
// rows are updated in place (focus stays on a Cancel button across updates).
import { get, post } from '../api.js';
import { fmtBytes, fmtRate, h } from '../dom.js';
import { href } from '../router.js';
import { errorBox, heading } from './common.js';

const POLL_MS = 1000;
const ACTIVE = new Set(['resolving', 'checking', 'downloading', 'verifying']); // osp.node.fetch.ACTIVE_STATES

function makeRow(t) {
  const progress = h('progress', { max: '1', value: '0', 'aria-label': `Progress of ${t.title || t.id}` });
  const cells = {
    progress, pct: h('span', { class: 'num' }), state: h('td', { 'data-label': 'State' }),
    peers: h('td', { class: 'num', 'data-label': 'Peers' }), rate: h('td', { class: 'num', 'data-label': 'Rate' }),
    sources: h('td', { 'data-label': 'Sources' }),
  };
  const cancel = h('button', { type: 'button', 'aria-label': `Cancel ${t.title || t.id}`, 'data-testid': 'cancel' }, 'Cancel');
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await post('/api/cancel', { track: t.id });
    } catch (err) {
      cancel.after(errorBox(err, 'Cannot cancel'));
    }
  });
  const tr = h('tr', { dataset: { id: t.id } },
    h('th', { scope: 'row' }, h('a', { href: href('track', t.id) }, String(t.title || t.id))),
    h('td', {}, progress, ' ', cells.pct), cells.state, cells.peers, cells.rate, cells.sources, h('td', {}, cancel));
  return { tr, cells, cancel };
}

function update(row, t) {
  const total = Number(t.total) || 0;
  const done = Number(t.done) || 0;
  row.cells.progress.value = total ? done / total : 0;
  row.cells.pct.textContent = total ? `${Math.floor((100 * done) / total)}% of ${fmtBytes(total)}` : '';
  row.cells.state.textContent = String(t.state) + (t.error ? ` (${typeof t.error === 'string' ? t.error : t.error.message || ''})` : '');
  row.cells.peers.textContent = String(Number(t.peers) || 0);
  row.cells.rate.textContent = fmtRate(Number(t.rate) || 0);
  const s = t.sources || {};
  row.cells.sources.textContent = `${Number(s.bittorrent) || 0} BitTorrent, ${Number(s.webSeeds) || 0} web seed`;
  const active = ACTIVE.has(String(t.state));
  row.cancel.hidden = !active;
}

export function transfersView(main) {
  main.append(heading('Transfers'));
  const status = h('p', { role: 'status', 'data-testid': 'transfers-status' }, 'Loading…');
  const body = h('tbody');
  const table = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Transfers' },
    h('table', { 'data-testid': 'transfers' },
      h('thead', {}, h('tr', {}, ['Track', 'Progress', 'State', 'Peers', 'Rate', 'Sources', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      body));
  table.hidden = true;
  main.append(status, table);
  const rows = new Map();
  let timer = 0;
  let stopped = false;
  async function poll() {
    if (stopped) return;
    if (document.visibilityState === 'visible') {
      try {
        const { transfers } = await get('/api/transfers');
        const seen = new Set();
        for (const t of transfers) {
          const id = String(t.id);
          seen.add(id);
          let row = rows.get(id);
          if (!row) {
            row = makeRow(t);
            rows.set(id, row);
            body.append(row.tr);
          }
          update(row, t);
        }
        for (const [id, row] of rows) {
          if (!seen.has(id)) {
            row.tr.remove();
            rows.delete(id);
          }
        }
        table.hidden = rows.size === 0;
        status.textContent = rows.size ? `${rows.size} transfer${rows.size === 1 ? '' : 's'}` : 'No transfers.';
      } catch (err) {
        status.textContent = `Cannot load transfers: ${err.message}`;
      }
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
