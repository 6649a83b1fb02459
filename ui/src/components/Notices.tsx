// App-wide notices: the error banner, the offline notice, the sign-in outage and the reconnect notice.
import type { IpcError } from '../ipc';
import { bannerTitle } from '../errors';
import { formatTime } from '../format';
import { useApp } from '../context';

export function ErrorBanner({ error, onDismiss }: { error: IpcError | null; onDismiss: () => void }) {
  if (!error) return null;
  return (
    <div class="error-banner" id="error-banner" role="alert" data-code={error.code}>
      <div>
        <strong>{bannerTitle(error.code)}.</strong> <span id="error-banner-message">{error.message}</span>
      </div>
      <button type="button" class="ghost" id="dismiss-error" onClick={onDismiss} aria-label="Dismiss">Dismiss</button>
    </div>
  );
}

/** `onConnectionScreen`: the reconnect notice is left out there, as that screen says it in full. */
export function Notices({ onConnectionScreen }: { onConnectionScreen: boolean }) {
  const { overview, goTo, zone } = useApp();
  const { connection } = overview;
  return (
    <>
      {!overview.online ? (
        <div class="notice notice-offline" id="offline-notice" role="status">
          <strong>You are offline.</strong> The meetings saved on this computer are still here; syncing with
          Calendly resumes when the network is back.
        </div>
      ) : null}
      {connection.state === 'connected' && connection.signInRetryAt ? (
        <div class="notice notice-info" id="sign-in-outage-notice" role="status">
          <strong>Calendly’s sign-in service is not answering; retrying at {formatTime(connection.signInRetryAt, zone)}.</strong>{' '}
          You stay connected and your meetings are here; nothing needs doing.
        </div>
      ) : null}
      {connection.state === 'needs_reconnect' && !onConnectionScreen ? (
        <div class="notice notice-warning" id="reconnect-notice" role="status">
          <span>
            <strong>Sign in to Calendly again to keep syncing.</strong>{' '}
            {connection.reason ? <span>{connection.reason}</span> : null}
          </span>
          <button type="button" class="small" onClick={() => goTo('connection')}>Reconnect…</button>
        </div>
      ) : null}
    </>
  );
}
