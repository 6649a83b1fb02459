// Chromium tests of the BUILT UI (ui/dist) with the fake shell injected through mockIPC: every screen,
// the connection states, sync, offline, 10,000 meetings and the XSS rule. Run with `npm run test:browser`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveStatic } from './server.mjs';

const UI = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(UI, 'dist');
const HARNESS = join(UI, 'browser', '.build', 'harness.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Screenshots go to a temporary folder unless SCREENSHOTS_DIR names one (docs/screenshots when refreshing them).
const SCREENSHOTS = process.env.SCREENSHOTS_DIR ? resolve(process.env.SCREENSHOTS_DIR) : mkdtempSync(join(tmpdir(), 'advicly-shots-'));
const uri = (id) => `https://api.calendly.com/scheduled_events/${id}`;

/** Chromium may still be being installed by apt on a fresh machine: wait for it, bounded. */
async function waitForChromium() {
  const deadline = Date.now() + 300_000;
  while (!existsSync(CHROMIUM)) {
    if (Date.now() > deadline) throw new Error(`${CHROMIUM} not found; install it with apt-get install chromium`);
    await new Promise((done) => setTimeout(done, 2_000));
  }
}

let server;
let context;
let profile;
let harness;
const pageErrors = [];

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), 'ui/dist must be built first (npm run build)');
  assert.ok(existsSync(HARNESS), 'the harness must be built first (npm run test:browser builds it)');
  harness = readFileSync(HARNESS, 'utf8');
  await waitForChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
  server = await serveStatic(DIST);
  profile = mkdtempSync(join(tmpdir(), 'advicly-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    // Chromium writes into HOME and XDG folders; keep it inside the temporary profile.
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: join(profile, 'config'), XDG_CACHE_HOME: join(profile, 'cache') },
    timezoneId: 'Europe/London',
    locale: 'en-GB',
    viewport: { width: 1280, height: 800 },
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  // Nothing may be fetched from anywhere but the local server.
  await context.route((url) => !url.href.startsWith(server.url), (route) => {
    pageErrors.push(`blocked request to ${route.request().url()}`);
    return route.abort();
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  assert.deepEqual(pageErrors, [], 'no page may throw or fetch anything from outside');
});

/**
 * Opens the built app with the fake shell in `scenario`; waits until the overview has loaded. `tab` opens a
 * screen other than Today; `time` fixes the page's clock (the fake's meetings are placed around it).
 */
async function openApp(scenario, query = '', { tab = null, time = null } = {}) {
  const page = await context.newPage();
  if (time) await page.clock.setFixedTime(new Date(time));
  page.on('pageerror', (error) => pageErrors.push(`${scenario}: ${error.message}`));
  // CSP refusals and other script errors surface as console errors.
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`${scenario}: console: ${message.text()}`);
  });
  // The shell ships with Tauri's freezePrototype; the UI must work with a frozen Object.prototype.
  await page.addInitScript({ content: 'Object.freeze(Object.prototype);' });
  await page.addInitScript({ content: harness });
  await page.goto(`${server.url}?scenario=${scenario}${query}`);
  await page.locator('.app').waitFor();
  // The overview is read (again) once the app listens to events; from then on the fake's events arrive.
  await page.waitForFunction(() => window.__fakeShell.callsOf('get_overview').length >= 1);
  if (tab) await page.locator(`#${tab}-tab`).click();
  return page;
}

