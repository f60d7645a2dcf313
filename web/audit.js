// The auditors' page: runs the compliance audit of the server's policy (GET /api/audit) or of a
// policy pasted in (POST /api/audit), shows the counts per rule and the violations with a filter
// by rule, and downloads them as CSV. The token stays in this tab's sessionStorage and is sent as
// a bearer token; without one nothing is shown.
'use strict';

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('cairn-token') || '';
// The last audit run, so that the CSV download repeats it: { policy: text or null, at }.
let last = null;

const RULES = {
  'permitted-zones': 'дозволені зони / permitted zones',
  'ap-lifetime': 'термін дії ППМ / AP lifetime',
  'apii-record': 'запис за ДП II / APII record',
  marking: 'позначення / marking',
  'public-warning': 'попередження населення / public warning',
  'settlement-distance': 'відстань до населених пунктів / settlement distance',
};

function text(v) {
  return v === undefined || v === null ? '' : String(v);
}

function cell(row, value) {
  const td = document.createElement('td');
  td.textContent = text(value);
  row.appendChild(td);
  return td;
}

// An answer that is not 2xx, as an error carrying the status and the problem.
class Refused extends Error {
  constructor(status, problem) {
    super(`${status}: ${problem.detail || problem.title || ''}`);
    this.status = status;
    this.problem = problem;
  }
}

function query(at, format) {
  const p = new URLSearchParams();
  if (at) p.set('at', at);
  if (format) p.set('format', format);
  const s = p.toString();
  return s ? `?${s}` : '';
}

// Runs an audit: the server's policy when `policy` is null, else the text given.
async function request(policy, at, format) {
  const headers = { Authorization: `Bearer ${token}` };
  const init = { method: 'GET', headers };
  if (policy !== null) {
    init.method = 'POST';
    headers['Content-Type'] = 'application/toml';
    init.body = policy;
  }
  const r = await fetch(`/api/audit${query(at, format)}`, init);
  if (!r.ok) throw new Refused(r.status, await r.json().catch(() => ({})));
  return r;
}

function showError(e) {
  $('error').textContent = e ? e.message : '';
}

function showPolicyError(e, policy) {
  const out = $('policy-error');
  if (!e) {
    out.textContent = '';
    delete out.dataset.line;
    return;
  }
  const line = e.problem && Number(e.problem.line);
  let shown = e.message;
  if (line && policy) {
    // The lines around the one at fault, numbered, the bad one marked.
    const lines = policy.split('\n');
    const from = Math.max(1, line - 2);
    const to = Math.min(lines.length, line + 2);
    const excerpt = [];
    for (let n = from; n <= to; n += 1) {
      excerpt.push(`${n === line ? '>' : ' '} ${String(n).padStart(3)} | ${lines[n - 1]}`);
    }
    shown = `${e.message}\n\n${excerpt.join('\n')}`;
    out.dataset.line = String(line);
  }
  out.textContent = shown;
}

function fillFilter(rules) {
  const sel = $('rule-filter');
  const keep = sel.value;
  sel.replaceChildren();
  const all = document.createElement('option');
  all.value = '';
  all.textContent = 'усі / all';
  sel.appendChild(all);
  for (const r of rules) {
    const o = document.createElement('option');
    o.value = r;
    o.textContent = RULES[r] ? `${r} — ${RULES[r]}` : r;
    sel.appendChild(o);
  }
  sel.value = rules.includes(keep) ? keep : '';
}

function applyFilter() {
  const rule = $('rule-filter').value;
  let shown = 0;
  for (const row of $('violations').querySelectorAll('tbody tr')) {
    row.hidden = rule !== '' && row.dataset.rule !== rule;
    if (!row.hidden) shown += 1;
  }
  $('violations').dataset.shown = String(shown);
}

function show(audit) {
  $('result-section').hidden = false;
  const n = audit.violations.length;
  $('summary').textContent = `${text(audit.policy) || 'policy'} — ${audit.at}: ` +
    `${audit.records} записів, з них ${audit.emplacement_records} записів про встановлення / ` +
    `${audit.records} records, ${audit.emplacement_records} of them emplacement records; ` +
    `${n} порушень / ${n} violations`;
  const counts = $('counts').querySelector('tbody');
  counts.replaceChildren();
  for (const rule of audit.rules) {
    const row = document.createElement('tr');
    row.dataset.rule = rule;
    cell(row, RULES[rule] ? `${rule} — ${RULES[rule]}` : rule);
    cell(row, audit.counts[rule] || 0);
    counts.appendChild(row);
  }
  const body = $('violations').querySelector('tbody');
  body.replaceChildren();
  for (const v of audit.violations) {
    const row = document.createElement('tr');
    row.dataset.rule = v.rule;
    row.dataset.record = v.record;
    cell(row, v.rule);
    cell(row, v.record);
    cell(row, v.began);
    cell(row, v.summary);
    body.appendChild(row);
  }
  $('violations').dataset.count = String(n);
  fillFilter(audit.rules);
  applyFilter();
}

// Runs an audit and shows it; errors of the policy go beside the policy box.
async function runAudit(policy) {
  showError(null);
  showPolicyError(null);
  $('notice').textContent = '';
  const at = $('at').value.trim();
  try {
    const audit = await (await request(policy, at, null)).json();
    last = { policy, at };
    show(audit);
    return true;
  } catch (e) {
    if (policy !== null && e.status === 400) {
      showPolicyError(e, policy);
    } else if (policy === null && (e.status === 404 || e.status === 409)) {
      // No policy configured, or one that does not fit the store: say so, and offer the box.
      $('notice').textContent = e.message;
    } else {
      showError(e);
    }
    if (e.status === 401 || e.status === 403) throw e;
    return false;
  }
}

async function downloadCsv() {
  showError(null);
  if (!last) return;
  try {
    const r = await request(last.policy, last.at, 'csv');
    const blob = await r.blob();
    const disposition = r.headers.get('Content-Disposition') || '';
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || 'cairn-audit.csv';
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (e) {
    showError(e);
  }
}

async function signIn() {
  showError(null);
  try {
    // The audit of the server's policy tells whether the token may audit at all.
    await runAudit(null);
    $('desk').hidden = false;
    sessionStorage.setItem('cairn-token', token);
    $('who').textContent = 'Увійшли / Signed in';
    $('logout').hidden = false;
  } catch (e) {
    $('desk').hidden = true;
    $('result-section').hidden = true;
    showError(e);
  }
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
$('run-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  runAudit(null).catch(showError);
});
$('policy-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  runAudit($('policy-text').value).catch(showError);
});
$('rule-filter').addEventListener('change', applyFilter);
$('csv').addEventListener('click', downloadCsv);

if (token) signIn();
window.cairnAudit = { runAudit };
