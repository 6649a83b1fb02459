// Component tests of the Settings screen and of connecting without a client id, against the fake shell.
import { fireEvent } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { $, renderApp, until } from './helpers';

const text = (selector: string) => $(selector)?.textContent ?? '';

describe('settings', () => {
  it('shows the shared settings and saves only what changed', async () => {
    const { shell } = await renderApp('connected');
    fireEvent.click($('#settings-tab')!);
    const clientId = await until(() => $('#setting-client-id') as HTMLInputElement, 'settings form');
    expect(clientId.value, 'the saved client id is shown').toBe('registered-client');
    expect(text('#settings-file'), 'where the CLI finds the same settings').toContain('com.advicly.desktop/settings.toml');
    fireEvent.input($('#setting-sync-interval')!, { target: { value: '30' } });
    fireEvent.click($('#setting-notifications')!);
    fireEvent.click($('#save-settings')!);
    await until(() => $('#settings-saved'), 'saved');
    expect(shell.callsOf('save_settings')[0].args, 'unchanged fields are not sent').toEqual({
      update: { syncIntervalMinutes: 30, notifications: false },
    });
  });

  it('shows a refused value next to the form and keeps what was typed', async () => {
    await renderApp('connected');
    fireEvent.click($('#settings-tab')!);
    const relay = await until(() => $('#setting-relay-base') as HTMLInputElement, 'settings form');
    fireEvent.input(relay, { target: { value: 'http://relay.example.com' } });
    fireEvent.click($('#save-settings')!);
    const error = await until(() => $('#settings-error'), 'error');
    expect(error.dataset.code).toBe('invalid_input');
    expect(error.textContent, 'the setting is named').toContain('relay_base must use https');
    expect(relay.value, 'nothing typed is lost').toBe('http://relay.example.com');
  });

  it('shows values fixed by the environment read-only, and ignored values with their problem', async () => {
    await renderApp('connected', {
      prepare: (shell) => {
        shell.settings = {
          ...shell.settings,
          sources: { ...shell.settings.sources, client_id: 'environment' },
          lockedBy: { client_id: 'ADVICLY_CLIENT_ID' },
          problems: ['The setting sync_interval_minutes in settings.toml must be a whole number of minutes from 5 to 60 (got "90"); it is ignored.'],
        };
      },
    });
    fireEvent.click($('#settings-tab')!);
    const clientId = await until(() => $('#setting-client-id') as HTMLInputElement, 'settings form');
    expect(clientId.disabled, 'an environment variable wins; the screen does not pretend otherwise').toBe(true);
    expect(text('#setting-client-id-hint')).toContain('ADVICLY_CLIENT_ID');
    expect(text('#settings-problems')).toContain('sync_interval_minutes');
  });
});

describe('connecting without a client id', () => {
  it('explains what is missing, offers the token and the demo, and leads to Settings', async () => {
    const { shell } = await renderApp('disconnected', { prepare: (fake) => { fake.oauthAvailable = false; } });
    const missing = await until(() => $('#client-id-missing'), 'explanation');
    expect(missing.textContent, 'says what to set and where').toContain('advicly config set client_id');
    expect($('#connect-oauth'), 'no dead-end Connect button').toBeNull();
    expect($('#token-input'), 'the personal access token is offered').not.toBeNull();
    expect($('#connect-demo'), 'and the demo').not.toBeNull();
    fireEvent.click($('#open-settings')!);
    const clientId = await until(() => $('#setting-client-id') as HTMLInputElement, 'settings');
    fireEvent.input(clientId, { target: { value: 'my-client' } });
    fireEvent.click($('#save-settings')!);
    await until(() => $('#settings-saved'), 'saved');
    fireEvent.click($('#connection-tab')!);
    await until(() => $('#connect-oauth'), 'Connect with Calendly is offered once a client id is set');
    expect(shell.oauthAvailable).toBe(true);
  });
});

describe('staying signed in', () => {
  it('reconnects without the browser when the saved sign-in still works', async () => {
    const { shell } = await renderApp('needs-reconnect', { prepare: (fake) => { fake.savedSignInWorks = true; } });
    fireEvent.click($('#connection-tab')!);
    fireEvent.click(await until(() => $('#reconnect'), 'reconnect'));
    await until(() => $('#connection-state')?.dataset.state === 'connected', 'connected again');
    expect($('#waiting-for-browser'), 'never waits for a browser that was not opened').toBeNull();
    expect(shell.callsOf('connect_oauth').length).toBe(1);
  });

  it('shows an outage of the sign-in service as such, not as lost access or being offline', async () => {
    await renderApp('connected', {
      prepare: (fake) => {
        fake.connection = { ...fake.connection, signInRetryAt: '2026-11-21T10:42:00Z', signInProblem: 'HTTP 503' };
      },
    });
    const notice = await until(() => $('#sign-in-outage-notice'), 'outage notice');
    expect(notice.textContent).toContain('Calendly’s sign-in service is not answering; retrying at 10:42');
    expect($('#reconnect-notice'), 'no reconnect is asked for').toBeNull();
    expect($('#offline-notice'), 'and the network is not blamed').toBeNull();
  });

  it('the reconnect screen does not claim Calendly refused access', async () => {
    await renderApp('needs-reconnect');
    fireEvent.click($('#connection-tab')!);
    await until(() => $('#reconnect'), 'reconnect');
    expect(text('.card-warning')).not.toContain('no longer accepts');
    expect(text('.card-warning'), 'it says what Reconnect does').toContain('browser only opens if Calendly asks');
  });
});