const AXE = readFileSync(join(UI, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page as it is and fails on any serious or critical violation (contrast included).
 * axe is evaluated through the DevTools protocol, so the page's strict CSP need not allow it.
 */
async function assertAccessible(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  // Let transitions and fonts settle so contrast is measured on the final colours.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.slice(0, 5)
        .map((node) => `${node.target.join(' ')}${node.failureSummary ? ` [${node.failureSummary.replace(/\s+/g, ' ')}]` : ''}`).join('; ')}`);
  });
  assert.deepEqual(violations, [], `${label}: no serious or critical accessibility violations`);
}

const shot = (page, name) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
const row = (page, id) => page.locator(`[data-testid=meeting-row][data-uri="${uri(id)}"]`);
const agendaItem = (page, id) => page.locator(`[data-testid=agenda-item][data-uri="${uri(id)}"]`);
const block = (page, id) => page.locator(`[data-testid=week-block][data-uri="${uri(id)}"]`);

/** Scrolls the windowed list until the row of meeting `id` is rendered (bounded). */
async function reveal(page, id, listSelector = '#meeting-list') {
  const found = await page.locator(listSelector).evaluate(async (list, selector) => {
    for (let top = 0; top <= list.scrollHeight; top += list.clientHeight / 2) {
      list.scrollTop = top;
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
      const element = list.querySelector(selector);
      if (element) {
        element.scrollIntoView({ block: 'center' });
        return true;
      }
    }
    return false;
  }, `[data-testid=meeting-row][data-uri="${uri(id)}"]`);
  assert.ok(found, `meeting ${id} must be reachable by scrolling the list`);
  return row(page, id);
}

describe('meetings', () => {
  it('lists upcoming days before past days with badges', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    await row(page, 'UP01').waitFor();
    const groups = await page.locator('[data-testid=day-group]').evaluateAll((elements) =>
      elements.map((element) => ({ day: element.dataset.day, section: element.dataset.section })));
    const firstPast = groups.findIndex((group) => group.section === 'past');
    assert.ok(firstPast > 0, 'upcoming groups come first');
    assert.ok(groups.slice(firstPast).every((group) => group.section === 'past'), 'no upcoming group after a past one');
    const upcoming = groups.filter((group) => group.section === 'upcoming').map((group) => group.day);
    assert.deepEqual(upcoming, [...upcoming].sort(), 'upcoming days ascend');
    assert.match(await page.locator('[data-testid=day-group]').first().innerText(), /Today|Tomorrow/, 'the first day is named relatively');

    assert.equal(await row(page, 'UP07').getAttribute('data-status'), 'canceled', 'canceled status attribute');
    assert.match(await row(page, 'UP07').innerText(), /Canceled[\s\S]*Travelling that week/, 'canceled badge with reason');
    assert.match(await row(page, 'UP05OLD').locator('[data-testid=rescheduled-link]').innerText(), /^to /, 'rescheduled badge links to the new time');
    await shot(page, 'meetings');

    // Windowing: a past meeting further down is rendered once scrolled to.
    assert.equal(await (await reveal(page, 'PA03')).getAttribute('data-status'), 'deleted', 'deleted status attribute');
    assert.equal(await row(page, 'PA03').locator('[data-testid=badge-deleted]').innerText(), 'Deleted in Calendly', 'deleted badge');
    await page.locator('#meeting-list').evaluate((list) => { list.scrollTop = 0; });
    await row(page, 'UP05OLD').locator('[data-testid=rescheduled-link]').click();
    await page.locator(`#meeting-detail[data-loaded=true][data-uri="${uri('UP05')}"]`).waitFor();
    await page.close();
  });

  it('searches through the core and filters by status', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    await row(page, 'UP01').waitFor();
    await page.locator('#search').fill('mortgage');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=meeting-row]').length === 2);
    const searched = await page.evaluate(() => window.__fakeShell.callsOf('list_meetings').at(-1).args.query.search);
    assert.equal(searched, 'mortgage', 'the search text is sent to list_meetings');
    await page.locator('#search').fill('no such client anywhere');
    await page.locator('#empty-state[data-kind=no-results]').waitFor();
    await page.locator('#clear-search').click();
    await row(page, 'UP01').waitFor();

    await page.locator('#status-filter').selectOption('deleted');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid=meeting-row]')];
      return rows.length === 1 && rows[0].dataset.status === 'deleted';
    });
    await page.close();
  });

  it('shows a meeting’s detail and opens the join link through the shell', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    await row(page, 'UP01').locator('.row-main').click();
    const detail = page.locator('#meeting-detail[data-loaded=true]');
    await detail.waitFor();
    assert.equal(await page.locator('#detail-duration').innerText(), '45 min', 'duration');
    assert.match(await page.locator('#detail-location').innerText(), /Zoom/, 'location kind');
    assert.match(await detail.locator('[data-testid=invitee-timezone]').innerText(), /America\/New_York/, 'invitee time zone');
    assert.match(await detail.locator('[data-testid=answers]').innerText(), /Pension consolidation/, 'answers');
    await shot(page, 'detail');
    await page.locator('#join-meeting').click();
    await page.waitForFunction(() => window.__fakeShell.callsOf('open_join_link').length === 1);
    assert.deepEqual(await page.evaluate(() => window.__fakeShell.callsOf('open_join_link')[0].args), { uri: uri('UP01') }, 'opened by meeting URI');

    // Escape closes the detail; the no-show flag shows on another meeting.
    await page.keyboard.press('Escape');
    await page.locator('#meeting-detail').waitFor({ state: 'detached' });
    await (await reveal(page, 'PA02')).locator('.row-main').click();
    await page.locator('#meeting-detail [data-testid=no-show]').waitFor();
    await page.close();
  });

  it('is keyboard accessible: arrows move between rows, Enter opens one', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    await row(page, 'UP01').waitFor();
    await page.locator('[data-index="0"]').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-index')), '2', 'focus followed the arrows');
    await page.keyboard.press('Enter');
    await page.locator('#meeting-detail[data-loaded=true]').waitFor();
    await page.close();
  });

  it('stays fast with 10,000 meetings by rendering only the rows in view', async (t) => {
    const page = await openApp('many', '', { tab: 'meetings' });
    const list = page.locator('#meeting-list');
    await list.waitFor();
    // From navigation start to the first row on screen, including the fake's fixture generation and IPC.
    const firstRowMs = await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => done(performance.now()))));
    t.diagnostic(`10,000 meetings: first rows painted ${Math.round(firstRowMs)} ms after navigation start`);
    assert.ok(firstRowMs < 5_000, `the first rows of 10,000 meetings appear quickly (took ${Math.round(firstRowMs)} ms)`);
    assert.equal(await list.getAttribute('data-total-rows'), '300', 'one page is loaded, never all 10,000 meetings at once');
    const rendered = await page.locator('[data-testid=meeting-row]').count();
    assert.ok(rendered > 5 && rendered < 80, `only a window of rows is in the DOM (got ${rendered})`);
    // Scroll to the end of the page and ask for more: the next page joins the list, the DOM stays small.
    await list.evaluate((element) => { element.scrollTop = element.scrollHeight; });
    await page.locator('#show-more-meetings').click();
    await page.waitForFunction(() => document.querySelector('#meeting-list')?.getAttribute('data-total-rows') === '600');
    const afterMore = await page.locator('[data-testid=meeting-row]').count();
    assert.ok(afterMore < 80, `still only a window of rows after loading more (got ${afterMore})`);
    // Typing in search re-queries and re-renders quickly.
    const started = Date.now();
    await page.locator('#search').fill('Client 7');
    await page.waitForFunction(() => document.querySelector('#meeting-count')?.textContent?.includes('found'));
    assert.ok(Date.now() - started < 3_000, 'a search over 10,000 meetings answers within three seconds');
    await page.close();
  });
});

