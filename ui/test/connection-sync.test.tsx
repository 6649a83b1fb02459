// Component tests of the connection screen, the sync card, offline mode and error-code branching.
import { fireEvent } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { $, renderApp, until } from './helpers';
import { RECONNECT_REASON } from '../test-support/fakeShell';

const text = (selector: string) => $(selector)?.textContent ?? '';

describe('connection', () => {
  it('connects with OAuth: waits for the browser until connection-changed, then shows today’s agenda', async () => {
    const { shell } = await renderApp('disconnected');
    await until(() => $('#connect-oauth'), 'connect screen');
    expect($('#connection-state')!.dataset.state, 'starts disconnected').toBe('disconnected');
    fireEvent.click($('#connect-oauth')!);
    await until(() => $('#waiting-for-browser'), 'waiting state');
    expect(text('#waiting-for-browser'), 'tells the advisor where to look').toContain('Waiting for Calendly in your browser…');
    expect($('#connection-state')!.dataset.state, 'connecting while the browser is open').toBe('connecting');
    await shell.completeOauth();
    await until(() => $('[data-testid=agenda-item]'), 'the agenda after connecting');
    expect($('#today-tab')!.getAttribute('aria-selected'), 'the app moves to today’s agenda').toBe('true');
  });

  it('shows the reason when the browser flow ends without a connection', async () => {
    const { shell } = await renderApp('disconnected');
    fireEvent.click(await until(() => $('#connect-oauth'), 'connect screen'));
    await until(() => $('#waiting-for-browser'), 'waiting');
    await shell.denyOauth('You declined access in Calendly.');
    const error = await until(() => $('#connect-error'), 'connect error');
    expect(error.textContent, 'the reason from connection-changed is shown').toBe('You declined access in Calendly.');
  });

  it.each([
    ['oauth_denied', 'connect-error'],
    ['oauth_failed', 'connect-error'],
    ['offline', 'connect-error'],
  ])('a %s rejection of connect_oauth shows a message on the connect screen', async (code, id) => {
    const { shell } = await renderApp('disconnected');
    shell.failNext('connect_oauth', code as 'oauth_denied', `message for ${code}`);
    fireEvent.click(await until(() => $('#connect-oauth'), 'connect screen'));
    const message = await until(() => $(`#${id}`), 'message');
    expect(message.dataset.code, 'the UI branches on the code').toBe(code);
    expect(message.textContent, 'and shows the message as text').toBe(`message for ${code}`);
    expect($('#error-banner'), 'not a banner').toBeNull();
  });

  it('shows an invalid token message under the token field, and connects with a good token', async () => {
    const { shell } = await renderApp('disconnected');
    const input = await until(() => $('#token-input') as HTMLInputElement, 'token field');
    fireEvent.input(input, { target: { value: 'not-a-token' } });
    fireEvent.click($('#connect-token')!);
    const error = await until(() => $('#token-error'), 'token error');
    expect(error.dataset.code, 'invalid_token goes under the field').toBe('invalid_token');
    fireEvent.input(input, { target: { value: 'pat_good' } });
    fireEvent.click($('#connect-token')!);
    await until(() => $('[data-testid=agenda-item]'), 'the agenda');
    expect(shell.callsOf('connect_token').at(-1)!.args, 'the token is sent as typed').toEqual({ token: 'pat_good' });
  });

  it('starts the demo and marks the account as Demo', async () => {
    await renderApp('disconnected');
    fireEvent.click(await until(() => $('#connect-demo'), 'demo button'));
    await until(() => $('[data-testid=agenda-item]'), 'demo meetings on the agenda');
    fireEvent.click($('#connection-tab')!);
    await until(() => $('#demo-marker'), 'demo marker');
    expect(text('#account-email'), 'the demo account is shown').toBe('demo.advisor@advicly.test');
  });

  it('offers Reconnect with the reason when access needs renewing', async () => {
    const { shell } = await renderApp('needs-reconnect');
    expect($('#reconnect-notice')?.textContent, 'a notice on every screen').toContain(RECONNECT_REASON);
    fireEvent.click($('#connection-tab')!);
    expect(text('#reconnect-reason'), 'the reason is on the connection screen').toBe(RECONNECT_REASON);
    expect(($('#sync-now') as HTMLButtonElement).disabled, 'no sync until reconnected').toBe(true);
    fireEvent.click($('#reconnect')!);
    await until(() => shell.callsOf('connect_oauth').length === 1, 'reconnect starts OAuth');
  });

  it('disconnects after confirming, wiping local data when asked', async () => {
    const { shell } = await renderApp('connected');
    fireEvent.click($('#connection-tab')!);
    expect(text('#account-email'), 'the connected account is shown').toBe('ada.advisor@example.com');
    fireEvent.click($('#disconnect')!);
    expect(shell.callsOf('disconnect').length, 'nothing happens before confirming').toBe(0);
    fireEvent.click($('#wipe-data')!);
    fireEvent.click($('#confirm-disconnect')!);
    const result = await until(() => $('#disconnect-result'), 'result');
    expect(shell.callsOf('disconnect')[0].args, 'wipe is passed through').toEqual({ wipe: true });
    expect(result.dataset.wiped, 'the result says data was removed').toBe('true');
    await until(() => $('#connection-state')?.dataset.state === 'disconnected', 'disconnected state');
  });
});

