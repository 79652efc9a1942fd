// Browser journeys of the advisers' web app (issue 11), against a server started by ./run with --demo.
// playwright-core drives Debian's chromium from node:test: one browser, a fresh context per journey.
// Elements are found by their labels, roles and texts (the French of the contract), plus the few data-
// attributes and names the contract fixes (`tr[data-action]`, input `csrf`, `filtre=`). The REST API
// (docs/api.md) is the oracle of what was really stored.
//
// Env (set by ./run): SERVER_URL, DEMO_PASSWORD, DEMO_LOGINS ("role\temail\tname" lines), ARTIFACTS,
//      PYTHON, PHONE_PY, PHONE_DIR, PYTHONPATH (the Python bindings).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const { SERVER_URL, DEMO_PASSWORD, DEMO_LOGINS, ARTIFACTS, PYTHON, PHONE_PY, PHONE_DIR } = process.env;
if (!SERVER_URL || !DEMO_PASSWORD || !DEMO_LOGINS || !ARTIFACTS) {
  throw new Error('run these journeys with tests/web-app/run (SERVER_URL, DEMO_PASSWORD, DEMO_LOGINS, ARTIFACTS)');
}
const ORIGIN = new URL(SERVER_URL).origin;
const SUFFIX = Date.now().toString(36);
const LAYOUT_TITLE = /^\S.* — Pass emploi, espace conseiller$/;
const WRONG_LOGIN = 'Adresse électronique ou mot de passe incorrect.';
const STAFF_ONLY = 'Cet espace est réservé aux conseillers et aux superviseurs des Missions Locales.';
const AXE = path.join(here, 'node_modules/axe-core/axe.min.js');

const LOGINS = DEMO_LOGINS.split('\n')
  .filter(Boolean)
  .map((line) => {
    const [role, email, name] = line.split('\t');
    return { role, email, name };
  });
const login = (name) => {
  const found = LOGINS.find((l) => l.name === name);
  if (!found) throw new Error(`no demo login named ${name} in ${JSON.stringify(LOGINS)}`);
  return found;
};
const KARIM = login('Karim Mansouri');
const JULIE = login('Julie Lambert');
const NADIA = login('Nadia Bernard');

// ---------------------------------------------------------------------------------------------------
// REST: the oracle.
const tokens = new Map();
async function rest(method, route, body, email) {
  const headers = { 'content-type': 'application/json' };
  if (email) headers.authorization = `Bearer ${await tokenOf(email)}`;
  const r = await fetch(`${SERVER_URL}/api/v1${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
async function tokenOf(email) {
  if (!tokens.has(email)) {
    const { access_token } = await rest('POST', '/auth/login', { email, password: DEMO_PASSWORD });
    tokens.set(email, access_token);
  }
  return tokens.get(email);
}
const portfolioOf = (who) => rest('GET', '/young-people', undefined, who.email);
const planOf = (youngId) => rest('GET', `/young-people/${youngId}/plan`, undefined, NADIA.email);
const fullName = (y) => `${y.first_name} ${y.last_name}`;
// The young people an adviser follows temporarily (REST: each one's advisers and their kind).
async function temporaryOf(who) {
  const me = await rest('GET', '/me', undefined, who.email);
  const found = [];
  for (const y of await portfolioOf(who)) {
    const detail = await rest('GET', `/young-people/${y.id}`, undefined, who.email);
    if (detail.advisers.some((a) => a.id === me.id && a.kind === 'temporary')) found.push(y.id);
  }
  return found;
}

// The demo's young people, by name, with the adviser who follows them at the start.
const young = {};
async function youngPerson(first, last, adviser) {
  const found = (await portfolioOf(adviser)).find((y) => y.first_name === first && y.last_name === last);
  if (!found) throw new Error(`${first} ${last} is not in ${adviser.name}'s demo portfolio`);
  return { ...found, name: fullName(found), login: login(fullName(found)) };
}

// ---------------------------------------------------------------------------------------------------
// The browser, one context per journey.
let browser;
before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, timeout: 30_000 });
  for (const [key, first, last, adviser] of [
    ['ines', 'Inès', 'Benali', KARIM],
    ['chloe', 'Chloé', 'Dubois', KARIM],
    ['manon', 'Manon', 'Lefèvre', KARIM],
    ['sarah', 'Sarah', 'Diallo', KARIM],
    ['lea', 'Léa', 'Nguyen', KARIM],
    ['camille', 'Camille', 'Roux', KARIM],
    ['lucas', 'Lucas', 'Martin', JULIE],
    ['yanis', 'Yanis', 'Haddad', JULIE],
  ]) {
    young[key] = await youngPerson(first, last, adviser);
  }
});
after(async () => {
  await browser?.close();
});

const slug = (s) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
const artifact = (name) => path.join(ARTIFACTS, name);

async function newContext(options = {}) {
  const context = await browser.newContext({
    locale: 'fr-FR',
    timezoneId: 'Europe/Paris',
    viewport: { width: 1280, height: 800 },
    ...options,
  });
  context.setDefaultTimeout(8_000);
  context.setDefaultNavigationTimeout(15_000);
  return context;
}

// Adds a line to an error as node:test prints it (its stack).
function note(e, line) {
  if (!(e instanceof Error)) return;
  e.stack = `${e.stack ?? ''}\n    ${line}`;
}

// Runs one journey in a fresh context; on failure, a full-page capture of each of its pages and the URL
// in the error.
async function journey(t, fn, options) {
  const context = await newContext(options);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  try {
    await fn({ context, page });
  } catch (e) {
    let i = 0;
    for (const p of context.pages()) {
      const file = artifact(`failure-${slug(t.fullName ?? t.name)}-${i++}.png`);
      await p.screenshot({ path: file, fullPage: true, timeout: 5_000 }).catch(() => {});
      note(e, `on page ${p.url()} (capture ${file})`);
    }
    if (errors.length) note(e, errors.join('\n    '));
    throw e;
  } finally {
    await context.close();
  }
}

// A navigation that must answer `status` (200 by default).
async function open(page, route, status = 200) {
  const response = await page.goto(new URL(route, SERVER_URL).href);
  assert.ok(response, `no response for ${route}`);
  assert.equal(response.status(), status, `GET ${route}: status ${response.status()}, expected ${status}`);
  return response;
}
const pathOf = (page) => new URL(page.url()).pathname;
async function heading(page, name) {
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}
// Clicks something that submits a form or follows a link, and waits for the next page to load.
async function submit(page, locator, urlPredicate) {
  const before = page.url();
  const responses = [];
  const listener = (r) => r.request().isNavigationRequest() && r.request().frame() === page.mainFrame() && responses.push(r);
  page.on('response', listener);
  try {
    await locator.click();
    // Another address, or the answer to a POST (a form re-rendered at its own address); not a GET of
    // the same address (a reload by the live stream).
    const posted = () => responses.some((r) => r.request().method() === 'POST' || r.request().redirectedFrom()?.method() === 'POST');
    await page.waitForURL(urlPredicate ?? ((u) => u.href !== before || posted()), { waitUntil: 'load' });
    // A re-rendered form (422) keeps the same URL: wait for its response.
    for (let i = 0; i < 100 && responses.length === 0; i++) await page.waitForTimeout(50);
    await page.waitForLoadState('load');
  } finally {
    page.off('response', listener);
  }
  return responses;
}

