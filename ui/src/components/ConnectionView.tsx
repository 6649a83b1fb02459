// The Account & sync screen: connect (OAuth, token, demo), the connected account, reconnect,
// disconnect (optionally wiping local data) and the sync interval.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ipc, type DisconnectReport, type IpcError } from '../ipc';
import { reactionFor } from '../errors';
import { formatDateTime } from '../format';
import { useApp } from '../context';
import { markFirstScreen } from '../startup';

export const MIN_INTERVAL = 5;
export const MAX_INTERVAL = 60;

const STATE_LABELS = {
  disconnected: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  needs_reconnect: 'Needs reconnecting',
} as const;

export function ConnectionView() {
  const { overview, waitingForBrowser } = useApp();
  const { connection } = overview;
  const [report, setReport] = useState<DisconnectReport | null>(null);
  const waiting = waitingForBrowser !== null || connection.state === 'connecting';

  useEffect(() => {
    if (connection.state === 'connected') setReport(null);
  }, [connection.state]);
  useLayoutEffect(() => markFirstScreen(), []);

  return (
    <div class="connection-view">
      <header class="view-header">
        <div>
          <h1>Account &amp; sync</h1>
          <p class="subtle">
            <span id="connection-state" data-state={waiting ? 'connecting' : connection.state}>
              {waiting ? STATE_LABELS.connecting : STATE_LABELS[connection.state]}
            </span>
            {connection.demo && connection.state !== 'disconnected' ? <span class="demo-pill" id="demo-marker">Demo</span> : null}
          </p>
        </div>
      </header>
      {report ? <DisconnectResult report={report} /> : null}
      {waiting ? <WaitingForBrowser />
        : connection.state === 'connected' ? <ConnectedAccount onDisconnected={setReport} />
          : connection.state === 'needs_reconnect' ? <Reconnect onDisconnected={setReport} />
            : <ConnectOptions />}
      {connection.state === 'connected' || connection.state === 'needs_reconnect' ? <IntervalSetting /> : null}
      {connection.state === 'connected' || connection.state === 'needs_reconnect' ? <RealtimeSetting /> : null}
    </div>
  );
}

/** Shared by Connect and Reconnect: starts OAuth in the system browser, or the demo. */
function useConnectActions() {
  const { reportError, setWaitingForBrowser, refreshOverview } = useApp();
  const [error, setError] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState(false);
  const handle = (failure: IpcError) => {
    setWaitingForBrowser(null);
    if (reactionFor(failure.code) === 'connect-message' || failure.code === 'offline' || failure.code === 'keychain_unavailable') {
      setError(failure);
    } else {
      reportError(failure);
    }
  };
  const startOauth = () => {
    setError(null);
    setBusy(true);
    // The shell tries the saved sign-in first; the browser only opens when that does not work.
    ipc.connectOauth().then((outcome) => {
      if (outcome?.browserOpened === false) return refreshOverview();
      setWaitingForBrowser('oauth');
      return undefined;
    }, handle).finally(() => setBusy(false));
  };
  const startDemo = () => {
    setError(null);
    setBusy(true);
    // start_demo answers once the demo is connected, so "Starting the demo…" shows while it runs.
    setWaitingForBrowser('demo');
    ipc.startDemo().then(() => {
      setWaitingForBrowser(null);
      return refreshOverview();
    }, handle).finally(() => setBusy(false));
  };
  return { error, setError, busy, startOauth, startDemo };
}

