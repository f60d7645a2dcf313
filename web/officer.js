// The information officers' desk: the report triage queue, an area's history and the land
// release form, over the same HTTP API as every other client. The token stays in this tab's
// sessionStorage and is sent as a bearer token; without one nothing is shown.
'use strict';

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('cairn-token') || '';

function text(v) {
  return v === undefined || v === null ? '' : String(v);
}

function cell(row, value) {
  const td = document.createElement('td');
  td.textContent = text(value);
  row.appendChild(td);
  return td;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    throw new Error(`${r.status}: ${data.detail || data.title || r.statusText}`);
  }
  return data;
}

function showError(e) {
  $('error').textContent = e ? e.message : '';
}

async function signIn() {
  showError(null);
  try {
    // Any authenticated read tells whether the token is good and what it may do.
    await api('GET', '/api/reports?state=new');
    sessionStorage.setItem('cairn-token', token);
    $('who').textContent = 'Увійшли / Signed in';
    $('desk').hidden = false;
    $('logout').hidden = false;
    await loadQueue();
  } catch (e) {
    $('desk').hidden = true;
    showError(e);
  }
}

async function triage(ref, decision) {
  showError(null);
  try {
    await api('POST', `/api/reports/${encodeURIComponent(ref)}/triage`, decision);
    await loadQueue();
  } catch (e) {
    showError(e);
  }
}

function decisionButtons(td, report) {
  const add = (label, make) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', () => {
      const d = make();
      if (d) triage(report.reference, d);
    });
    td.appendChild(b);
  };
  add('Відкрити ділянку / Open area', () => ({ action: 'open' }));
  add("Прив'язати / Link", () => {
    const area = prompt('Ділянка / Area id');
    return area ? { action: 'link', area_id: area } : null;
  });
  add('Відхилити / Dismiss', () => {
    const reason = prompt('Причина / Reason');
    return reason ? { action: 'dismiss', reason } : null;
  });
}

async function loadQueue() {
  const state = $('queue-state').value;
  const data = await api('GET', `/api/reports?state=${encodeURIComponent(state)}`);
  const body = $('queue').querySelector('tbody');
  body.replaceChildren();
  for (const r of data.reports || []) {
    const row = document.createElement('tr');
    row.dataset.reference = r.reference;
    cell(row, r.reference);
    cell(row, r.received_at);
    cell(row, `${text(r.category)} ${text(r.description)}`.trim());
    cell(row, `${text(r.lat)}, ${text(r.lon)}`);
    const td = cell(row, r.triage ? `${r.triage.action} ${text(r.triage.area_id || r.triage.reason)}` : '');
    if (!r.triage) decisionButtons(td, r);
    body.appendChild(row);
  }
  $('queue').dataset.count = String((data.reports || []).length);
}

async function loadHistory(id) {
  const data = await api('GET', `/api/areas/${encodeURIComponent(id)}/history`);
  const body = $('history').querySelector('tbody');
  body.replaceChildren();
  for (const r of data.revisions) {
    const row = document.createElement('tr');
    cell(row, r.seq);
    cell(row, r.recorded_at);
    cell(row, r.author);
    cell(row, r.reason);
    cell(row, r.status);
    body.appendChild(row);
  }
  $('history').dataset.count = String(data.revisions.length);
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token').value.trim();
  signIn();
});
$('logout').addEventListener('click', () => {
  sessionStorage.removeItem('cairn-token');
  token = '';
  location.reload();
});
$('queue-refresh').addEventListener('click', () => loadQueue().catch(showError));
$('queue-state').addEventListener('change', () => loadQueue().catch(showError));
$('history-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  showError(null);
  loadHistory($('history-id').value.trim()).catch(showError);
});
$('release-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  try {
    const geometry = JSON.parse($('release-geometry').value);
    const out = await api('POST', '/api/releases', {
      area_id: $('release-area').value.trim(),
      method: $('release-method').value,
      activity_id: $('release-activity').value.trim(),
      geometry,
      reason: $('release-reason').value.trim() || undefined,
    });
    // The certificate is restricted: fetched with the token, then shown from a blob URL.
    const a = document.createElement('a');
    a.href = '#';
    a.id = 'certificate-link';
    a.textContent = `${out.id}: ${out.area.status}, ${out.area.remaining_m2} m² — сертифікат / certificate`;
    a.addEventListener('click', async (e) => {
      e.preventDefault();
      try {
        const r = await fetch(`/api/releases/${encodeURIComponent(out.id)}/certificate`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        if (!r.ok) throw new Error(`${r.status}: ${(await r.json().catch(() => ({}))).detail || r.statusText}`);
        const html = await r.blob();
        location.assign(URL.createObjectURL(new Blob([html], { type: 'text/html' })));
      } catch (err) {
        showError(err);
      }
    });
    $('release-answer').replaceChildren(a);
  } catch (e) {
    showError(e);
  }
});

if (token) signIn();
window.cairnOfficer = { loadQueue, loadHistory };
