// The play queue, kept in localStorage ("osp.queue"): items (see tracks.js) and the index
// of the current one. Listeners get a "change" event after every change.
import { cleanItem } from './tracks.js';

const KEY = 'osp.queue';
const MAX_ITEMS = 5000;

class Queue extends EventTarget {
  constructor() {
    super();
    this.items = [];
    this.index = -1;
    this.load();
  }

  load() {
    try {
      const saved = JSON.parse(localStorage.getItem(KEY) || '{}');
      this.items = (Array.isArray(saved.items) ? saved.items : []).map(cleanItem).filter(Boolean).slice(0, MAX_ITEMS);
      const i = Number.isInteger(saved.index) ? saved.index : -1;
      this.index = i >= 0 && i < this.items.length ? i : -1;
    } catch {
      this.items = [];
      this.index = -1;
    }
  }

  save() {
    try {
      localStorage.setItem(KEY, JSON.stringify({ items: this.items, index: this.index }));
    } catch { /* storage full or disabled: the queue still works for this page */ }
    this.dispatchEvent(new Event('change'));
  }

  /** The current item or null. */
  current() { return this.items[this.index] || null; }

  /** Append items at the end. */
  add(...items) {
    this.items.push(...items.slice(0, MAX_ITEMS - this.items.length));
    this.save();
  }

  /** Insert `item` after the current one and make it current; returns it. */
  playNow(item) {
    const at = this.index + 1;
    this.items.splice(at, 0, item);
    this.items = this.items.slice(0, MAX_ITEMS);
    this.index = at;
    this.save();
    return item;
  }

  /** Replace the whole queue (play all) and make item 0 current. */
  replace(items) {
    this.items = items.slice(0, MAX_ITEMS);
    this.index = this.items.length ? 0 : -1;
    this.save();
    return this.current();
  }

  /** Make item `i` current; returns it or null. */
  select(i) {
    if (i < 0 || i >= this.items.length) return null;
    this.index = i;
    this.save();
    return this.current();
  }

  /** Remove item `i`. */
  remove(i) {
    if (i < 0 || i >= this.items.length) return;
    this.items.splice(i, 1);
    if (i < this.index) this.index -= 1;
    else if (i === this.index && this.index >= this.items.length) this.index = this.items.length - 1;
    this.save();
  }

  /** Move item `i` by `delta` places (-1 up, +1 down); returns its new index. */
  move(i, delta) {
    const j = i + delta;
    if (i < 0 || i >= this.items.length || j < 0 || j >= this.items.length) return i;
    const [item] = this.items.splice(i, 1);
    this.items.splice(j, 0, item);
    if (this.index === i) this.index = j;
    else if (this.index === j) this.index = i;
    this.save();
    return j;
  }

  clear() {
    this.items = [];
    this.index = -1;
    this.save();
  }

  /** Step to the next (+1) or previous (-1) item; returns it or null at either end. */
  step(delta) {
    return this.select(this.index + delta);
  }
}

export const queue = new Queue();