function ConnectOptions() {
  const { overview, goTo } = useApp();
  const oauthAvailable = overview.oauthAvailable !== false;
  const { error, busy, startOauth, startDemo } = useConnectActions();
  // A failed OAuth callback arrives as connection-changed with a reason (connect_oauth has long resolved).
  const reason = overview.connection.state === 'disconnected' ? overview.connection.reason : null;
  return (
    <section class="card" aria-labelledby="connect-heading">
      <h2 id="connect-heading">Connect your Calendly account</h2>
      <p>
        Advicly reads your scheduled meetings from Calendly and keeps a copy on this computer. Sign in to Calendly
        in your browser; Advicly never sees your password.
      </p>
      {error || reason ? (
        <p class="field-error" id="connect-error" role="alert" data-code={error?.code ?? 'reason'}>
          {error ? error.message : reason}
        </p>
      ) : null}
      {oauthAvailable ? null : (
        <div class="notice notice-info" id="client-id-missing" role="status">
          <p>
            <strong>Connecting through the browser needs your Calendly app’s OAuth client id, and none is set.</strong>{' '}
            Add it once in Settings, or run <code>advicly config set client_id YOUR_CLIENT_ID</code> in a terminal.
            Until then you can connect with a personal access token below{overview.demoAvailable ? ' or try Advicly with demo data' : ''}.
          </p>
          <button type="button" class="small" id="open-settings" onClick={() => goTo('settings')}>Open Settings</button>
        </div>
      )}
      <div class="actions">
        {oauthAvailable ? (
          <button type="button" class="primary" id="connect-oauth" disabled={busy} onClick={startOauth}>
            Connect with Calendly
          </button>
        ) : null}
        {overview.demoAvailable ? (
          <button type="button" id="connect-demo" disabled={busy} onClick={startDemo}>Try with demo data</button>
        ) : null}
      </div>
      <TokenForm />
    </section>
  );
}

function TokenForm() {
  const { reportError, setOverview, goTo, refreshOverview } = useApp();
  const [token, setToken] = useState('');
  const [error, setError] = useState<IpcError | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (event: Event) => {
    event.preventDefault();
    if (token.trim() === '') {
      setError({ code: 'invalid_input', message: 'Paste a personal access token first.' });
      return;
    }
    setBusy(true);
    setError(null);
    ipc.connectToken(token.trim()).then((connection) => {
      setToken('');
      setOverview((previous) => ({ ...previous, connection }));
      void refreshOverview();
      goTo('today');
    }, (failure: IpcError) => {
      const reaction = reactionFor(failure.code);
      if (reaction === 'token-message' || reaction === 'input-message' || failure.code === 'offline'
        || failure.code === 'keychain_unavailable') {
        setError(failure);
      } else {
        reportError(failure);
      }
    }).finally(() => setBusy(false));
  };
  return (
    <div class="token-form">
      <p class="divider"><span>or use a personal access token</span></p>
      <form onSubmit={submit}>
        <label for="token-input">Personal access token</label>
        <p class="hint" id="token-hint">Create one in Calendly under Integrations → API &amp; Webhooks. It is stored in your system keychain.</p>
        <div class="inline">
          <input id="token-input" type="password" autoComplete="off" spellcheck={false} value={token}
            aria-describedby={error ? 'token-error' : 'token-hint'} aria-invalid={error ? 'true' : undefined}
            onInput={(event) => setToken((event.currentTarget as HTMLInputElement).value)} />
          <button type="submit" id="connect-token" disabled={busy}>{busy ? 'Checking…' : 'Connect'}</button>
        </div>
        {error ? <p class="field-error" id="token-error" role="alert" data-code={error.code}>{error.message}</p> : null}
      </form>
    </div>
  );
}

function WaitingForBrowser() {
  const { waitingForBrowser, setWaitingForBrowser } = useApp();
  const { startOauth } = useConnectActions();
  const demo = waitingForBrowser === 'demo';
  return (
    <section class="card waiting" id="waiting-for-browser" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <div>
        <h2>{demo ? 'Starting the demo…' : 'Waiting for Calendly in your browser…'}</h2>
        <p>
          {demo ? 'Advicly is connecting to a local demo Calendly with sample meetings.'
            : 'Sign in to Calendly and allow access in the browser window that just opened. Advicly continues on its own when you are done.'}
        </p>
        {!demo ? (
          <div class="actions">
            <button type="button" id="reopen-browser" onClick={startOauth}>Open the browser again</button>
            <button type="button" class="ghost" id="cancel-connect" onClick={() => setWaitingForBrowser(null)}>Cancel</button>
          </div>
        ) : null}
      </div>
    </section>
  );
}