// A form control by its label's own text (without the hint a DSFR label holds in a child element), or
// its aria-label: « Titre » finds <label>Titre <span>200 caractères au plus</span></label>, and
// « Commentaire » does not find « Commentaire de qualification ». Waits until exactly one is there.
const CONTROLS = 'input, select, textarea';
// `scope` is the page or a locator (a row of several forms).
async function field(scope, label, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  let hits = [];
  for (;;) {
    hits = await scope.locator(CONTROLS).evaluateAll((els, label) => {
      const own = (l) =>
        [...l.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' ').replace(/\s+/g, ' ').trim();
      return els
        .map((e, i) => ([...(e.labels ?? [])].some((l) => own(l) === label) || e.getAttribute('aria-label') === label ? i : -1))
        .filter((i) => i >= 0);
    }, label).catch(() => []);
    if (hits.length === 1) return scope.locator(CONTROLS).nth(hits[0]);
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const where = typeof scope.url === 'function' ? scope.url() : `${scope}`;
  throw new Error(`${hits.length} form controls labelled « ${label} » in ${where} (expected one)`);
}

async function signIn(page, who, password = DEMO_PASSWORD, landing = '/portefeuille') {
  if (pathOf(page) !== '/') await open(page, '/');
  await (await field(page, 'Adresse électronique')).fill(who.email);
  await (await field(page, 'Mot de passe')).fill(password);
  await submit(page, page.getByRole('button', { name: 'Se connecter' }), landing ? (u) => u.pathname === landing : undefined);
}

// The session of a user, signed in once through the sign-in form and reused by the journeys that are
// not about signing in (each still in a fresh context): the server limits sign-ins per address (30 a
// minute), and this suite would come near.
const sessions = new Map();
async function signedIn(page, who) {
  if (!sessions.has(who.email)) {
    const context = await newContext();
    try {
      const first = await context.newPage();
      await signIn(first, who);
      sessions.set(who.email, (await context.storageState()).cookies);
    } finally {
      await context.close();
    }
  }
  await page.context().addCookies(sessions.get(who.email));
  await open(page, '/portefeuille');
}

// A select (by label): the option whose label matches `want` (a RegExp or string), else the first one
// with a value.
async function choose(scope, label, want) {
  const select = await field(scope, label);
  const options = await select.evaluate((s) =>
    [...s.options].map((o) => ({ value: o.value, label: o.label.trim(), disabled: o.disabled })),
  );
  const usable = options.filter((o) => o.value !== '' && !o.disabled);
  const matches = (o) => (want instanceof RegExp ? want.test(o.label) : o.label === want);
  const pick = want === undefined ? usable[0] : usable.find(matches);
  assert.ok(pick, `select « ${label} »: no option ${want ?? 'with a value'} among ${JSON.stringify(options)}`);
  await select.selectOption(pick.value);
  return pick;
}
// Checks a DSFR checkbox or radio: its input sits under its label, which takes the click (as a user's
// click on the label would); check() then verifies that the box is ticked.
async function tick(locator) {
  await locator.check({ force: true });
  assert.equal(await locator.isChecked(), true);
}
// « Modalité »: a select or a group of radios.
async function chooseModality(page, want) {
  const select = page.getByRole('combobox', { name: 'Modalité' });
  if (await select.count()) return choose(page, 'Modalité', want);
  const group = page.getByRole('group', { name: 'Modalité' }).or(page.getByRole('radiogroup', { name: 'Modalité' }));
  const radio = group.getByRole('radio', { name: want });
  await tick(radio.first());
}

const isoDay = (offsetDays) => {
  const d = new Date(Date.now() + offsetDays * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(d); // YYYY-MM-DD
};
const rowOf = (page, kind, id) => page.locator(`tr[data-${kind}="${id}"]`);
const portfolioRows = (page) => page.locator('tr[data-young-person]');
// The Monday (YYYY-MM-DD) of the week of an instant, in Paris.
const mondayOf = (instant) => {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date(instant));
  const noon = new Date(`${day}T12:00:00Z`);
  return new Date(noon.getTime() - ((noon.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
};
const plusDays = (iso, n) => new Date(new Date(`${iso}T12:00:00Z`).getTime() + n * 86_400_000).toISOString().slice(0, 10);
async function waitUntil(what, predicate, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await predicate();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

// The form that holds the button named `button`, as the browser would post it.
async function formOf(page, button) {
  return page.getByRole('button', { name: button, exact: true }).evaluate((b) => {
    const form = b.form;
    const fields = [...form.elements]
      .filter((e) => e.name)
      .map((e) => ({
        name: e.name,
        type: e.type,
        value: e.value,
        label: (e.labels?.[0]?.innerText ?? '').split('\n')[0].trim(),
      }));
    return { action: form.action, method: form.method, fields };
  });
}

// The phone of a young person (tests/web-app/phone.py over the Python bindings).
function phone(who, ...args) {
  return new Promise((resolve, reject) => {
    const dataDir = path.join(PHONE_DIR, slug(who.email));
    fs.mkdirSync(dataDir, { recursive: true });
    execFile(
      PYTHON || 'python3',
      [PHONE_PY, '--server', SERVER_URL, '--email', who.email, '--password', DEMO_PASSWORD, '--data-dir', dataDir, ...args],
      { timeout: 60_000, env: process.env },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`phone.py ${args.join(' ')} failed (${error.code ?? error.signal}): ${stderr || error.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

// The cells of a portfolio row, by column header.
function portfolioCells(page, id) {
  return page.getByRole('table').evaluate((table, id) => {
    const headers = [...table.querySelectorAll('thead tr:last-child > *')].map((c) => c.innerText.trim());
    const row = table.querySelector(`tr[data-young-person="${id}"]`);
    return row ? Object.fromEntries([...row.children].map((c, i) => [headers[i], c.innerText.trim()])) : null;
  }, id);
}

// ---------------------------------------------------------------------------------------------------
// 1. Sign-in.
test('1. connexion: the adviser lands on the portfolio; wrong logins and young people are refused', { timeout: 60_000 }, async (t) => {
  await journey(t, async ({ page, context }) => {
    await open(page, '/');
    await heading(page, 'Connexion à votre espace conseiller');
    await signIn(page, KARIM);
    await heading(page, 'Portefeuille');
    const cookie = (await context.cookies(SERVER_URL)).find((c) => c.name === 'pe_session');
    assert.ok(cookie, 'no pe_session cookie after the sign-in');
    assert.equal(cookie.httpOnly, true, 'pe_session is not HttpOnly');
    assert.equal(cookie.sameSite, 'Lax', 'pe_session is not SameSite=Lax');
    // Signed in, / goes to the portfolio.
    await open(page, '/');
    assert.equal(pathOf(page), '/portefeuille');
  });

  await journey(t, async ({ page }) => {
    const alerts = [];
    for (const [email, password] of [
      [KARIM.email, 'not-the-password'],
      [`personne-${SUFFIX}@ml-lyon.example.org`, DEMO_PASSWORD],
    ]) {
      await open(page, '/');
      await (await field(page, 'Adresse électronique')).fill(email);
      await (await field(page, 'Mot de passe')).fill(password);
      await submit(page, page.getByRole('button', { name: 'Se connecter' }));
      const alert = page.getByRole('alert').filter({ hasText: WRONG_LOGIN });
      await alert.waitFor();
      assert.notEqual(pathOf(page), '/portefeuille');
      alerts.push(await alert.innerText());
    }
    assert.equal(alerts[0], alerts[1], 'a wrong password and an unknown email must read the same');
    // Nothing signed in: the portfolio sends back to the sign-in page.
    await open(page, '/portefeuille');
    assert.equal(pathOf(page), '/');
  });

  await journey(t, async ({ page }) => {
    await open(page, '/');
    await (await field(page, 'Adresse électronique')).fill(young.ines.login.email);
    await (await field(page, 'Mot de passe')).fill(DEMO_PASSWORD);
    await submit(page, page.getByRole('button', { name: 'Se connecter' }));
    await page.getByRole('alert').filter({ hasText: STAFF_ONLY }).waitFor();
    await open(page, '/portefeuille');
    assert.equal(pathOf(page), '/', 'a young person must not get a session on the advisers’ space');
  });

  // A page asked for while signed out comes back after the sign-in.
  await journey(t, async ({ page }) => {
    await open(page, '/agenda');
    const url = new URL(page.url());
    assert.equal(url.pathname, '/');
    assert.equal(url.searchParams.get('suivant'), '/agenda');
    await signIn(page, KARIM, DEMO_PASSWORD, '/agenda');
    await heading(page, 'Agenda');
  });

  // « suivant » never leads off the site.
  for (const next of ['https://evil.example/', '//evil.example/portefeuille', '/\\evil.example']) {
    await journey(t, async ({ page }) => {
      await open(page, `/?suivant=${encodeURIComponent(next)}`);
      await signIn(page, KARIM, DEMO_PASSWORD, null);
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).origin, ORIGIN, `suivant=${next} led to ${page.url()}`);
      assert.equal(pathOf(page), '/portefeuille', `suivant=${next} led to ${page.url()}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// 2. Portfolio.
test('2. portefeuille: search, filters with their counts, sorting, opening a young person', { timeout: 60_000 }, async (t) => {
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    const folks = await portfolioOf(KARIM);
    assert.equal(await portfolioRows(page).count(), folks.length, 'one row per young person of the portfolio');
    for (const y of folks) {
      const link = rowOf(page, 'young-person', y.id).getByRole('link', { name: fullName(y), exact: true });
      assert.equal(await link.getAttribute('href'), `/beneficiaires/${y.id}`, `link of ${fullName(y)}`);
    }
    assert.equal(await page.getByRole('link', { name: young.lucas.name }).count(), 0, 'Julie’s young person is listed');
    for (const column of ['Actions en cours', 'En retard', 'À qualifier', 'Prochain rendez-vous', 'Dernière activité']) {
      await page.getByRole('columnheader', { name: column, exact: true }).waitFor();
    }
    // The counts of a row are the projection's.
    const cells = await portfolioCells(page, young.ines.id);
    const ines = folks.find((y) => y.id === young.ines.id);
    assert.equal(cells['En retard'], String(ines.late_actions), `« En retard » of Inès: ${JSON.stringify(cells)}`);
    assert.equal(cells['Actions en cours'], String(ines.open_actions), `« Actions en cours » of Inès: ${JSON.stringify(cells)}`);

    // Search by a name.
    await (await field(page, 'Rechercher un bénéficiaire')).fill(young.chloe.last_name);
    await submit(page, page.getByRole('button', { name: 'Rechercher' }));
    assert.equal(new URL(page.url()).searchParams.get('q'), young.chloe.last_name);
    assert.deepEqual(
      await portfolioRows(page).evaluateAll((rows) => rows.map((r) => r.dataset.youngPerson)),
      [young.chloe.id],
      'the search by « Dubois » must list Chloé Dubois only',
    );
    await (await field(page, 'Rechercher un bénéficiaire')).fill(young.lucas.last_name);
    await submit(page, page.getByRole('button', { name: 'Rechercher' }));
    assert.equal(await portfolioRows(page).count(), 0, 'the search must not find another adviser’s young person');

    // Each filter: its count is the number of rows it lists.
    // The expected counts, from REST: late actions (projection), done and unqualified actions (plans),
    // Karim as a temporary adviser (each young person's advisers).
    let toQualify = 0;
    for (const y of folks) {
      const plan = await planOf(y.id);
      if (plan.actions.some((a) => a.status === 'done' && !a.qualification)) toQualify++;
    }
    const temporary = (await temporaryOf(KARIM)).length;
    const filters = [
      ['Actions en retard', 'en_retard', folks.filter((y) => y.late_actions > 0).length],
      ['Actions à qualifier', 'a_qualifier', toQualify],
      ['Sans activité depuis 7 jours', 'sans_activite'],
      ['Suivis temporaires', 'temporaires', temporary],
    ];
    for (const [label, value, expected] of filters) {
      await open(page, '/portefeuille');
      const link = page.getByRole('link', { name: new RegExp(`^${label}\\s*\\(\\d+\\)$`) });
      const text = (await link.innerText()).replace(/\s+/g, ' ');
      const count = Number(/\((\d+)\)/.exec(text)[1]);
      await submit(page, link);
      assert.equal(new URL(page.url()).searchParams.get('filtre'), value, `the « ${label} » link`);
      assert.equal(await portfolioRows(page).count(), count, `« ${text} » must list ${count} rows`);
      if (expected !== undefined) assert.equal(count, expected, `« ${text} »: expected ${expected} (REST)`);
    }

    // Sorting by name.
    await open(page, '/portefeuille?tri=nom');
    const names = await portfolioRows(page).evaluateAll((rows) => rows.map((r) => r.querySelector('a').innerText.trim()));
    const byLast = [...names].sort((a, b) => a.split(' ').slice(1).join(' ').localeCompare(b.split(' ').slice(1).join(' '), 'fr'));
    const byFull = [...names].sort((a, b) => a.localeCompare(b, 'fr'));
    assert.ok(
      JSON.stringify(names) === JSON.stringify(byLast) || JSON.stringify(names) === JSON.stringify(byFull),
      `tri=nom is not sorted by name: ${names}`,
    );
    assert.equal(names.length, folks.length);
    for (const tri of ['rdv', 'activite']) {
      await open(page, '/portefeuille');
      await submit(page, page.locator(`a[href*="tri=${tri}"]`).first());
      assert.equal(new URL(page.url()).searchParams.get('tri'), tri);
      assert.equal(await portfolioRows(page).count(), folks.length, `tri=${tri} lists another set of young people`);
    }

    // Opening a young person.
    await open(page, '/portefeuille');
    await submit(page, page.getByRole('link', { name: young.ines.name, exact: true }));
    assert.equal(pathOf(page), `/beneficiaires/${young.ines.id}`);
    await heading(page, young.ines.name);
    for (const section of ['Actions', 'Rendez-vous', 'Démarches']) {
      await page.getByRole('heading', { level: 2, name: section, exact: true }).waitFor();
    }
    const plan = await planOf(young.ines.id);
    assert.equal(await page.locator('tr[data-action]').count(), plan.actions.length, 'one row per action');
    assert.equal(await page.locator('tr[data-appointment]').count(), plan.appointments.length, 'one row per appointment');
    assert.equal(await page.locator('tr[data-task]').count(), plan.tasks.length, 'one row per task');
    const qualified = plan.actions.find((a) => a.qualification);
    assert.ok(qualified, 'the demo has a qualified action');
    await rowOf(page, 'action', qualified.id).getByText('Terminée', { exact: true }).waitFor();
    await rowOf(page, 'action', qualified.id).getByText('Qualifiée', { exact: true }).waitFor();
    const inProgress = plan.actions.find((a) => a.status === 'in_progress');
    await rowOf(page, 'action', inProgress.id).getByText('En cours', { exact: true }).waitFor();
  });
});

// 2b. A new young person's account.
test('2b. nouveau bénéficiaire: the form creates the account and shows a working activation code', { timeout: 60_000 }, async (t) => {
  const email = `camille-nouvelle-${SUFFIX}@exemple.fr`;
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await submit(page, page.getByRole('link', { name: 'Créer un compte bénéficiaire' }).first());
    assert.equal(pathOf(page), '/beneficiaires/nouveau');
    await (await field(page, 'Prénom')).fill('Maëlle');
    await (await field(page, 'Nom')).fill(`Essai ${SUFFIX}`);
    await (await field(page, 'Adresse électronique')).fill(email);
    await submit(page, page.getByRole('button', { name: 'Créer le compte' }));
    const code = (await page.locator('[data-activation-code]').innerText()).trim();
    assert.ok(code.length >= 6, `no activation code shown (« ${code} »)`);
    const created = (await portfolioOf(KARIM)).find((y) => y.email === email);
    assert.ok(created, 'the new young person is not in Karim’s portfolio');
    const activated = await rest('POST', '/auth/activate', { activation_code: code, password: `mot-de-passe-${SUFFIX}` });
    assert.equal(activated.id, created.id, 'the code shown activates another account');
    await open(page, '/portefeuille');
    await rowOf(page, 'young-person', created.id).getByRole('link', { name: `Maëlle Essai ${SUFFIX}` }).waitFor();
  });
});

// ---------------------------------------------------------------------------------------------------
// 3 and 4. An action, from its creation to its qualification, with the young person's phone completing
// it while the adviser looks at the file (live update, no reload).
const story = { who: null, title: `Préparer l'entretien chez Decathlon ${SUFFIX}`, action: null };
const actionOf = async (id) => (await planOf(story.who.id)).actions.find((a) => a.id === id);
test('3. actions: create (with a refused blank title), edit, change the status, comment', { timeout: 60_000 }, async (t) => {
  const who = (story.who = young.manon);
  const { title } = story;
  const due = isoDay(14);
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, `/beneficiaires/${who.id}`);
    await submit(page, page.getByRole('link', { name: 'Créer une action', exact: true }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/actions/nouvelle`);

    // A blank title (spaces pass the browser's `required`): the form comes back (422) with the typed
    // values, and nothing is created.
    const before = (await planOf(who.id)).actions.length;
    await (await field(page, 'Titre')).fill('   ');
    await (await field(page, 'Description')).fill('Apporter le CV imprimé.');
    await choose(page, 'Catégorie', 'Emploi');
    const [refused] = await submit(page, page.getByRole('button', { name: "Créer l'action" }));
    assert.equal(refused?.status(), 422, 'an action with a blank title must be refused with 422');
    assert.equal(await (await field(page, 'Description')).inputValue(), 'Apporter le CV imprimé.');
    assert.equal((await planOf(who.id)).actions.length, before);
    // The title's error is tied to its field (aria-describedby), for screen readers.
    const error = await (await field(page, 'Titre')).evaluate((input) =>
      (input.getAttribute('aria-describedby') ?? '')
        .split(/\s+/)
        .map((id) => document.getElementById(id)?.innerText.trim())
        .filter(Boolean)
        .join(' '),
    );
    assert.ok(error, 'the blank title’s field points to no error message (aria-describedby)');

    await (await field(page, 'Titre')).fill(`${title} (brouillon)`);
    await (await field(page, 'Description')).fill('Apporter le CV imprimé.');
    await choose(page, 'Catégorie', 'Emploi');
    await (await field(page, "Date d'échéance")).fill(due);
    const [created] = await submit(page, page.getByRole('button', { name: "Créer l'action" }));
    assert.ok(created && created.status() < 400, `creating the action answered ${created?.status()}`);
    const stored = (await planOf(who.id)).actions.filter((a) => a.title === `${title} (brouillon)`);
    assert.equal(stored.length, 1, 'the action is stored once');
    const action = (story.action = stored[0]);
    assert.equal(action.description, 'Apporter le CV imprimé.');
    assert.equal(action.category, 'EMPLOI');
    assert.equal(action.due_date, due);
    assert.equal(action.status, 'not_started');

    await open(page, `/beneficiaires/${who.id}`);
    const row = rowOf(page, 'action', action.id);
    await row.getByText('À réaliser', { exact: true }).waitFor();
    await submit(page, row.getByRole('link', { name: `${title} (brouillon)` }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/actions/${action.id}`);

    // Edit: the form holds the current values.
    assert.equal(await (await field(page, 'Titre')).inputValue(), `${title} (brouillon)`);
    await (await field(page, 'Titre')).fill(title);
    await submit(page, page.getByRole('button', { name: 'Enregistrer', exact: true }));
    assert.equal((await actionOf(action.id)).title, title, 'the edit form did not change the title');

    // Status.
    await open(page, `/beneficiaires/${who.id}/actions/${action.id}`);
    await choose(page, 'Statut', 'En cours');
    await submit(page, page.getByRole('button', { name: 'Changer le statut' }));
    assert.equal((await actionOf(action.id)).status, 'in_progress');

    // Comment.
    const comment = `Pense à relire l'offre avant mardi ${SUFFIX}`;
    await open(page, `/beneficiaires/${who.id}/actions/${action.id}`);
    await (await field(page, 'Commentaire')).fill(comment);
    await submit(page, page.getByRole('button', { name: 'Commenter' }));
    await open(page, `/beneficiaires/${who.id}/actions/${action.id}`);
    await page.getByText(comment).waitFor();
    assert.deepEqual((await actionOf(action.id)).comments.map((c) => c.text), [comment]);
    assert.equal(await page.getByRole('button', { name: "Qualifier l'action" }).count(), 0, 'qualification offered before done');
    await open(page, `/beneficiaires/${who.id}`);
    await rowOf(page, 'action', action.id).getByText('En cours', { exact: true }).waitFor();
  });
});

// The young person's phone completes it while the adviser looks at the file: the badge turns
// « Terminée » without a reload (the page's EventSource, then its [data-live] regions).
test('4. téléphone: the phone completes the action; the open file shows « Terminée » live', { timeout: 60_000 }, async (t) => {
  assert.ok(story.action, 'test 3 created no action');
  const { who, title, action } = story;
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    // The page's EventSource: wait until the stream of this young person answered (its subscription is
    // then in place). The contract says /flux?beneficiaires=<id>,<id>; a path /flux/…/<id> is taken too.
    const streams = [];
    const listensTo = (url) =>
      [...(url.searchParams.get('beneficiaires') ?? '').split(','), ...url.pathname.split('/')].includes(who.id);
    page.on('response', (r) => new URL(r.url()).pathname.startsWith('/flux') && streams.push(r));
    await open(page, `/beneficiaires/${who.id}`);
    await rowOf(page, 'action', action.id).getByText(/^(En cours|À réaliser)$/).waitFor();
    const stream = await waitUntil(
      'the file page’s EventSource on /flux for this young person',
      () => streams.find((r) => listensTo(new URL(r.url()))),
      8_000,
    ).catch((e) => assert.fail(`${e.message}; streams seen: ${streams.map((r) => r.url()).join(', ') || 'none'}`));
    assert.equal(stream.status(), 200, `${stream.url()} answered ${stream.status()}`);
    await page.waitForTimeout(300);
    await page.evaluate(() => {
      window.__notReloaded = true;
    });
    const loads = [];
    page.on('load', () => loads.push(page.url()));
    const phoneView = await phone(who.login, 'complete', title);
    assert.equal(phoneView.actions.find((a) => a.id === action.id)?.status, 'done', 'the phone did not complete it');
    assert.equal((await actionOf(action.id)).status, 'done', 'the server does not have it done after the phone synced');
    await rowOf(page, 'action', action.id).getByText('Terminée', { exact: true }).waitFor({ timeout: 8_000 });
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the page was reloaded');
    assert.deepEqual(loads, [], 'the page was reloaded');
  });
});

// The portfolio follows its young people's plans too, and leaves alone the field being typed in.
test('4b. portefeuille en direct: a new action of a young person updates the row; the search being typed stays', { timeout: 60_000 }, async (t) => {
  const who = young.lea;
  await journey(t, async ({ page }) => {
    const streams = [];
    page.on('response', (r) => new URL(r.url()).pathname.startsWith('/flux') && streams.push(r));
    await signedIn(page, KARIM);
    await waitUntil('the portfolio’s EventSource on /flux', () => streams.find((r) => r.status() === 200), 8_000);
    await page.waitForTimeout(300);
    const before = await portfolioCells(page, who.id);
    assert.ok(before, 'Léa is not in the portfolio');
    const search = await field(page, 'Rechercher un bénéficiaire');
    await search.click();
    await page.keyboard.type('Ngu');
    await page.evaluate(() => {
      window.__notReloaded = true;
    });
    await rest('POST', `/young-people/${who.id}/actions`, { title: `Action du téléphone ${SUFFIX}`, category: 'SANTE' }, who.login.email);
    const open = Number(before['Actions en cours']) + 1;
    await waitUntil(
      `« Actions en cours » of Léa to become ${open} without a reload`,
      async () => (await portfolioCells(page, who.id))?.['Actions en cours'] === String(open),
      8_000,
    );
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the portfolio was reloaded');
    const typed = await field(page, 'Rechercher un bénéficiaire');
    assert.equal(await typed.inputValue(), 'Ngu', 'the live update erased the search being typed');
    assert.equal(await typed.evaluate((e) => e === document.activeElement), true, 'the live update took the focus away');
  });
});

test('3b. qualification: the done action is qualified from its page', { timeout: 60_000 }, async (t) => {
  assert.ok(story.action, 'test 3 created no action');
  const { who, action } = story;
  if ((await actionOf(action.id)).status !== 'done') {
    // The phone (test 4) did not complete it: the young person does it over REST, so that the
    // qualification form is still checked.
    t.diagnostic('the phone did not complete the action: completed over REST as the young person instead');
    await rest('PATCH', `/young-people/${who.id}/actions/${action.id}`, { status: 'done' }, who.login.email);
  }
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, `/beneficiaires/${who.id}/actions/${action.id}`);
    await choose(page, 'Code de qualification');
    await (await field(page, 'Commentaire de qualification')).fill('Entretien préparé avec la conseillère.');
    await submit(page, page.getByRole('button', { name: "Qualifier l'action" }));
    const qualified = await actionOf(action.id);
    assert.ok(qualified.qualification, 'the action is not qualified');
    assert.equal(qualified.qualification.comment, 'Entretien préparé avec la conseillère.');
    await open(page, `/beneficiaires/${who.id}`);
    await rowOf(page, 'action', action.id).getByText('Qualifiée', { exact: true }).waitFor();
  });
});