describe('sync', () => {
  it('renders progress while syncing, then the result', async () => {
    const { shell } = await renderApp('connected');
    fireEvent.click($('#sync-now')!);
    await until(() => $('#sync-status')?.dataset.state === 'running', 'running state');
    const bar = $('#sync-progress') as HTMLProgressElement;
    expect(bar.hasAttribute('value'), 'indeterminate until the totals are known').toBe(false);
    expect(($('#sync-now') as HTMLButtonElement).disabled, 'no second sync while one runs').toBe(true);

    await shell.progress({ pages: 2, events: 140, invitees: 30, inviteesPending: 90 });
    await until(() => ($('#sync-progress') as HTMLProgressElement | null)?.getAttribute('value') === '0.25', 'determinate bar');
    expect(text('#sync-progress-text'), 'progress in words').toBe('140 meetings · 2 pages · 30 of 120 invitee lists');

    await shell.finishSync({ created: 4, updated: 2, canceled: 1, restored: 1, deleted: 3 });
    await until(() => $('#sync-status')?.dataset.state === 'idle', 'idle state');
    expect($('#sync-progress'), 'the bar goes away').toBeNull();
    expect(text('#last-sync-counts'), 'the result of the last sync')
      .toBe('4 new · 2 updated · 1 canceled · 1 restored · 3 deleted');
  });

  it('explains a failed sync in plain words', async () => {
    const { shell } = await renderApp('connected');
    await shell.startSync();
    await shell.failSync('internal', 'Calendly answered 502 Bad Gateway.');
    const error = await until(() => $('#last-sync-error'), 'sync error');
    expect(error.textContent, 'plain words first, then the detail')
      .toBe('The sync stopped because of an unexpected problem. Calendly answered 502 Bad Gateway.');
    expect($('#sync-status')!.dataset.state, 'the status says it failed').toBe('failed');
  });

  it('sets the interval, and shows invalid_input next to the control', async () => {
    const { shell } = await renderApp('connected');
    fireEvent.click($('#connection-tab')!);
    const input = $('#sync-interval') as HTMLInputElement;
    fireEvent.input(input, { target: { value: '90' } });
    fireEvent.click($('#save-interval')!);
    expect(text('#sync-interval-error'), 'checked before calling the shell').toContain('5 to 60');
    expect(shell.callsOf('set_sync_interval').length, 'no call with a value out of range').toBe(0);
    fireEvent.input(input, { target: { value: '30' } });
    fireEvent.click($('#save-interval')!);
    await until(() => $('#interval-saved'), 'saved');
    expect(text('#next-sync'), 'the sidebar shows the new interval').toContain('every 30 min');
    shell.failNext('set_sync_interval', 'invalid_input', 'The shell says no.');
    fireEvent.input(input, { target: { value: '20' } });
    fireEvent.click($('#save-interval')!);
    await until(() => $('#sync-interval-error')?.textContent === 'The shell says no.', 'shell message next to the control');
  });
});

describe('offline', () => {
  it('shows the notice, keeps the list and disables Sync with a reason', async () => {
    const { shell } = await renderApp('offline');
    await until(() => $('[data-testid=agenda-item]'), 'the agenda is still shown');
    expect($('#offline-notice'), 'offline notice').not.toBeNull();
    expect(($('#sync-now') as HTMLButtonElement).disabled, 'Sync is disabled').toBe(true);
    expect(text('#sync-disabled-reason'), 'with a sentence saying why').toContain('offline');
    await shell.setOnline(true);
    await until(() => !$('#offline-notice'), 'notice gone when back online');
    expect(($('#sync-now') as HTMLButtonElement).disabled, 'Sync is enabled again').toBe(false);
  });

  it('goes offline when network-changed says so, or when sync_now rejects with offline', async () => {
    const { shell } = await renderApp('connected');
    await shell.setOnline(false);
    await until(() => $('#offline-notice'), 'offline after network-changed');
    await shell.setOnline(true);
    await until(() => !$('#offline-notice'), 'online again');
    shell.failNext('sync_now', 'offline', 'No route to api.calendly.com.');
    fireEvent.click($('#sync-now')!);
    await until(() => $('#offline-notice'), 'offline after the rejection');
    expect(text('#last-sync-error'), 'the failure is explained').toContain('Check your internet connection');
  });
});