describe('clients', () => {
  it('lists clients and opens a client’s page with meetings, answers and a note', async () => {
    const page = await openApp('connected', '', { tab: 'clients' });
    const grace = page.locator('[data-testid=client-row][data-email="grace@hopper.example"]');
    await grace.waitFor();
    assert.equal(await grace.locator('[data-testid=client-meeting-count]').innerText(), '1 meeting', 'active meetings');
    await grace.locator('.row-main').click();
    await page.locator('#client-detail[data-loaded=true]').waitFor();
    assert.equal(await page.locator('#client-detail [data-testid=timeline-entry]').count(), 3, 'the client’s three meetings');
    assert.equal(await page.locator('#client-detail [data-testid=client-answer]').count(), 6, 'every answer');
    await page.locator('#client-note').fill('Prefers mornings. Widowed in 2024.');
    await page.keyboard.press('Control+Enter');
    await page.locator('#note-status[data-state=saved]').waitFor();
    assert.deepEqual(await page.evaluate(() => window.__fakeShell.callsOf('set_client_note')[0].args),
      { email: 'grace@hopper.example', note: 'Prefers mornings. Widowed in 2024.' }, 'the note goes to the shell');
    await page.locator('#answer-search').fill('ISA');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=client-answer]').length === 3);
    await page.locator('#answer-search').fill('');
    await shot(page, 'client');
    await assertAccessible(page, 'client page');
    await page.close();
  });

  it('shows a reschedule chain and hostile answers as text', async () => {
    const page = await openApp('connected', '', { tab: 'clients' });
    await page.locator('[data-testid=client-row][data-email="rosalind@franklin.example"] .row-main').click();
    await page.locator('#client-detail [data-testid=reschedule-chain]').waitFor();
    assert.match(await page.locator('[data-testid=chain-link]').innerText(), /^Moved from /, 'the earlier booking of the chain');
    await page.locator('[data-testid=client-row][data-email="mallory@evil.example"] .row-main').click();
    await page.locator('#client-detail[data-loaded=true][data-email="mallory@evil.example"]').waitFor();
    assert.equal(await page.locator('#client-detail-name').innerText(), '<img src=x onerror="window.__xss=1">', 'the name as text');
    assert.match(await page.locator('#client-answers').innerText(), /<b>bold<\/b><img src=y/, 'the answer as text');
    assert.equal(await page.locator('#client-detail img, #client-detail b').count(), 0, 'nothing injected');
    assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined', 'no payload ran');
    await page.close();
  });
});