// Forms work without JavaScript (POST, 303).
test('3c. sans JavaScript: create an action and change its status with JavaScript off', { timeout: 60_000 }, async (t) => {
  const who = young.chloe;
  const title = `Action sans JavaScript ${SUFFIX}`;
  await journey(
    t,
    async ({ page }) => {
      await signedIn(page, KARIM);
      await open(page, `/beneficiaires/${who.id}/actions/nouvelle`);
      await (await field(page, 'Titre')).fill(title);
      await choose(page, 'Catégorie', 'Formation');
      const [created] = await submit(page, page.getByRole('button', { name: "Créer l'action" }));
      assert.ok(created && created.status() < 400, `creating without JavaScript answered ${created?.status()}`);
      const action = (await planOf(who.id)).actions.find((a) => a.title === title);
      assert.ok(action, 'the action posted without JavaScript is not stored');
      assert.equal(action.category, 'FORMATION');
      await open(page, `/beneficiaires/${who.id}/actions/${action.id}`);
      await choose(page, 'Statut', 'En cours');
      await submit(page, page.getByRole('button', { name: 'Changer le statut' }));
      assert.equal((await planOf(who.id)).actions.find((a) => a.id === action.id).status, 'in_progress');
    },
    { javaScriptEnabled: false },
  );
});