function AccountFacts() {
  const { overview, zone } = useApp();
  const { connection } = overview;
  const account = connection.account;
  if (!account) return null;
  return (
    <dl class="facts">
      <dt>Name</dt>
      <dd id="account-name">{account.name}</dd>
      <dt>E-mail</dt>
      <dd id="account-email">{account.email}</dd>
      {account.timezone ? (<><dt>Calendly time zone</dt><dd id="account-timezone">{account.timezone}</dd></>) : null}
      {account.schedulingUrl ? (<><dt>Booking page</dt><dd class="mono">{account.schedulingUrl}</dd></>) : null}
      {connection.tokenExpiresAt ? (<><dt>Access renews</dt><dd>{formatDateTime(connection.tokenExpiresAt, zone)}</dd></>) : null}
    </dl>
  );
}

function ConnectedAccount({ onDisconnected }: { onDisconnected: (report: DisconnectReport) => void }) {
  const { overview } = useApp();
  return (
    <section class="card" aria-labelledby="account-heading">
      <h2 id="account-heading">
        Calendly account {overview.connection.demo ? <span class="demo-pill">Demo data</span> : null}
      </h2>
      <AccountFacts />
      <Disconnect onDisconnected={onDisconnected} />
    </section>
  );
}

function Reconnect({ onDisconnected }: { onDisconnected: (report: DisconnectReport) => void }) {
  const { overview } = useApp();
  const { error, busy, startOauth } = useConnectActions();
  return (
    <section class="card card-warning" aria-labelledby="reconnect-heading">
      <h2 id="reconnect-heading">Reconnect to Calendly</h2>
      <p>
        Syncing is paused until you reconnect. Your saved meetings are safe. Reconnect first tries the sign-in saved on
        this computer; your browser only opens if Calendly asks you to sign in again.
      </p>
      {overview.connection.reason ? <p class="reason" id="reconnect-reason">{overview.connection.reason}</p> : null}
      {error ? <p class="field-error" id="connect-error" role="alert" data-code={error.code}>{error.message}</p> : null}
      <AccountFacts />
      <div class="actions">
        <button type="button" class="primary" id="reconnect" disabled={busy} onClick={startOauth}>Reconnect</button>
      </div>
      <TokenForm />
      <Disconnect onDisconnected={onDisconnected} />
    </section>
  );
}

function Disconnect({ onDisconnected }: { onDisconnected: (report: DisconnectReport) => void }) {
  const { reportError, refreshOverview } = useApp();
  const [confirming, setConfirming] = useState(false);
  const [wipe, setWipe] = useState(false);
  const [busy, setBusy] = useState(false);
  const wipeBox = useRef<HTMLInputElement>(null);
  const disconnectButton = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);
  // Keyboard users land in the confirmation when it opens and back on Disconnect when it closes.
  useEffect(() => {
    if (confirming) wipeBox.current?.focus();
    else if (wasConfirming.current) disconnectButton.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);
  const confirm = () => {
    setBusy(true);
    ipc.disconnect(wipe).then((report) => {
      setConfirming(false);
      setWipe(false);
      onDisconnected(report);
      return refreshOverview();
    }, (error: IpcError) => reportError(error)).finally(() => setBusy(false));
  };
  if (!confirming) {
    return (
      <div class="actions">
        <button type="button" class="danger-outline" id="disconnect" ref={disconnectButton}
          onClick={() => setConfirming(true)}>Disconnect…</button>
      </div>
    );
  }
  return (
    <div class="confirm" id="disconnect-confirm" role="group" aria-labelledby="disconnect-question"
      onKeyDown={(event) => { if (event.key === 'Escape' && !busy) { setConfirming(false); setWipe(false); } }}>
      <p id="disconnect-question"><strong>Disconnect from Calendly?</strong> Advicly stops syncing and forgets its access.</p>
      <label class="checkbox">
        <input type="checkbox" id="wipe-data" ref={wipeBox} checked={wipe}
          onChange={(event) => setWipe((event.currentTarget as HTMLInputElement).checked)} />
        Also remove the meetings and clients saved on this computer
      </label>
      <div class="actions">
        <button type="button" class="danger" id="confirm-disconnect" disabled={busy} onClick={confirm}>
          {wipe ? 'Disconnect and remove data' : 'Disconnect'}
        </button>
        <button type="button" class="ghost" id="cancel-disconnect" disabled={busy}
          onClick={() => { setConfirming(false); setWipe(false); }}>Cancel</button>
      </div>
    </div>
  );
}