describe('connection', () => {
  it('connects with OAuth: disconnected → waiting for the browser → connected', async () => {
    const page = await openApp('disconnected');
    await page.locator('#connect-oauth').waitFor();
    assert.equal(await page.locator('#connection-state').getAttribute('data-state'), 'disconnected', 'starts disconnected');
    await shot(page, 'connect');
    await page.locator('#connect-oauth').click();
    await page.locator('#waiting-for-browser').waitFor();
    assert.match(await page.locator('#waiting-for-browser').innerText(), /Waiting for Calendly in your browser…/, 'waiting text');
    assert.equal(await page.locator('#connection-state').getAttribute('data-state'), 'connecting', 'connecting state');
    await shot(page, 'connecting');
    await page.evaluate(() => window.__fakeShell.completeOauth());
    await agendaItem(page, 'UP01').waitFor();
    await page.locator('#connection-tab').click();
    assert.equal(await page.locator('#account-email').innerText(), 'ada.advisor@example.com', 'the account is shown');
    assert.equal(await page.locator('#demo-marker').count(), 0, 'a real account has no Demo marker');
    await page.close();
  });

  it('connects with a personal access token, showing a rejected token under the field', async () => {
    const page = await openApp('disconnected');
    await page.locator('#token-input').fill('wrong');
    await page.locator('#connect-token').click();
    await page.locator('#token-error[data-code=invalid_token]').waitFor();
    await page.locator('#token-input').fill('pat_right');
    await page.locator('#connect-token').click();
    await agendaItem(page, 'UP01').waitFor();
    await page.close();
  });

  it('starts the demo and marks it', async () => {
    const page = await openApp('disconnected', '&manualDemo=1');
    await page.locator('#connect-demo').click();
    await page.locator('#waiting-for-browser').waitFor();
    await page.evaluate(() => window.__fakeShell.completeOauth({ demo: true }));
    await agendaItem(page, 'UP01').waitFor();
    await page.locator('#connection-tab').click();
    await page.locator('#demo-marker').waitFor();
    assert.equal(await page.locator('#account-email').innerText(), 'demo.advisor@advicly.test', 'demo account');
    await page.close();
  });

  it('offers Reconnect with the reason', async () => {
    const page = await openApp('needs-reconnect');
    assert.match(await page.locator('#reconnect-notice').innerText(), /invalid_grant/, 'the reason is on the notice');
    await page.locator('#connection-tab').click();
    assert.equal(await page.locator('#connection-state').getAttribute('data-state'), 'needs_reconnect', 'state');
    assert.match(await page.locator('#reconnect-reason').innerText(), /invalid_grant/, 'the reason on the screen');
    assert.ok(await page.locator('#sync-now').isDisabled(), 'no sync until reconnected');
    await shot(page, 'reconnect');
    await page.locator('#reconnect').click();
    await page.locator('#waiting-for-browser').waitFor();
    await page.close();
  });

  it('can be driven by keyboard: tabs with arrows, the disconnect confirmation takes and returns focus', async () => {
    const page = await openApp('connected');
    await page.locator('#meetings-tab').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'connection-tab', 'arrows move between tabs');
    await page.locator('#disconnect').waitFor();
    await page.locator('#disconnect').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'wipe-data');
    await page.keyboard.press('Space');
    assert.ok(await page.locator('#wipe-data').isChecked(), 'Space ticks the wipe box');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.activeElement?.id === 'disconnect');
    assert.equal(await page.evaluate(() => window.__fakeShell.callsOf('disconnect').length), 0, 'Escape cancels without disconnecting');
    await page.close();
  });

  it('disconnects with wipe after confirming', async () => {
    const page = await openApp('connected');
    await page.locator('#connection-tab').click();
    await page.locator('#disconnect').click();
    await page.locator('#wipe-data').check();
    await page.locator('#confirm-disconnect').click();
    await page.locator('#disconnect-result[data-wiped=true]').waitFor();
    await page.locator('#connection-state[data-state=disconnected]').waitFor();
    assert.deepEqual(await page.evaluate(() => window.__fakeShell.callsOf('disconnect')[0].args), { wipe: true }, 'wipe sent');
    await page.locator('#meetings-tab').click();
    await page.locator('#empty-state[data-kind=not-connected]').waitFor();
    await page.close();
  });
});