// The young person's completion (test 4, or 3b's fallback) reached Karim's notification centre.
test('3d. notifications: the completion is listed; « Marquer comme lue »; the browser button', { timeout: 60_000 }, async (t) => {
  const unread = (await rest('GET', '/notifications', undefined, KARIM.email)).filter((n) => !n.read_at);
  assert.ok(unread.length > 0, 'Karim has no unread notification after a young person completed an action');
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await submit(page, page.getByRole('link', { name: 'Notifications', exact: true }).first());
    await heading(page, 'Notifications');
    await page.getByRole('button', { name: 'Activer les notifications du navigateur' }).waitFor();
    const marks = page.getByRole('button', { name: /^Marquer comme lue/ });
    const before = await marks.count();
    assert.equal(before, unread.length, 'one « Marquer comme lue » per unread notification');
    await submit(page, marks.first());
    assert.equal(await page.getByRole('button', { name: /^Marquer comme lue/ }).count(), before - 1);
    const after = (await rest('GET', '/notifications', undefined, KARIM.email)).filter((n) => !n.read_at);
    assert.equal(after.length, unread.length - 1, 'the notification is not read on the server');
  });
});

// « Actions à qualifier » of /pilotage: each row qualifies its action.
test('3e. pilotage: an action done by the young person is qualified from « Actions à qualifier »', { timeout: 60_000 }, async (t) => {
  const who = young.chloe;
  const title = `Envoyer trois candidatures ${SUFFIX}`;
  const { id } = await rest('POST', `/young-people/${who.id}/actions`, { title, category: 'EMPLOI' }, KARIM.email);
  await rest('PATCH', `/young-people/${who.id}/actions/${id}`, { status: 'done' }, who.login.email);
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, '/pilotage');
    await heading(page, 'Pilotage');
    await page.getByRole('heading', { name: 'Actions à qualifier' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: title }).or(page.getByRole('listitem').filter({ hasText: title }));
    await row.first().waitFor();
    await choose(row.first(), 'Code de qualification');
    await submit(page, row.first().getByRole('button', { name: /Qualifier/ }));
    assert.ok((await planOf(who.id)).actions.find((a) => a.id === id).qualification, 'not qualified from /pilotage');
    await open(page, '/pilotage');
    assert.equal(await page.getByText(title).count(), 0, 'a qualified action is still « à qualifier »');
  });
});