function DisconnectResult({ report }: { report: DisconnectReport }) {
  return (
    <div class="notice notice-info" id="disconnect-result" role="status" data-wiped={String(report.wiped)}>
      <p>
        Disconnected.{' '}
        {report.wiped ? 'The data saved on this computer was removed.' : 'Your saved meetings stay on this computer.'}
        {report.tokensRevoked ? ' Calendly access was revoked.' : ''}
      </p>
      {report.warnings.length > 0 ? (
        <ul class="warnings">{report.warnings.map((warning, index) => <li key={index}>{warning}</li>)}</ul>
      ) : null}
    </div>
  );
}

function IntervalSetting() {
  const { overview, setOverview, reportError } = useApp();
  const [value, setValue] = useState(String(overview.sync.intervalMinutes));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setValue(String(overview.sync.intervalMinutes)), [overview.sync.intervalMinutes]);
  const save = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const minutes = Number(value);
    if (!Number.isInteger(minutes) || minutes < MIN_INTERVAL || minutes > MAX_INTERVAL) {
      setError(`Choose a whole number of minutes from ${MIN_INTERVAL} to ${MAX_INTERVAL}.`);
      return;
    }
    setError(null);
    ipc.setSyncInterval(minutes).then((sync) => {
      setOverview((previous) => ({ ...previous, sync }));
      setSaved(true);
    }, (failure: IpcError) => {
      if (failure.code === 'invalid_input') setError(failure.message);
      else reportError(failure);
    });
  };
  return (
    <section class="card" aria-labelledby="interval-heading">
      <h2 id="interval-heading">Automatic sync</h2>
      <form class="inline" noValidate onSubmit={save}>
        <label for="sync-interval">Sync every</label>
        <input id="sync-interval" type="number" min={MIN_INTERVAL} max={MAX_INTERVAL} step={1} value={value}
          aria-describedby={error ? 'sync-interval-error' : undefined} aria-invalid={error ? 'true' : undefined}
          onInput={(event) => { setSaved(false); setValue((event.currentTarget as HTMLInputElement).value); }} />
        <span>minutes</span>
        <button type="submit" id="save-interval">Save</button>
        {saved ? <span class="saved" id="interval-saved" role="status">Saved</span> : null}
      </form>
      {error ? <p class="field-error" id="sync-interval-error" role="alert">{error}</p> : null}
      <p class="hint">Between {MIN_INTERVAL} and {MAX_INTERVAL} minutes. Sync also runs when you press Sync now.</p>
    </section>
  );
}

/** Real time in words, and whether its changes become desktop notifications. */
function RealtimeSetting() {
  const { overview, setOverview, reportError } = useApp();
  const { realtime } = overview;
  const [fixed, setFixed] = useState(false);
  const toggle = (enabled: boolean) => {
    ipc.setNotifications(enabled).then(
      (now) => {
        // The switch saves the `notifications` setting; an environment variable can still fix it.
        setFixed(now !== enabled);
        setOverview((previous) => ({ ...previous, notificationsEnabled: now }));
      },
      (failure: IpcError) => reportError(failure),
    );
  };
  return (
    <section class="card" aria-labelledby="realtime-heading">
      <h2 id="realtime-heading">Real-time updates</h2>
      <p id="realtime-detail" data-state={realtime.state}>
        {realtime.state === 'live'
          ? 'Live: bookings, cancellations and reschedules appear here as they happen.'
          : realtime.state === 'connecting' ? 'Connecting…' : realtime.reason ?? 'Real-time updates are off.'}
      </p>
      <label class="checkbox">
        <input type="checkbox" id="notifications-enabled" checked={overview.notificationsEnabled}
          onChange={(event) => toggle((event.currentTarget as HTMLInputElement).checked)} />
        Show a desktop notification for new, canceled and rescheduled meetings
      </label>
      {fixed ? (
        <p class="hint" id="notifications-fixed" role="status">
          The environment variable <code>ADVICLY_NOTIFICATIONS</code> decides this while it is set; see Settings.
        </p>
      ) : null}
    </section>
  );
}