describe('sync', () => {
  it('shows progress while syncing, then the result', async () => {
    const page = await openApp('connected');
    await page.locator('#sync-now').click();
    await page.locator('#sync-status[data-state=running]').waitFor();
    await page.evaluate(() => window.__fakeShell.progress({ pages: 3, events: 212, invitees: 120, inviteesPending: 80 }));
    await page.locator('#sync-progress[value="0.6"]').waitFor();
    assert.equal(await page.locator('#sync-progress-text').innerText(), '212 meetings · 3 pages · 120 of 200 invitee lists', 'progress text');
    assert.ok(await page.locator('#sync-now').isDisabled(), 'Sync is disabled while running');
    await shot(page, 'sync-in-progress');
    await page.evaluate(() => window.__fakeShell.finishSync({ created: 5, updated: 4, canceled: 2, restored: 1, deleted: 1 }));
    await page.locator('#sync-status[data-state=idle]').waitFor();
    assert.equal(await page.locator('#last-sync-counts').innerText(), '5 new · 4 updated · 2 canceled · 1 restored · 1 deleted', 'result');
    assert.match(await page.locator('#next-sync').innerText(), /Next sync at/, 'next sync time');
    await page.close();
  });

  it('explains a failed sync', async () => {
    const page = await openApp('connected');
    await page.evaluate(() => window.__fakeShell.startSync());
    await page.locator('#sync-status[data-state=running]').waitFor();
    await page.evaluate(() => window.__fakeShell.failSync('needs_reconnect', 'Calendly revoked the refresh token.'));
    await page.locator('#last-sync-error').waitFor();
    // Issue 10's wording: the lead no longer claims Calendly refused access; Reconnect tries the saved sign-in first.
    assert.match(await page.locator('#last-sync-error').innerText(), /^Sign in to Calendly again to keep syncing \(Reconnect tries the saved sign-in first\)\. Calendly revoked the refresh token\.$/, 'plain words');
    await page.close();
  });

  it('changes the interval', async () => {
    const page = await openApp('connected');
    await page.locator('#connection-tab').click();
    await page.locator('#sync-interval').fill('45');
    await page.locator('#save-interval').click();
    await page.locator('#interval-saved').waitFor();
    assert.match(await page.locator('#next-sync').innerText(), /every 45 min/, 'the new interval is shown');
    await page.locator('#sync-interval').fill('2');
    await page.locator('#save-interval').click();
    await page.locator('#sync-interval-error').waitFor();
    await page.close();
  });
});