// ---------------------------------------------------------------------------------------------------
// 5. Appointments.
async function fillAppointment(page, { title, date, time, duration }) {
  if (title !== undefined) await (await field(page, 'Titre')).fill(title);
  if ((await (await field(page, 'Type')).inputValue()) === '') await choose(page, 'Type');
  await (await field(page, 'Date')).fill(date);
  await (await field(page, 'Heure')).fill(time);
  if (duration !== undefined) await (await field(page, 'Durée (minutes)')).fill(String(duration));
}
test('5. rendez-vous: schedule, reschedule, cancel; closing offered once started', { timeout: 60_000 }, async (t) => {
  const who = young.sarah;
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    const demo = (await planOf(who.id)).appointments;
    const future = demo.find((a) => new Date(a.starts_at) > new Date());
    assert.ok(future, 'the demo has a future appointment');
    await open(page, `/beneficiaires/${who.id}/rendez-vous/${future.id}`);
    await page.getByText('Accepté', { exact: true }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Clore le rendez-vous' }).count(), 0, 'closing offered before it started');

    // Schedule.
    const title = `Point sur le CV ${SUFFIX}`;
    await open(page, `/beneficiaires/${who.id}`);
    await submit(page, page.getByRole('link', { name: 'Planifier un rendez-vous', exact: true }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/rendez-vous/nouveau`);
    await fillAppointment(page, { title, date: isoDay(5), time: '14:30', duration: 30 });
    await chooseModality(page, /sur place|présentiel/i);
    await (await field(page, 'Adresse')).fill('12 rue de la République, 69002 Lyon');
    const [scheduled] = await submit(page, page.getByRole('button', { name: 'Planifier le rendez-vous' }));
    assert.ok(scheduled && scheduled.status() < 400, `scheduling answered ${scheduled?.status()}`);
    const stored = (await planOf(who.id)).appointments.filter((a) => a.title === title);
    assert.equal(stored.length, 1, 'the appointment is stored once');
    const appointment = stored[0];
    assert.equal(appointment.duration_minutes, 30);
    assert.equal(appointment.modality, 'in_person');
    assert.equal(appointment.status, 'scheduled');
    await open(page, `/beneficiaires/${who.id}`);
    await rowOf(page, 'appointment', appointment.id).waitFor();
    await open(page, `/beneficiaires/${who.id}/rendez-vous/${appointment.id}`);
    await page.getByText('Sans réponse', { exact: true }).first().waitFor();

    // Reschedule: the form holds the current values; a new day and hour.
    await open(page, `/beneficiaires/${who.id}/rendez-vous/${appointment.id}`);
    assert.equal(await (await field(page, 'Date')).inputValue(), isoDay(5));
    assert.equal(await (await field(page, 'Heure')).inputValue(), '14:30');
    await fillAppointment(page, { date: isoDay(6), time: '09:15' });
    await submit(page, page.getByRole('button', { name: 'Enregistrer', exact: true }));
    const moved = (await planOf(who.id)).appointments.find((a) => a.id === appointment.id);
    assert.equal(new Date(moved.starts_at).getTime() - new Date(appointment.starts_at).getTime(), (24 * 60 - 315) * 60_000,
      `rescheduled from ${appointment.starts_at} to ${moved.starts_at}: expected one day later at 09:15`);
    await open(page, `/beneficiaires/${who.id}/rendez-vous/${appointment.id}`);
    assert.equal(await (await field(page, 'Date')).inputValue(), isoDay(6));

    // Cancel.
    page.once('dialog', (d) => d.accept());
    await submit(page, page.getByRole('button', { name: 'Annuler le rendez-vous' }));
    assert.equal((await planOf(who.id)).appointments.find((a) => a.id === appointment.id).status, 'canceled');
    await open(page, `/beneficiaires/${who.id}`);
    await rowOf(page, 'appointment', appointment.id).getByText(/annulé/i).first().waitFor();

    // The demo's past appointment that was held but not closed yet: closing is offered, and it is in
    // « Rendez-vous à clore » of /pilotage until closed.
    const held = (await planOf(who.id)).appointments.find(
      (a) => a.status === 'scheduled' && !a.presence && new Date(a.starts_at) < new Date(),
    );
    assert.ok(held, `${who.name} has no past unclosed appointment in the demo`);
    const toClose = () =>
      page.getByRole('row').filter({ hasText: who.name }).filter({ hasText: held.title }).or(
        page.getByRole('listitem').filter({ hasText: who.name }).filter({ hasText: held.title }),
      );
    await open(page, '/pilotage');
    await page.getByRole('heading', { name: 'Rendez-vous à clore' }).waitFor();
    await toClose().first().waitFor();
    await open(page, `/beneficiaires/${who.id}/rendez-vous/${held.id}`);
    await tick(await field(page, 'Présent'));
    await submit(page, page.getByRole('button', { name: 'Clore le rendez-vous' }));
    assert.equal((await planOf(who.id)).appointments.find((a) => a.id === held.id).presence, 'present');
    await open(page, `/beneficiaires/${who.id}/rendez-vous/${held.id}`);
    assert.equal(await page.getByRole('button', { name: 'Clore le rendez-vous' }).count(), 0, 'closing offered twice');
    await open(page, '/pilotage');
    assert.equal(await toClose().count(), 0, 'a closed appointment is still « à clore »');
  });
});

// « Rendez-vous à clore » of /pilotage: each row closes its appointment (absent, here).
test('5d. pilotage: a held appointment is closed from « Rendez-vous à clore »', { timeout: 60_000 }, async (t) => {
  const who = young.chloe;
  const title = `Atelier recherche de stage ${SUFFIX}`;
  const { id } = await rest(
    'POST',
    `/young-people/${who.id}/appointments`,
    {
      title,
      kind: 'ENTRETIEN_INDIVIDUEL_CONSEILLER',
      starts_at: new Date(Date.now() - 26 * 3_600_000).toISOString(),
      duration_minutes: 30,
      modality: 'phone',
    },
    KARIM.email,
  );
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, '/pilotage');
    await page.getByRole('heading', { name: 'Rendez-vous à clore' }).waitFor();
    const row = rowOf(page, 'appointment', id).or(page.getByRole('listitem').filter({ hasText: title }));
    await row.first().waitFor();
    await tick(await field(row.first(), 'Absent'));
    await submit(page, row.first().getByRole('button', { name: /Clore/ }));
    assert.equal((await planOf(who.id)).appointments.find((a) => a.id === id).presence, 'absent', 'not closed as absent from /pilotage');
    await open(page, '/pilotage');
    assert.equal(await page.getByText(title).count(), 0, 'a closed appointment is still « à clore »');
  });
});

test('5b. agenda: the week of an appointment lists it with its links; previous and next weeks', { timeout: 60_000 }, async (t) => {
  const who = young.ines;
  const appointment = (await planOf(who.id)).appointments.find((a) => a.status === 'scheduled' && new Date(a.starts_at) > new Date());
  assert.ok(appointment, 'Inès has no future appointment in the demo');
  const monday = mondayOf(appointment.starts_at);
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, `/agenda?semaine=${monday}`);
    await heading(page, 'Agenda');
    // Every demo young person has an appointment of this title: this one is found by its address.
    const toAppointment = `/beneficiaires/${who.id}/rendez-vous/${appointment.id}`;
    const links = () => page.getByRole('link', { name: appointment.title }).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok((await links()).includes(toAppointment), `no link « ${appointment.title} » to ${toAppointment}: ${await links()}`);
    const people = await page.getByRole('link', { name: who.name, exact: true }).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(people.includes(`/beneficiaires/${who.id}`), `no link « ${who.name} » to the file: ${people}`);
    await submit(page, page.getByRole('link', { name: 'Semaine suivante' }));
    assert.equal(new URL(page.url()).searchParams.get('semaine'), plusDays(monday, 7));
    assert.ok(!(await links()).includes(toAppointment), 'the next week lists this appointment');
    await submit(page, page.getByRole('link', { name: 'Semaine précédente' }));
    await submit(page, page.getByRole('link', { name: 'Semaine précédente' }));
    assert.equal(new URL(page.url()).searchParams.get('semaine'), plusDays(monday, -7));
    // Without ?semaine, the current week.
    await open(page, '/agenda');
    const next = new URL(await page.getByRole('link', { name: 'Semaine suivante' }).getAttribute('href'), SERVER_URL);
    assert.equal(next.searchParams.get('semaine'), plusDays(mondayOf(Date.now()), 7));
  });
});

test('5c. démarches: the adviser comments a job-search task', { timeout: 60_000 }, async (t) => {
  const who = young.chloe;
  const task = (await planOf(who.id)).tasks[0];
  assert.ok(task, 'Chloé has no task in the demo');
  const comment = `Relance la boulangerie lundi ${SUFFIX}`;
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, `/beneficiaires/${who.id}`);
    await submit(page, rowOf(page, 'task', task.id).getByRole('link', { name: task.title }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/demarches/${task.id}`);
    await (await field(page, 'Commentaire')).fill(comment);
    await submit(page, page.getByRole('button', { name: 'Commenter' }));
    await open(page, `/beneficiaires/${who.id}/demarches/${task.id}`);
    await page.getByText(comment).waitFor();
    assert.deepEqual((await planOf(who.id)).tasks.find((x) => x.id === task.id).comments.map((c) => c.text), [comment]);
  });
});

// ---------------------------------------------------------------------------------------------------
// 6. Reassignment by the supervisor.
test('6. réaffectation: Nadia moves a young person of Karim to Julie', { timeout: 60_000 }, async (t) => {
  const who = young.camille;
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    assert.equal(await page.getByRole('link', { name: 'Réaffectation', exact: true }).count(), 0, 'an adviser sees « Réaffectation »');
    await open(page, '/reaffectation', 403);
    await heading(page, 'Accès refusé');
  });
  await journey(t, async ({ page }) => {
    await signedIn(page, NADIA);
    await submit(page, page.getByRole('link', { name: 'Réaffectation', exact: true }));
    assert.equal(pathOf(page), '/reaffectation');
    await heading(page, 'Réaffectation');
    await tick(page.getByRole('checkbox', { name: new RegExp(who.name) }));
    await choose(page, 'Conseiller destinataire', /Julie Lambert/);
    await tick(await field(page, 'Définitive'));
    await submit(page, page.getByRole('button', { name: 'Réaffecter' }));
    await page.getByRole('status').or(page.getByRole('alert')).first().waitFor();
    assert.ok((await portfolioOf(JULIE)).some((y) => y.id === who.id), 'Julie does not follow Camille after the transfer');
    assert.ok(!(await portfolioOf(KARIM)).some((y) => y.id === who.id), 'Karim still follows Camille after a definitive transfer');
  });
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    assert.equal(await page.getByRole('link', { name: who.name }).count(), 0, 'Camille still in Karim’s portfolio');
    await open(page, `/beneficiaires/${who.id}`, 404);
    await heading(page, 'Page introuvable');
  });
  await journey(t, async ({ page }) => {
    await signedIn(page, JULIE);
    await submit(page, page.getByRole('link', { name: who.name, exact: true }));
    await heading(page, who.name);
  });
  // A temporary transfer: Yanis (Julie's) is followed by Karim too, with the « Temporaire » badge.
  const cover = young.yanis;
  await journey(t, async ({ page }) => {
    await signedIn(page, NADIA);
    await open(page, '/reaffectation');
    await tick(page.getByRole('checkbox', { name: new RegExp(cover.name) }));
    await choose(page, 'Conseiller destinataire', /Karim Mansouri/);
    await tick(await field(page, 'Temporaire'));
    await submit(page, page.getByRole('button', { name: 'Réaffecter' }));
    assert.ok((await portfolioOf(KARIM)).some((y) => y.id === cover.id), 'Karim does not follow Yanis after the temporary transfer');
  });
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await rowOf(page, 'young-person', cover.id).getByText('Temporaire', { exact: true }).waitFor();
    const temporary = await temporaryOf(KARIM);
    assert.ok(temporary.includes(cover.id), 'REST: Karim does not follow Yanis temporarily');
    const link = page.getByRole('link', { name: /^Suivis temporaires\s*\(\d+\)$/ });
    assert.match((await link.innerText()).replace(/\s+/g, ' '), new RegExp(`\\(${temporary.length}\\)`));
    await submit(page, link);
    assert.deepEqual(
      (await portfolioRows(page).evaluateAll((rows) => rows.map((r) => r.dataset.youngPerson))).sort(),
      [...temporary].sort(),
    );
    await open(page, `/beneficiaires/${cover.id}`);
    await heading(page, cover.name);
  });
});

