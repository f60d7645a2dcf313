// Cairn's service worker: the public map opens with no connection after one visit.
//
// - The page's own files (the "shell": the page, its scripts and styles, MapLibre, the shipped
//   context layers) are stored when the worker installs and served from the store first. Their
//   list and a version made from their contents are filled in by the server
//   (crates/cairn-server/src/web.rs), so a new Cairn installs a new worker, which stores the new
//   files and removes the old ones.
// - Map data (hazard tiles, base-map tiles, glyphs) goes to the network first; only when the
//   network fails is a stored copy used: the tiles of an area the person chose to keep for
//   offline use (web/offline.js stores them), or for glyphs the copy stored with the shell. A
//   stored tile is never shown while the service can be reached, so a change to a hazard is
//   never hidden.
// - What the service offers (/tiles.json, /basemap.json, the collection's description) is
//   answered from the last copy at once and refreshed from the network for next time
//   (`storedThenRefreshed`): it changes with the service's set-up, not with its data.
// - Everything else (checks, reports, hazard lists) always goes to the network; the page itself
//   falls back to the kept area when that fails, and says so.

const VERSION = '__CAIRN_VERSION__';
const SHELL = __CAIRN_SHELL__;
const SHELL_CACHE = `cairn-shell-${VERSION}`;
const DESCRIPTION_CACHE = `cairn-desc-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // `no-cache`: the shell is taken fresh from the service, never from the HTTP cache.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('cairn-shell-') && name !== SHELL_CACHE) await caches.delete(name);
      if (name.startsWith('cairn-desc-') && name !== DESCRIPTION_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// Map data that may be served from a kept area when the network fails.
function isMapData(url) {
  const p = url.pathname;
  return p.startsWith('/tiles/') || p === '/tiles.json' || p.startsWith('/basemap')
    || p === '/ogc/collections/hazardous-areas' || p.startsWith('/fonts/');
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  // A request carrying a token is an officer's: never stored, never answered from storage.
  if (req.headers.has('Authorization')) return;

  // `ignoreVary`: the service varies its answers on Origin and Accept-Encoding (CORS and
  // compression), which a module script's request carries and the stored one did not.
  if (req.mode === 'navigate' && (url.pathname === '/' || url.pathname === '/index.html')) {
    event.respondWith(shellFirst(req, { ignoreSearch: true, ignoreVary: true }, '/'));
    return;
  }
  if (SHELL.includes(url.pathname + url.search)) {
    event.respondWith(shellFirst(req, { ignoreVary: true }));
    return;
  }
  if (isDescription(url)) {
    event.respondWith(storedThenRefreshed(req, event));
    return;
  }
  if (isMapData(url)) {
    event.respondWith(networkFirst(req));
  }
});

// What the page asks before it can draw anything: which base map and hazard tiles the service
// offers and the collection's description. They change rarely (with the service's set-up, not its
// data), so a stored copy answers at once and the network's answer replaces it for next time:
// on a slow link these were two to three round trips before the first hazard tile was asked for.
// Hazard tiles themselves stay network-first: a known danger is never drawn from an old copy
// while the service can be reached.
function isDescription(url) {
  const p = url.pathname;
  return (p === '/tiles.json' || p === '/basemap.json' || p === '/ogc/collections/hazardous-areas') && !url.search;
}

async function storedThenRefreshed(req, event) {
  const cache = await caches.open(DESCRIPTION_CACHE);
  const hit = await cache.match(req, { ignoreVary: true });
  const fresh = fetch(req).then(async (r) => {
    if (r.ok) await cache.put(req, r.clone());
    return r;
  });
  if (hit) {
    event.waitUntil(fresh.catch(() => {}));
    return hit;
  }
  try {
    return await fresh;
  } catch (err) {
    // A kept area's copy.
    const kept = await caches.match(req, { ignoreVary: true });
    if (kept) return kept;
    throw err;
  }
}

// The stored copy of a shell file, else the network.
async function shellFirst(req, options, key) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(key || req, options);
  return hit || fetch(req);
}

// The network, else a kept copy; a kept copy is never fresher than the network's answer.
async function networkFirst(req) {
  try {
    return await fetch(req);
  } catch (err) {
    // A kept area's copy, or (for glyphs) the one stored with the page's files.
    const hit = await caches.match(req, { ignoreVary: true });
    if (hit) return hit;
    throw err;
  }
}