describe('offline', () => {
  it('keeps the list, shows a notice and disables Sync with a reason', async () => {
    const page = await openApp('offline');
    await agendaItem(page, 'UP01').waitFor();
    await page.locator('#offline-notice').waitFor();
    assert.ok(await page.locator('#sync-now').isDisabled(), 'Sync is disabled');
    assert.match(await page.locator('#sync-disabled-reason').innerText(), /offline/, 'the reason is given');
    await shot(page, 'offline');
    await page.evaluate(() => window.__fakeShell.setOnline(true));
    await page.locator('#offline-notice').waitFor({ state: 'detached' });
    assert.ok(await page.locator('#sync-now').isEnabled(), 'Sync is enabled when back online');
    await page.close();
  });
});

describe('untrusted text', () => {
  it('shows the hostile invitee name as text and runs nothing', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    const hostile = row(page, 'UP06');
    await hostile.waitFor();
    assert.equal(await hostile.locator('[data-testid=meeting-invitees]').innerText(), '<img src=x onerror="window.__xss=1">', 'literal name');
    await hostile.locator('.row-main').click();
    await page.locator('#meeting-detail[data-loaded=true]').waitFor();
    assert.equal(await page.locator('[data-testid=invitee-name]').innerText(), '<img src=x onerror="window.__xss=1">', 'literal name in detail');
    assert.equal(await page.locator('img').count(), 0, 'no img element exists');
    assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined', 'no payload ran');
    await page.close();
  });
});

describe('window sizes and themes', () => {
  it('shows the detail in place of the list in the narrowest window the shell allows', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    await page.setViewportSize({ width: 720, height: 520 });
    await row(page, 'UP01').locator('.row-main').click();
    await page.locator('#meeting-detail[data-loaded=true]').waitFor();
    assert.ok(await page.locator('#meeting-list').isHidden(), 'the list makes room for the detail');
    const box = await page.locator('#meeting-detail').boundingBox();
    assert.ok(box && box.x + box.width <= 720, 'the detail fits in the window');
    await page.locator('#close-detail').click();
    await page.locator('#meeting-list').waitFor({ state: 'visible' });
    await page.close();
  });

  it('follows a dark system theme', async () => {
    const page = await openApp('connected', '', { tab: 'meetings' });
    await page.emulateMedia({ colorScheme: 'dark' });
    await row(page, 'UP01').waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.querySelector('.sidebar')).backgroundColor);
    assert.equal(background, 'rgb(27, 31, 38)', 'the dark palette is used');
    await shot(page, 'meetings-dark');
    await page.close();
  });
});