// ---------------------------------------------------------------------------------------------------
// 6b and 6c. A young person leaves: archived through the form (then listed in « Archives » with their
// export), or an account never activated deleted. Each on a young person created here, through REST.
async function newYoungPerson(first, last) {
  const email = `${slug(first)}-${SUFFIX}@exemple.fr`;
  const created = await rest('POST', '/young-people', { first_name: first, last_name: last, email }, KARIM.email);
  return { id: created.id, name: `${first} ${last}`, email };
}
test('6b. archivage: Karim archives a young person; gone from the portfolio, listed in « Archives »', { timeout: 60_000 }, async (t) => {
  const who = await newYoungPerson('Élodie', `Archivée ${SUFFIX}`);
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await rowOf(page, 'young-person', who.id).waitFor();
    await open(page, `/beneficiaires/${who.id}`);
    await page.getByRole('link', { name: 'Exporter les données', exact: true }).waitFor();
    await submit(page, page.getByRole('link', { name: 'Archiver le bénéficiaire', exact: true }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/archiver`);
    await heading(page, `Archiver ${who.name}`);
    await page.getByText('ne peut plus se connecter').first().waitFor();
    // « Autre » without a comment: refused (422), the message tied to « Commentaire ».
    await choose(page, 'Motif', 'Autre');
    const [refused] = await submit(page, page.getByRole('button', { name: 'Archiver', exact: true }));
    assert.equal(refused?.status(), 422, '« Autre » without a comment must be refused with 422');
    const described = await (await field(page, 'Commentaire')).getAttribute('aria-describedby');
    assert.match(await page.locator(`#${described}`).innerText(), /Précisez le motif/);
    assert.ok((await portfolioOf(KARIM)).some((y) => y.id === who.id), 'refused, yet archived');
    // Archived with a reason of the list.
    await choose(page, 'Motif', 'Formation');
    await submit(page, page.getByRole('button', { name: 'Archiver', exact: true }), (u) => u.pathname === '/portefeuille');
    await page.getByRole('status').filter({ hasText: `${who.name} a été archivé·e.` }).waitFor();
    assert.equal(await rowOf(page, 'young-person', who.id).count(), 0, 'the archived young person is still listed');
    assert.ok(!(await portfolioOf(KARIM)).some((y) => y.id === who.id), 'REST: still in Karim’s portfolio');
    await open(page, `/beneficiaires/${who.id}`, 404);
    // « Archives » (the menu) lists them; their archive page summarises the export and downloads it.
    await submit(page, page.getByRole('link', { name: 'Archives', exact: true }).first());
    assert.equal(pathOf(page), '/archives');
    await heading(page, 'Archives');
    const row = page.locator('tr[data-archive]').filter({ hasText: who.name });
    await row.getByText('Formation', { exact: true }).waitFor();
    await row.getByText(KARIM.name, { exact: true }).waitFor();
    await submit(page, row.getByRole('link', { name: who.name, exact: true }));
    await heading(page, who.name);
    const href = await page.getByRole('link', { name: 'Télécharger les données (JSON)' }).getAttribute('href');
    const download = await page.request.get(new URL(href, SERVER_URL).href);
    assert.equal(download.status(), 200);
    assert.equal(download.headers()['content-type'], 'application/json');
    assert.match(download.headers()['content-disposition'], /^attachment; filename="export-elodie-archivee-[a-z0-9-]+-\d{4}-\d{2}-\d{2}\.json"$/);
    assert.equal((await download.json()).account.email, who.email);
  });
});
test('6c. suppression: Karim deletes an account never activated after the confirmation page', { timeout: 60_000 }, async (t) => {
  const who = await newYoungPerson('Noé', `Supprimé ${SUFFIX}`);
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, `/beneficiaires/${who.id}`);
    await submit(page, page.getByRole('link', { name: 'Supprimer le compte', exact: true }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/supprimer`);
    await submit(page, page.getByRole('button', { name: 'Supprimer le compte', exact: true }), (u) => u.pathname === '/portefeuille');
    await page.getByRole('status').filter({ hasText: 'Le compte non activé a été supprimé' }).waitFor();
    assert.ok(!(await portfolioOf(KARIM)).some((y) => y.id === who.id), 'REST: the deleted account is still in Karim’s portfolio');
    // An activated account is not offered deletion.
    await open(page, `/beneficiaires/${young.ines.id}`);
    await page.getByRole('link', { name: 'Archiver le bénéficiaire', exact: true }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Supprimer le compte', exact: true }).count(), 0);
  });
});

// ---------------------------------------------------------------------------------------------------
// 7. Sign-out revokes the session.
test('7. déconnexion: the old session cookie no longer opens the portfolio', { timeout: 60_000 }, async (t) => {
  let cookies;
  await journey(t, async ({ page, context }) => {
    await signIn(page, KARIM);
    cookies = await context.cookies(SERVER_URL);
    assert.ok(cookies.some((c) => c.name === 'pe_session'));
    await submit(page, page.getByRole('button', { name: 'Se déconnecter' }).filter({ visible: true }).first(), (u) => u.pathname === '/');
    assert.equal(pathOf(page), '/');
    await heading(page, 'Connexion à votre espace conseiller');
  });
  await journey(t, async ({ page, context }) => {
    await context.addCookies(cookies);
    await open(page, '/portefeuille');
    const url = new URL(page.url());
    assert.equal(url.pathname, '/', 'the revoked session still opens /portefeuille');
    // suivant=/portefeuille, or none (the sign-in lands there anyway).
    assert.ok(
      [null, '/portefeuille'].includes(url.searchParams.get('suivant')),
      `signed out by a revoked session, ${url.pathname}${url.search} does not come back to /portefeuille`,
    );
    await heading(page, 'Connexion à votre espace conseiller');
  });
});

// ---------------------------------------------------------------------------------------------------
// 8. Cross-site request forgery.
test('8. csrf: a forged cross-site form and posts without the right token get the 403 page', { timeout: 60_000 }, async (t) => {
  const who = young.chloe;
  const titlesOf = async () => (await planOf(who.id)).actions.map((a) => a.title);
  await journey(t, async ({ page }) => {
    await signedIn(page, KARIM);
    await open(page, `/beneficiaires/${who.id}/actions/nouvelle`);
    const form = await formOf(page, "Créer l'action");
    assert.equal(form.method, 'post');
    const csrf = form.fields.find((f) => f.name === 'csrf');
    assert.ok(csrf?.value, `the form has no csrf field: ${JSON.stringify(form.fields)}`);
    const byLabel = (label) => form.fields.find((f) => f.label === label)?.name;
    const values = (title) => {
      const v = Object.fromEntries(form.fields.filter((f) => f.type !== 'submit').map((f) => [f.name, f.value]));
      v[byLabel('Titre')] = title;
      const category = form.fields.find((f) => f.label === 'Catégorie');
      if (category && !v[category.name]) v[category.name] = 'EMPLOI';
      return v;
    };

    // A page of another origin (another port of 127.0.0.1: same site, so the Lax cookie goes along)
    // auto-submits the form with the victim's cookie, even with a valid token.
    const forged = `Action forgée ${SUFFIX}`;
    const escape = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    const inputs = Object.entries(values(forged))
      .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
      .join('');
    const evil = http.createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Gagnez un iPhone</title><form id="f" method="post" action="${escape(form.action)}">` +
        `${inputs}</form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const forgedResponse = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === form.action);
      await page.goto(`http://127.0.0.1:${evil.address().port}/`);
      const answer = await forgedResponse;
      await page.waitForLoadState('load');
      assert.equal(answer.status(), 403, `the forged cross-site post answered ${answer.status()}`);
      await heading(page, 'Accès refusé');
    } finally {
      evil.close();
    }
    assert.ok(!(await titlesOf()).includes(forged), 'the forged action was created');

    // Same origin, but no csrf field, or a wrong one.
    for (const [what, token] of [['without csrf', undefined], ['with a wrong csrf', 'x'.repeat(csrf.value.length)]]) {
      const title = `Action ${what} ${SUFFIX}`;
      const body = values(title);
      if (token === undefined) delete body.csrf;
      else body.csrf = token;
      const r = await page.request.post(form.action, { form: body, headers: { origin: ORIGIN }, maxRedirects: 0 });
      assert.equal(r.status(), 403, `a post ${what} answered ${r.status()}`);
      assert.match(await r.text(), /Accès refusé/);
      assert.ok(!(await titlesOf()).includes(title), `the action posted ${what} was created`);
    }
    // The same request with the session's token is accepted (so the refusals above are the token's).
    const title = `Action légitime ${SUFFIX}`;
    const ok = await page.request.post(form.action, { form: values(title), headers: { origin: ORIGIN }, maxRedirects: 0 });
    assert.equal(ok.status(), 303, `the legitimate post answered ${ok.status()}`);
    assert.ok((await titlesOf()).includes(title), 'the legitimate post created nothing');
  });
});

// ---------------------------------------------------------------------------------------------------
// 9. Another adviser's young person.
test('9. cloisonnement: Julie gets « Page introuvable » on a young person of Karim', { timeout: 60_000 }, async (t) => {
  await journey(t, async ({ page }) => {
    await signedIn(page, JULIE);
    assert.equal(await page.getByRole('link', { name: young.ines.name }).count(), 0);
    await open(page, `/beneficiaires/${young.ines.id}`, 404);
    await heading(page, 'Page introuvable');
    const action = (await planOf(young.ines.id)).actions[0];
    await open(page, `/beneficiaires/${young.ines.id}/actions/${action.id}`, 404);
    await heading(page, 'Page introuvable');
    await open(page, `/beneficiaires/${young.ines.id}/actions/nouvelle`, 404);
  });
});

// ---------------------------------------------------------------------------------------------------
// 10. Keyboard only.
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return '';
    const own = (l) => [...l.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(' ');
    const label = el.labels?.[0] ? own(el.labels[0]) : el.getAttribute('aria-label') ?? el.innerText ?? el.value ?? '';
    return label.replace(/\s+/g, ' ').trim();
  });
}
async function tabTo(page, name, max = 80) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const label = await focused(page);
    if (label === name) return;
    seen.push(label);
  }
  throw new Error(`« ${name} » not reached with Tab (focus went through ${JSON.stringify(seen)})`);
}
test('10. clavier: sign in and create an action with the keyboard only', { timeout: 60_000 }, async (t) => {
  const who = young.lea;
  const title = `Action au clavier ${SUFFIX}`;
  await journey(t, async ({ page }) => {
    await open(page, '/');
    await tabTo(page, 'Adresse électronique');
    await page.keyboard.type(KARIM.email);
    await tabTo(page, 'Mot de passe', 3);
    await page.keyboard.type(DEMO_PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/portefeuille');
    await tabTo(page, who.name);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === `/beneficiaires/${who.id}`);
    await tabTo(page, 'Créer une action');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === `/beneficiaires/${who.id}/actions/nouvelle`);
    await tabTo(page, 'Titre');
    await page.keyboard.type(title);
    await tabTo(page, 'Catégorie', 10);
    await page.keyboard.press('ArrowDown');
    await tabTo(page, "Créer l'action", 20);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname !== `/beneficiaires/${who.id}/actions/nouvelle`);
    const stored = (await planOf(who.id)).actions.filter((a) => a.title === title);
    assert.equal(stored.length, 1, 'the action typed with the keyboard is not stored');
  });
});