describe('error-code branching', () => {
  it('shows internal errors in the banner as text', async () => {
    await renderApp('connected', { prepare: (shell) => shell.failNext('list_meetings', 'internal', 'Database is <b>locked</b>.') });
    const banner = await until(() => $('#error-banner'), 'banner');
    expect(banner.dataset.code, 'internal → banner').toBe('internal');
    expect(text('#error-banner-message'), 'message as text').toBe('Database is <b>locked</b>.');
    fireEvent.click($('#dismiss-error')!);
    expect($('#error-banner'), 'the banner can be dismissed').toBeNull();
  });

  it('shows keychain_unavailable in the banner with its message', async () => {
    await renderApp('connected', { prepare: (shell) => shell.failNext('list_clients', 'keychain_unavailable', 'Install gnome-keyring.') });
    fireEvent.click($('#clients-tab')!);
    const banner = await until(() => $('#error-banner'), 'banner');
    expect(banner.dataset.code, 'keychain_unavailable → banner').toBe('keychain_unavailable');
    expect(banner.textContent, 'tells what to install').toContain('Install gnome-keyring.');
  });

  it('goes to the connect screen on not_connected', async () => {
    await renderApp('connected', { prepare: (shell) => shell.failNext('list_meetings', 'not_connected', 'No account.') });
    await until(() => $('#connection-tab')?.getAttribute('aria-selected') === 'true', 'connection tab');
    expect($('#error-banner'), 'not_connected is not a banner').toBeNull();
  });

  it('offers Reconnect on needs_reconnect from any command', async () => {
    await renderApp('connected', { prepare: (shell) => shell.failNext('list_meetings', 'needs_reconnect', 'Token revoked.') });
    const notice = await until(() => $('#reconnect-notice'), 'reconnect notice');
    expect(notice.textContent, 'the message is shown').toContain('Token revoked.');
  });

  it('shows a load error with a retry when the overview cannot be read', async () => {
    await renderApp('connected', {
      waitForApp: false, prepare: (shell) => shell.failNext('get_overview', 'internal', 'Store is corrupt.'),
    });
    const banner = await until(() => $('#error-banner'), 'load error');
    expect(banner.textContent, 'the failure is explained').toContain('Store is corrupt.');
    expect($('.app'), 'no half-loaded app').toBeNull();
    fireEvent.click($('#retry-overview')!);
    await until(() => $('.app'), 'the app loads after retrying');
  });
});

describe('clients', () => {
  it('lists clients with counts and next/last meeting, and opens a client’s page', async () => {
    const { shell } = await renderApp('connected');
    fireEvent.click($('#clients-tab')!);
    const grace = await until(() => $('[data-testid=client-row][data-email="grace@hopper.example"]'), 'client rows');
    // Grace has one active meeting; one is canceled and one has a status the core does not count as active.
    expect(grace.querySelector('[data-testid=client-meeting-count]')!.textContent, 'active meetings are counted').toBe('1 meeting');
    expect(grace.querySelector('[data-testid=client-next]')!.textContent, 'next meeting').toMatch(/^Next /);
    expect(grace.querySelector('[data-testid=client-last]')!.textContent, 'no active past meeting').toBe('No past meeting');
    fireEvent.click(grace.querySelector('.row-main')!);
    await until(() => $('#client-detail [data-testid=timeline-entry]'), 'client meetings');
    expect(shell.callsOf('get_client')[0].args, 'asks the core by e-mail').toEqual({ email: 'grace@hopper.example' });
    fireEvent.click($('#client-detail [data-testid=timeline-entry] .timeline-open')!);
    await until(() => $('#meeting-detail[data-loaded=true]'), 'meeting detail from a client');
    fireEvent.click($('#back-to-client')!);
    await until(() => $('#client-detail'), 'back to the client');
  });
});

describe('large books', () => {
  it('renders clients 200 at a time', async () => {
    await renderApp('many');
    fireEvent.click($('#clients-tab')!);
    await until(() => $('[data-testid=client-row]'), 'client rows');
    expect(document.querySelectorAll('[data-testid=client-row]').length, 'the first page of clients').toBe(200);
    expect(text('#client-count'), 'the count covers all clients').toBe('700 clients');
    fireEvent.click($('#clients-more')!);
    await until(() => document.querySelectorAll('[data-testid=client-row]').length === 400, 'the second page');
  });

  it('comes back online when a sync finishes', async () => {
    const { shell } = await renderApp('offline');
    await until(() => $('#offline-notice'), 'offline');
    await shell.startSync();
    await shell.finishSync({ created: 1 });
    await until(() => !$('#offline-notice'), 'a finished sync proves the network is back');
  });
});