describe('today', () => {
  it('lands on today’s agenda with the next meeting, its countdown and Join', async () => {
    const page = await openApp('connected');
    assert.equal(await page.locator('#today-tab').getAttribute('aria-selected'), 'true', 'Today is the start screen');
    await agendaItem(page, 'UP01').waitFor();
    assert.deepEqual(await page.evaluate(() => [window.__fakeShell.callsOf('get_start').length, window.__fakeShell.callsOf('list_meetings').length]),
      [1, 0], 'one round trip brought the overview and the agenda');
    assert.match(await page.locator('#next-meeting-countdown').innerText(), /^in (1|2) h/, 'how long until it starts');
    assert.equal(await agendaItem(page, 'UP01').locator('[data-testid=event-type]').innerText(), 'Financial review', 'the type by name');
    assert.ok(!(await page.locator('#agenda').innerText()).includes('api.calendly.com'), 'no URI is shown');
    await page.locator('#next-join').click();
    await page.waitForFunction(() => window.__fakeShell.callsOf('open_join_link').length === 1);
    await shot(page, 'today');
    await agendaItem(page, 'UP01').locator('.agenda-open').click();
    await page.locator('#meeting-detail[data-loaded=true]').waitFor();
    await page.locator('#meeting-detail [data-testid=client-link]').first().click();
    await page.locator('#client-detail[data-loaded=true][data-email="grace@hopper.example"]').waitFor();
    await page.close();
  });

  it('shows 50 meetings in one day with hostile and very long names as text, without overflowing', async () => {
    const page = await openApp('busy-day');
    await agendaItem(page, 'BUSY49').waitFor();
    assert.equal(await page.locator('[data-testid=agenda-day]').first().locator('[data-testid=agenda-item]').count(), 50, 'all 50');
    assert.equal(await agendaItem(page, 'BUSY03').locator('[data-testid=agenda-name]').innerText(), '<script>window.__xss=2</script>Review');
    assert.equal(await page.locator('#agenda img, #agenda script').count(), 0, 'nothing injected');
    assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined', 'no payload ran');
    const overflow = await page.evaluate(() => {
      const pane = document.querySelector('.agenda-pane');
      const long = document.querySelector(`[data-testid=agenda-item][data-uri$="BUSY07"]`);
      return { pane: pane.scrollWidth - pane.clientWidth, item: long.getBoundingClientRect().right - pane.getBoundingClientRect().right };
    });
    assert.ok(overflow.pane <= 1 && overflow.item <= 1, `a very long name stays inside the pane (${JSON.stringify(overflow)})`);
    await shot(page, 'today-busy');
    await assertAccessible(page, 'a busy day');
    await page.close();
  });
});

describe('week', () => {
  it('shows the week as a grid, moves between weeks and opens a meeting', async () => {
    const page = await openApp('connected', '', { tab: 'week' });
    await page.locator('#week[data-loaded=true]').waitFor();
    await block(page, 'UP01').waitFor();
    assert.equal(await page.locator('[data-testid=week-day-header]').count(), 7, 'seven days');
    const start = await page.locator('#week').getAttribute('data-week-start');
    await shot(page, 'week');
    await page.locator('#week-next').click();
    await page.waitForFunction((before) => {
      const week = document.querySelector('#week');
      return week.dataset.weekStart !== before && week.dataset.loaded === 'true';
    }, start);
    await page.locator('#week-today').click();
    await page.locator(`#week[data-week-start="${start}"][data-loaded=true]`).waitFor();
    await block(page, 'UP01').click();
    await page.locator(`#meeting-detail[data-loaded=true][data-uri="${uri('UP01')}"]`).waitFor();
    await page.close();
  });

  it('lays out the autumn clock-change week by local days, both 01:30s side by side', async () => {
    const page = await openApp('dst-week', '', { tab: 'week', time: '2026-10-21T10:00:00Z' });
    await page.locator('#week[data-loaded=true][data-week-start="2026-10-19"]').waitFor();
    await block(page, 'DSTLATE').waitFor();
    assert.equal(await block(page, 'DSTLATE').getAttribute('data-day'), '2026-10-25', 'Sunday 23:30 GMT is on Sunday');
    assert.equal(await block(page, 'DSTNEXT').count(), 0, 'Monday 00:15 is next week');
    const bst = await block(page, 'DSTBST').boundingBox();
    const gmt = await block(page, 'DSTGMT').boundingBox();
    assert.ok(Math.abs(bst.y - gmt.y) < 1, 'both 01:30s on the same row');
    assert.ok(bst.x + bst.width <= gmt.x + 1 || gmt.x + gmt.width <= bst.x + 1, 'side by side, not on top of each other');
    const nine = await block(page, 'DSTSUN9').boundingBox();
    const monday = await block(page, 'DSTMON').boundingBox();
    assert.ok(Math.abs(nine.y - monday.y) < 1, '09:00 GMT on Sunday lines up with 09:00 BST on Monday');
    await shot(page, 'week-dst');
    await page.close();
  });

  it('is keyboard operable: Tab reaches the blocks, arrows move, Page Down changes the week, Enter opens', async () => {
    const page = await openApp('connected', '', { tab: 'week', time: '2026-11-25T07:00:00.000Z' });
    await block(page, 'UP03').waitFor();
    await page.locator('#week-next').focus();
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
    assert.equal(first, 'week-block', 'Tab goes from the week buttons into the grid');
    await block(page, 'UP02').focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.uri), uri('UP03'), 'down within the day');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.uri), uri('UP05OLD'), 'right to the next day');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).boxShadow);
    assert.notEqual(outline, 'none', 'the focused block is visibly marked');
    await page.keyboard.press('Enter');
    await page.locator(`#meeting-detail[data-loaded=true][data-uri="${uri('UP05OLD')}"]`).waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#meeting-detail').waitFor({ state: 'detached' });
    await block(page, 'UP03').focus();
    await page.keyboard.press('PageDown');
    await page.locator('#week[data-week-start="2026-11-30"]').waitFor();
    await page.close();
  });
});