// ---------------------------------------------------------------------------------------------------
// 13. « Messages »: the conversation of a young person with their advisers (issue 13). The young person
// writes through the REST API with their own token (docs/api.md, « Conversations »), and through their
// phone's offline client (phone.py) for the message that must show live and to read the answer.
const conversationOf = (who, as) => rest('GET', `/young-people/${who.id}/conversation`, undefined, as.email);
const sendAs = (who, as, text) => rest('POST', `/young-people/${who.id}/conversation/messages`, { text }, as.email);
const messageItem = (scope, text) => scope.locator('li[data-message]', { hasText: text });
const conversationList = (page) => page.locator('[data-live="conversation"]');
// « 02/12/2026 à 14h30 » in Paris, as the pages say an instant.
const parisTime = (instant) => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.day}/${parts.month}/${parts.year} à ${parts.hour}h${parts.minute}`;
};
// An unread badge (`[data-unread]`) as it is read out, and as it shows (without its .fr-sr-only words).
async function badgeText(badge) {
  if (!(await badge.count())) return null;
  return badge.evaluate((e) => {
    const shown = e.cloneNode(true);
    shown.querySelectorAll('.fr-sr-only').forEach((s) => s.remove());
    const clean = (text) => text.replace(/\s+/g, ' ').trim();
    return { spoken: clean(e.textContent), shown: clean(shown.textContent) };
  });
}
const unreadBadge = async (page, id) => (await badgeText(rowOf(page, 'young-person', id).locator('[data-unread]')))?.spoken ?? null;
async function followStream(page, route, streamPath) {
  const streams = [];
  page.on('response', (r) => new URL(r.url()).pathname === streamPath && streams.push(r));
  await open(page, route);
  const stream = await waitUntil(`the EventSource on ${streamPath}`, () => streams[0], 8_000);
  assert.equal(stream.status(), 200, `${stream.url()} answered ${stream.status()}`);
  await page.locator('body[data-live-ready="true"]').waitFor({ timeout: 8_000 });
  await page.evaluate(() => {
    window.__notReloaded = true;
  });
}

test('13. messages: the phone’s message shows live; the adviser answers, edits, deletes; the young person reads the answer', { timeout: 90_000 }, async (t) => {
  const who = young.sarah;
  const phoneUser = who.login;
  const first = `Bonjour, je cherche une alternance en logistique ${SUFFIX}`;
  const second = `Je peux passer jeudi ? ${SUFFIX}`;
  const live = `Je suis devant la Mission Locale ${SUFFIX}`;
  const answer = `Bonjour Sarah, venez jeudi à 10h ${SUFFIX}`;
  const edited = `Bonjour Sarah, venez jeudi à 11h ${SUFFIX}`;
  await journey(t, async ({ page }) => {
    // Unread badges on the portfolio, the second one arriving live.
    const sent = await sendAs(who, phoneUser, first);
    await signedIn(page, KARIM);
    await waitUntil('« 1 non lu » on Sarah’s row', async () => (await unreadBadge(page, who.id)) === '1 message non lu', 5_000);
    await followStream(page, '/portefeuille', '/flux/portefeuille');
    await sendAs(who, phoneUser, second);
    await waitUntil('« 2 non lus » on Sarah’s row without a reload', async () => (await unreadBadge(page, who.id)) === '2 messages non lus', 8_000);
    assert.deepEqual(await badgeText(rowOf(page, 'young-person', who.id).locator('[data-unread]')), { spoken: '2 messages non lus', shown: '2 non lus' });
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the portfolio was reloaded');

    // The file counts them and opens « Messages ».
    await open(page, `/beneficiaires/${who.id}`);
    const summary = page.locator('section', { has: page.getByRole('heading', { name: 'Messages', exact: true, level: 2 }) });
    assert.equal((await badgeText(summary.locator('[data-unread]')))?.shown, '2 non lus', 'the file does not count the unread messages');
    await submit(page, summary.getByRole('link', { name: 'Ouvrir les messages' }));
    assert.equal(pathOf(page), `/beneficiaires/${who.id}/messages`);
    await heading(page, `Messages avec ${who.name}`);
    const item = messageItem(conversationList(page), first);
    await item.getByText('Sarah', { exact: true }).waitFor();
    await item.getByText(parisTime(sent.sent_at), { exact: true }).waitFor();
    await item.getByText('Nouveau', { exact: true }).waitFor();

    // The phone writes while the page is open: it shows without a reload.
    await followStream(page, `/beneficiaires/${who.id}/messages`, `/flux/beneficiaires/${who.id}/messages`);
    const loads = [];
    page.on('load', () => loads.push(page.url()));
    // Through the phone's offline client (tests/web-app/phone.py): its sync reaches the page's stream.
    const fromPhone = await phone(phoneUser, 'send-message', live);
    assert.equal(fromPhone.messages[0]?.id, fromPhone.sent, 'the phone does not list its message first');
    await messageItem(conversationList(page), live).waitFor({ timeout: 8_000 });
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'the messages page was reloaded');
    assert.deepEqual(loads, [], 'the messages page was reloaded');
    const order = await conversationList(page).locator('li[data-message]').allInnerTexts();
    assert.ok(order[0].includes(live) && order[1].includes(second) && order[2].includes(first), `not newest first: ${JSON.stringify(order)}`);
    await waitUntil('« 3 non lus » above the conversation', async () => (await badgeText(page.locator('[data-live="conversation"] [data-unread]')))?.shown === '3 non lus');

    // A blank message is refused in French, next to the field.
    await (await field(page, 'Message')).fill('   ');
    const [refused] = await submit(page, page.getByRole('button', { name: 'Envoyer', exact: true }));
    assert.equal(refused.status(), 422, `a blank message answered ${refused.status()}`);
    await page.locator('#text-error', { hasText: 'Le champ « Message » est vide' }).waitFor();

    // The answer: shown as « Vous », stored for the young person, and what it answers is read.
    await (await field(page, 'Message')).fill(answer);
    await submit(page, page.getByRole('button', { name: 'Envoyer', exact: true }), (u) => u.searchParams.get('ok') === 'message-envoye');
    await page.getByText('Votre message a été envoyé.').waitFor();
    const mine = messageItem(conversationList(page), answer);
    await mine.getByText('Vous', { exact: true }).waitFor();
    assert.equal(await page.locator('[data-live="conversation"] [data-unread]').count(), 0, 'the reply did not mark the conversation read');
    const forSarah = await conversationOf(who, phoneUser);
    assert.equal(forSarah.messages[0].text, answer, `the young person's newest message is not the answer: ${JSON.stringify(forSarah.messages[0])}`);
    assert.equal(forSarah.messages[0].author.role, 'adviser');
    assert.equal(forSarah.unread, 1, 'the answer is unread for the young person');
    assert.equal((await conversationOf(who, KARIM)).unread, 0, 'the adviser still has unread messages after answering');
    const onPhone = await phone(phoneUser, 'messages');
    assert.deepEqual(
      [onPhone.messages[0]?.text, onPhone.messages[0]?.author_role],
      [answer, 'adviser'],
      `the phone's newest message is not the answer: ${JSON.stringify(onPhone.messages.slice(0, 2))}`,
    );

    // Edit the answer: « modifié » for both.
    await submit(page, mine.getByRole('link', { name: /^Modifier ou supprimer/ }));
    await heading(page, 'Modifier votre message');
    await (await field(page, 'Message')).fill(edited);
    await submit(page, page.getByRole('button', { name: 'Enregistrer', exact: true }), (u) => u.searchParams.get('ok') === 'message-modifie');
    await messageItem(conversationList(page), edited).getByText('modifié', { exact: true }).waitFor();
    const afterEdit = (await conversationOf(who, phoneUser)).messages.find((m) => m.id === forSarah.messages[0].id);
    assert.deepEqual([afterEdit.text, afterEdit.edited], [edited, true]);

    // Send one more, then delete it: « Message supprimé » in its place.
    const doomed = `Message envoyé par erreur ${SUFFIX}`;
    await (await field(page, 'Message')).fill(doomed);
    await submit(page, page.getByRole('button', { name: 'Envoyer', exact: true }), (u) => u.searchParams.get('ok') === 'message-envoye');
    await submit(page, messageItem(conversationList(page), doomed).getByRole('link', { name: /^Modifier ou supprimer/ }));
    await submit(page, page.getByRole('button', { name: 'Supprimer le message' }), (u) => u.searchParams.get('ok') === 'message-supprime');
    assert.equal(await messageItem(conversationList(page), doomed).count(), 0, 'the deleted text is still shown');
    await conversationList(page).locator('li[data-message]').first().getByText('Message supprimé').waitFor();
    const deleted = (await conversationOf(who, phoneUser)).messages[0];
    assert.deepEqual([deleted.text, deleted.deleted], ['Message supprimé', true]);

    // Search.
    await (await field(page, 'Rechercher dans les messages')).fill('alternance');
    await submit(page, page.getByRole('button', { name: 'Rechercher', exact: true }));
    assert.equal(new URL(page.url()).searchParams.get('q'), 'alternance');
    const results = page.locator('[data-results] li[data-message]');
    assert.equal(await results.count(), 1, `one result for « alternance »: ${await results.allInnerTexts()}`);
    await messageItem(page.locator('[data-results]'), first).waitFor();

    // The « message important »: pinned with its dates, read by the young person, taken down.
    await open(page, `/beneficiaires/${who.id}/messages`);
    const important = `Atelier CV tous les mardis ${SUFFIX}`;
    await (await field(page, 'Texte du message important')).fill(important);
    await (await field(page, 'Début de l\'affichage')).fill(isoDay(0));
    await (await field(page, 'Fin de l\'affichage')).fill(isoDay(-1));
    const [badPeriod] = await submit(page, page.getByRole('button', { name: 'Épingler le message important' }));
    assert.equal(badPeriod.status(), 422);
    await page.locator('#ends_on-error').waitFor();
    await (await field(page, 'Fin de l\'affichage')).fill(isoDay(7));
    await submit(page, page.getByRole('button', { name: 'Épingler le message important' }), (u) => u.searchParams.get('ok') === 'important-epingle');
    await page.locator('[data-important]').getByText(important).waitFor();
    assert.equal((await conversationOf(who, phoneUser)).important?.text, important, 'the young person does not read the « message important »');
    await submit(page, page.getByRole('button', { name: 'Retirer le message important' }), (u) => u.searchParams.get('ok') === 'important-retire');
    assert.equal(await page.locator('[data-important]').count(), 0);
    assert.equal((await conversationOf(who, phoneUser)).important, null);

    // Read: no badge left on the portfolio.
    await open(page, '/portefeuille');
    assert.equal(await unreadBadge(page, who.id), null, 'the portfolio still counts unread messages');
  });
});

