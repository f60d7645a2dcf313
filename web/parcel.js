// "Is my land affected?": reads a parcel (a file or pasted text), asks POST /api/parcel/extract
// for the extract as JSON and shows it; the printable page and the PDF are fetched the same way
// and opened or saved from blob URLs (nothing from another host).
(() => {
  const T = window.PARCEL_I18N;
  const $ = (id) => document.getElementById(id);
  let lang = localStorage.getItem('cairn-lang') === 'en' ? 'en' : 'uk';
  let parcel = null;
  const t = (k) => T[lang][k];

  function applyLang() {
    document.documentElement.lang = lang;
    document.title = t('pageTitle');
    $('lang').value = lang;
    for (const el of document.querySelectorAll('[data-i18n]')) {
      const s = T[lang][el.dataset.i18n];
      if (typeof s === 'string') el.textContent = s;
    }
  }

  function say(text, error) {
    $('status').textContent = text;
    $('status').className = error ? 'error' : '';
  }

  async function body() {
    const f = $('file').files[0];
    if (f) return f.text();
    return $('text').value.trim();
  }

  const num = (v, d) => v.toLocaleString(lang === 'uk' ? 'uk-UA' : 'en-GB', { maximumFractionDigits: d });

  function cell(tr, text, n) {
    const td = document.createElement('td');
    td.textContent = text;
    if (n) td.className = 'n';
    tr.appendChild(td);
  }

  function rows(table, items, fill) {
    const tb = $(table).tBodies[0];
    tb.replaceChildren();
    if (!items.length) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 4;
      td.textContent = t('none');
      tr.appendChild(td);
      tb.appendChild(tr);
    }
    for (const it of items) {
      const tr = document.createElement('tr');
      fill(tr, it);
      tb.appendChild(tr);
    }
  }

  function show(v) {
    const adv = $('advice');
    adv.textContent = v.advice;
    adv.className = v.danger ? 'advice danger' : 'advice';
    const facts = $('facts').tBodies[0];
    facts.replaceChildren();
    for (const [k, val] of [[t('parcelArea'), num(v.parcel_m2, 0)], [t('dataDate'), v.data_date ? new Date(v.data_date).toLocaleString(lang === 'uk' ? 'uk-UA' : 'en-GB', { timeZone: 'UTC' }) + ' UTC' : t('unknown')]]) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = k;
      tr.appendChild(th);
      cell(tr, val, true);
      facts.appendChild(tr);
    }
    rows('hazards', v.hazards, (tr, h) => {
      const zone = h.kind === 'danger-zone';
      cell(tr, zone ? t('dangerZone') : (h.name ? `${h.id} — ${h.name}` : h.id));
      cell(tr, t('status')[h.status] || h.status);
      cell(tr, (zone ? '≤ ' : '') + num(h.overlap_m2, 0), true);
      cell(tr, (zone ? '≤ ' : '') + num(h.overlap_pct, 1) + ' %', true);
    });
    rows('released', v.released, (tr, r) => {
      cell(tr, r.certificate);
      cell(tr, t('method')[r.method] || r.method);
      cell(tr, new Date(r.released_at).toLocaleDateString(lang === 'uk' ? 'uk-UA' : 'en-GB', { timeZone: 'UTC' }));
      cell(tr, num(r.overlap_m2, 0), true);
    });
    $('certnote').textContent = v.certificate_note;
    $('caveat').textContent = v.caveat;
    $('result').hidden = false;
  }

  async function ask(format) {
    const res = await fetch(`/api/parcel/extract?format=${format}&lang=${lang}`, {
      method: 'POST',
      headers: { 'Content-Type': parcel.trim().startsWith('<') ? 'application/vnd.google-earth.kml+xml' : 'application/geo+json' },
      body: parcel,
    });
    if (!res.ok) {
      let detail = `${res.status}`;
      try { detail = (await res.json()).detail || detail; } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    return res;
  }

  async function run(ev) {
    ev.preventDefault();
    parcel = await body();
    if (!parcel) { say(t('empty'), true); return; }
    say(t('working'));
    try {
      const res = await ask('json');
      show(await res.json());
      say(t('done'));
    } catch (e) {
      $('result').hidden = true;
      say(t('failed') + (e instanceof TypeError ? t('offline') : e.message), true);
    }
  }

  async function open(format) {
    if (!parcel) return;
    try {
      const blob = await (await ask(format)).blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      if (format === 'pdf') a.download = `extract-${lang}.pdf`; else a.target = '_blank';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      say(t('failed') + e.message, true);
    }
  }

  $('lang').addEventListener('change', () => {
    lang = $('lang').value === 'en' ? 'en' : 'uk';
    localStorage.setItem('cairn-lang', lang);
    applyLang();
    if (parcel && !$('result').hidden) ask('json').then((r) => r.json()).then(show).catch(() => {});
  });
  $('form').addEventListener('submit', run);
  $('print').addEventListener('click', () => open('html'));
  $('pdf').addEventListener('click', () => open('pdf'));
  applyLang();
})();