describe('accessibility', () => {
  for (const colorScheme of ['light', 'dark']) {
    it(`every screen passes axe-core with no serious or critical violations (${colorScheme})`, async () => {
      const page = await openApp('connected');
      await page.emulateMedia({ colorScheme });
      await agendaItem(page, 'UP01').waitFor();
      await assertAccessible(page, `today (${colorScheme})`);
      await agendaItem(page, 'UP01').locator('.agenda-open').click();
      await page.locator('#meeting-detail[data-loaded=true]').waitFor();
      await assertAccessible(page, `today with a meeting open (${colorScheme})`);

      await page.locator('#week-tab').click();
      await page.locator('#week[data-loaded=true]').waitFor();
      await assertAccessible(page, `week (${colorScheme})`);
      if (colorScheme === 'dark') await shot(page, 'week-dark');

      await page.locator('#meetings-tab').click();
      await row(page, 'UP01').waitFor();
      await assertAccessible(page, `all meetings (${colorScheme})`);
      await row(page, 'UP07').locator('.row-main').click();
      await page.locator('#meeting-detail[data-loaded=true]').waitFor();
      await assertAccessible(page, `meeting detail (${colorScheme})`);

      await page.locator('#clients-tab').click();
      await page.locator('[data-testid=client-row][data-email="grace@hopper.example"] .row-main').click();
      await page.locator('#client-detail[data-loaded=true]').waitFor();
      await assertAccessible(page, `client page (${colorScheme})`);

      await page.locator('#connection-tab').click();
      await page.locator('#disconnect').waitFor();
      await assertAccessible(page, `account & sync (${colorScheme})`);

      await page.locator('#settings-tab').click();
      await page.locator('#setting-client-id').waitFor();
      await assertAccessible(page, `settings (${colorScheme})`);
      await page.close();

      for (const scenario of ['disconnected', 'needs-reconnect', 'offline']) {
        const other = await openApp(scenario);
        await other.emulateMedia({ colorScheme });
        await other.locator('.app').waitFor();
        await assertAccessible(other, `${scenario} (${colorScheme})`);
        await other.close();
      }
    });
  }

  it('shows a visible focus ring on every kind of control', async () => {
    const page = await openApp('connected');
    await agendaItem(page, 'UP01').waitFor();
    for (const selector of ['#today-tab', '#sync-now', '.agenda-open', '[data-testid=client-link]', '#next-join']) {
      await page.locator(selector).first().focus();
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Tab');
      const ring = await page.evaluate(() => {
        const element = document.activeElement;
        const own = getComputedStyle(element);
        const after = getComputedStyle(element, '::after');
        return [own.boxShadow, own.outlineStyle, after.content !== 'none' ? after.boxShadow : 'none'];
      });
      assert.ok(ring[0] !== 'none' || ring[1] !== 'none' || ring[2] !== 'none', `${selector} shows where the focus is (${ring})`);
    }
    await page.close();
  });
});
