// The play queue (#/queue): play from any item, reorder, remove, clear.
import { focusRowButton, h, replace } from '../dom.js';
import { player } from '../player.js';
import { queue } from '../queue.js';
import { href } from '../router.js';
import { artistLabel } from '../tracks.js';
import { heading } from './common.js';

export function queueView(main) {
  const list = h('ol', { class: 'results', 'data-testid': 'queue' });
  const status = h('p', { role: 'status' });
  const clear = h('button', { type: 'button', onclick: () => queue.clear() }, 'Clear the queue');
  main.append(heading('Queue'), status, list, h('div', { class: 'actions' }, clear));
  let focusAfter = null; // [index, which button] to focus after a re-render

  function render() {
    const n = queue.items.length;
    status.textContent = n ? `${n} track${n === 1 ? '' : 's'}` : 'The queue is empty: add tracks from search, the library or a playlist.';
    clear.hidden = !n;
    replace(list, queue.items.map((item, i) => {
      const current = i === queue.index;
      const btn = (label, aria, fn, key, disabled = false) =>
        h('button', { type: 'button', class: 'small', 'aria-label': aria, disabled, dataset: { key }, onclick: fn }, label);
      return h('li', { class: current ? 'card current' : 'card', 'aria-current': current ? 'true' : null },
        h('div', { class: 'card-main' },
          h('a', { href: href('track', item.id), class: 'title' }, item.title),
          h('span', { class: 'by' }, ` by ${artistLabel(item)}`),
          current ? h('span', { class: 'note' }, 'now playing') : null),
        h('div', { class: 'actions' },
          btn('Play', `Play ${item.title} from here`, () => player.load(queue.select(i)), 'play'),
          btn('Up', `Up: move ${item.title} up`, () => { focusAfter = [i - 1, 'up']; queue.move(i, -1); }, 'up', i === 0),
          btn('Down', `Down: move ${item.title} down`, () => { focusAfter = [i + 1, 'down']; queue.move(i, 1); }, 'down', i === n - 1),
          btn('Remove', `Remove ${item.title} from the queue`, () => { focusAfter = [Math.min(i, n - 2), 'remove']; queue.remove(i); }, 'remove')));
    }));
    if (focusAfter) {
      focusRowButton(list, ...focusAfter);
      focusAfter = null;
    }
  }
  render();
  queue.addEventListener('change', render);
  return () => queue.removeEventListener('change', render);
}