test('13b. messages sans JavaScript: answer and « Marquer comme lu »; a supervisor who does not follow gets no « Messages »', { timeout: 60_000 }, async (t) => {
  const who = young.sarah;
  const text = `Merci, à jeudi ${SUFFIX}`;
  const reply = `Parfait, à jeudi ${SUFFIX}`;
  await sendAs(who, who.login, text);
  await journey(
    t,
    async ({ page }) => {
      await signedIn(page, KARIM);
      await open(page, `/beneficiaires/${who.id}/messages`);
      await messageItem(conversationList(page), text).waitFor();
      const [read] = await submit(page, page.getByRole('button', { name: 'Marquer comme lu' }));
      assert.ok(read && read.status() < 400, `« Marquer comme lu » answered ${read?.status()}`);
      await page.getByText('Les messages ont été marqués comme lus.').waitFor();
      assert.equal((await conversationOf(who, KARIM)).unread, 0, 'still unread after « Marquer comme lu »');
      await (await field(page, 'Message')).fill(reply);
      await submit(page, page.getByRole('button', { name: 'Envoyer', exact: true }));
      await messageItem(conversationList(page), reply).getByText('Vous', { exact: true }).waitFor();
      assert.equal((await conversationOf(who, who.login)).messages[0].text, reply);
    },
    { javaScriptEnabled: false },
  );
  // Nadia reads Sarah's plan, not her conversation (she does not follow her).
  const detail = await rest('GET', `/young-people/${who.id}`, undefined, NADIA.email);
  assert.equal(detail.conversation_document_id, undefined, 'Nadia follows Sarah in the demo: pick another young person');
  await journey(t, async ({ page }) => {
    await signedIn(page, NADIA);
    await open(page, `/beneficiaires/${who.id}`);
    await heading(page, who.name);
    assert.equal(await page.getByRole('link', { name: 'Ouvrir les messages' }).count(), 0, 'Nadia is offered the messages');
    await open(page, `/beneficiaires/${who.id}/messages`, 404);
    await heading(page, 'Page introuvable');
  });
});

// ---------------------------------------------------------------------------------------------------
// 11 and 12. Every page: the common layout, axe-core (no serious or critical violation), screenshots.
function pages() {
  const ines = young.ines.id;
  return [
    { name: 'connexion', who: null, route: '/', h1: 'Connexion à votre espace conseiller' },
    { name: 'portefeuille', who: KARIM, route: '/portefeuille', h1: 'Portefeuille' },
    { name: 'beneficiaire', who: KARIM, route: `/beneficiaires/${ines}`, h1: young.ines.name },
    { name: 'action', who: KARIM, route: async () => `/beneficiaires/${ines}/actions/${(await planOf(ines)).actions.find((a) => a.status === 'in_progress').id}` },
    { name: 'action-terminee', who: KARIM, route: async () => `/beneficiaires/${ines}/actions/${(await planOf(ines)).actions.find((a) => a.status === 'done').id}` },
    { name: 'rendez-vous', who: KARIM, route: async () => `/beneficiaires/${ines}/rendez-vous/${(await planOf(ines)).appointments.find((a) => new Date(a.starts_at) > new Date()).id}` },
    // The forms that show only on some entities: qualification (done, unqualified), closing (held, open).
    { name: 'action-a-qualifier', who: KARIM, route: async () => {
      for (const y of await portfolioOf(KARIM)) {
        const found = (await planOf(y.id)).actions.find((a) => a.status === 'done' && !a.qualification);
        if (found) return `/beneficiaires/${y.id}/actions/${found.id}`;
      }
      throw new Error('no done and unqualified action in Karim’s portfolio');
    } },
    { name: 'rendez-vous-a-clore', who: KARIM, route: async () => {
      for (const y of await portfolioOf(KARIM)) {
        const found = (await planOf(y.id)).appointments.find((a) => a.status === 'scheduled' && !a.presence && new Date(a.starts_at) < new Date());
        if (found) return `/beneficiaires/${y.id}/rendez-vous/${found.id}`;
      }
      throw new Error('no held and unclosed appointment in Karim’s portfolio');
    } },
    // Own message first (its edit page), then the conversation with the young person's and Karim's.
    { name: 'message-modifier', who: KARIM, route: async () => {
      await sendAs(young.ines, young.ines.login, 'Bonjour, mon entretien s’est bien passé.');
      const mine = await sendAs(young.ines, KARIM, 'Très bonne nouvelle, racontez-moi jeudi.');
      return `/beneficiaires/${ines}/messages/${mine.id}`;
    }, h1: 'Modifier votre message' },
    { name: 'messages', who: KARIM, route: `/beneficiaires/${ines}/messages`, h1: `Messages avec ${young.ines.name}` },
    { name: 'demarche', who: KARIM, route: async () => `/beneficiaires/${ines}/demarches/${(await planOf(ines)).tasks[0].id}` },
    { name: 'nouvelle-action', who: KARIM, route: `/beneficiaires/${ines}/actions/nouvelle` },
    { name: 'nouveau-rendez-vous', who: KARIM, route: `/beneficiaires/${ines}/rendez-vous/nouveau` },
    { name: 'nouveau-beneficiaire', who: KARIM, route: '/beneficiaires/nouveau' },
    { name: 'pilotage', who: KARIM, route: '/pilotage', h1: 'Pilotage' },
    { name: 'agenda', who: KARIM, route: '/agenda', h1: 'Agenda' },
    { name: 'notifications', who: KARIM, route: '/notifications', h1: 'Notifications' },
    { name: 'reaffectation', who: NADIA, route: '/reaffectation', h1: 'Réaffectation' },
    { name: 'archiver', who: KARIM, route: `/beneficiaires/${ines}/archiver`, h1: `Archiver ${young.ines.name}` },
    { name: 'supprimer', who: KARIM, route: async () => `/beneficiaires/${(await newYoungPerson('Axe', 'Jamais activé')).id}/supprimer` },
    { name: 'archives', who: KARIM, route: '/archives', h1: 'Archives' },
    { name: 'archive', who: NADIA, route: async () => {
      const [first] = await rest('GET', '/archives', undefined, NADIA.email);
      if (!first) throw new Error('no archive in the structure (journey 6b archives one)');
      return `/archives/${first.id}`;
    } },
    { name: 'page-introuvable', who: KARIM, route: '/beneficiaires/00000000-0000-4000-8000-000000000000', h1: 'Page introuvable', status: 404 },
    { name: 'acces-refuse', who: KARIM, route: '/reaffectation', h1: 'Accès refusé', status: 403 },
  ];
}
// Each page once, one context per user (bypassCSP: axe is injected as a script), three checks on it.
test('11-12. every page: gabarit, accessibilité (axe-core), captures at 1280×800 and 375×812', { timeout: 150_000 }, async (t) => {
  const list = pages();
  const users = [...new Set(list.map((p) => p.who))];
  for (const who of users) {
    await journey(
      t,
      async ({ page }) => {
        if (who) await signedIn(page, who);
        for (const p of list.filter((p) => p.who === who)) {
          await t.test(p.name, async (pt) => {
            const opened = await (async () => {
              const route = typeof p.route === 'function' ? await p.route() : p.route;
              await open(page, route, p.status ?? 200);
              if (p.h1) await heading(page, p.h1);
              else await page.getByRole('heading', { level: 1 }).first().waitFor();
            })().then(
              () => null,
              (e) => e,
            );
            for (const [name, check] of [['gabarit', layout], ['axe', accessibility], ['captures', captures]]) {
              await pt.test(`${p.name}: ${name}`, async () => {
                if (opened && name !== 'captures') throw opened;
                try {
                  await check(page, p, pt);
                } catch (e) {
                  const file = artifact(`failure-${p.name}-${name}.png`);
                  await page.screenshot({ path: file, fullPage: true, timeout: 5_000 }).catch(() => {});
                  note(e, `on page ${page.url()} (capture ${file})`);
                  throw e;
                }
                if (opened) throw opened; // the captures were taken all the same
              });
            }
          });
        }
      },
      { bypassCSP: true },
    );
  }
});

// The common layout of the contract.
async function layout(page, p) {
  assert.match(await page.title(), LAYOUT_TITLE, `<title> of ${p.name}`);
  for (const skip of p.who ? ['Aller au contenu', 'Aller au menu'] : ['Aller au contenu']) {
    assert.equal(await page.getByRole('link', { name: skip, exact: true }).count(), 1, `no skip link « ${skip} » on ${p.name}${p.who ? ` (signed in as ${p.who.name})` : ''}`);
  }
  assert.equal(await page.getByRole('main').getAttribute('id'), 'contenu');
  await page.getByRole('banner').getByText('Pass emploi — espace conseiller').first().waitFor();
  await page.getByRole('contentinfo').waitFor();
  if (p.who) {
    for (const nav of ['Portefeuille', 'Pilotage', 'Agenda', 'Notifications', 'Archives']) {
      await page.getByRole('link', { name: nav, exact: true }).first().waitFor();
    }
    assert.equal(
      await page.getByRole('link', { name: 'Réaffectation', exact: true }).count() > 0,
      p.who === NADIA,
      '« Réaffectation » is in the menu of supervisors only',
    );
    await page.getByRole('button', { name: 'Se déconnecter' }).first().waitFor({ state: 'attached' });
  }
}

// axe-core: no violation of impact serious or critical (the others are printed as diagnostics).
async function accessibility(page, p, t) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join(' ').trim()}`),
    }));
  });
  const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = violations.filter((v) => !grave.includes(v));
  if (minor.length) t.diagnostic(`${p.name}: minor: ${minor.map((v) => `${v.id} (${v.impact})`).join(', ')}`);
  assert.deepEqual(grave, [], `axe on ${p.name}:\n${JSON.stringify(grave, null, 2)}`);
}

// Full-page captures, desktop then phone (the page is loaded again at each size).
async function captures(page, p) {
  for (const [width, height] of [[1280, 800], [375, 812]]) {
    if (width !== page.viewportSize().width) {
      await page.setViewportSize({ width, height });
      await page.reload({ waitUntil: 'load' });
    }
    const file = artifact(`${p.name}-${width}x${height}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
    assert.ok(fs.statSync(file).size > 1000, `${file} is empty`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}
