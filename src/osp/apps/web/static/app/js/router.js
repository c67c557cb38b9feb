// Hash routes: "#/<name>/<arg>?<query>". A view is `(main, {arg, params}) -> cleanup?`.

/** Parse location.hash -> {name, arg, params}. */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const params = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const slash = path.indexOf('/');
  const name = slash >= 0 ? path.slice(0, slash) : path;
  let arg = slash >= 0 ? path.slice(slash + 1) : '';
  try { arg = decodeURIComponent(arg); } catch { arg = ''; }
  return { name: name || '', arg, params };
}

/** "#/name/arg?k=v" for a route (the arg escaped). */
export function href(name, arg, params) {
  let s = `#/${name}`;
  if (arg !== undefined && arg !== null && arg !== '') s += `/${encodeURIComponent(arg)}`;
  const q = params ? new URLSearchParams(params).toString() : '';
  return q ? `${s}?${q}` : s;
}

/**
 * Start routing: `routes` maps a name to a view, `fallback` is the default name.
 * On each hash change the previous view's cleanup runs, `main` is emptied and the new
 * view renders into a fresh page element; focus moves to the new page's h1 when the page (not just its query) changed.
 */
export function startRouter(main, routes, fallback, onRoute) {
  let cleanup = null;
  let current = '';
  let token = 0;
  async function render() {
    let route = parseHash();
    if (!routes[route.name]) {
      route = { name: fallback, arg: '', params: new URLSearchParams() };
    }
    if (typeof cleanup === 'function') cleanup();
    cleanup = null;
    const mine = ++token;
    const pageChanged = `${route.name}/${route.arg}` !== current;
    current = `${route.name}/${route.arg}`;
    // Each view renders into a page of its own: a view still awaiting an answer after the
    // user moved on writes into its detached page, never into the next view's.
    const page = document.createElement('div');
    page.className = 'page';
    main.replaceChildren(page);
    onRoute(route);
    const result = routes[route.name](page, route);
    const done = await Promise.resolve(result).catch((err) => {
      console.error(err);
      return null;
    });
    if (mine !== token) {
      if (typeof done === 'function') done();
      return;
    }
    cleanup = done;
    if (pageChanged) {
      const heading = page.querySelector('h1');
      if (heading && !page.contains(document.activeElement)) { // the view may have focused a field itself
        heading.setAttribute('tabindex', '-1');
        heading.focus({ preventScroll: true });
      }
    }
  }
  window.addEventListener('hashchange', render);
  return render();
}
