// The sync card in the sidebar: real-time state, Sync button, progress while syncing, last result,
// next sync, and in the demo a button that makes its Calendly book a meeting.
import { useState } from 'preact/hooks';
import { ipc, type IpcError, type Overview, type Realtime, type SyncProgress } from '../ipc';
import { describeCounts, formatRelative, formatTime, plural } from '../format';
import { describeSyncFailure } from '../errors';
import { useApp } from '../context';

/** Share of invitee fetches done, or null while the total is not known yet. */
export function progressFraction(progress: SyncProgress | null): number | null {
  if (!progress) return null;
  const total = progress.invitees + progress.inviteesPending;
  if (total === 0) return null;
  return progress.invitees / total;
}

export function describeProgress(progress: SyncProgress | null): string {
  if (!progress) return 'Starting…';
  const parts = [plural(progress.events, 'meeting'), plural(progress.pages, 'page')];
  if (progress.invitees + progress.inviteesPending > 0) {
    parts.push(`${progress.invitees.toLocaleString()} of ${(progress.invitees + progress.inviteesPending).toLocaleString()} invitee lists`);
  }
  return parts.join(' · ');
}

/** A short status for when Sync cannot run (the sentence under the button says why). */
function blockedLabel(overview: Overview): string {
  if (!overview.online) return 'Offline';
  switch (overview.connection.state) {
    case 'needs_reconnect':
      return 'Paused until you reconnect';
    case 'connecting':
      return 'Connecting…';
    default:
      return 'Not connected';
  }
}

/** The real-time state in words, as the sync panel shows it. */
export function describeRealtime(realtime: Realtime): string {
  switch (realtime.state) {
    case 'live':
      return 'Live';
    case 'connecting':
      return 'Connecting to real-time updates…';
    case 'degraded':
      return realtime.reason ?? 'Real-time updates are interrupted; meetings still sync on the schedule.';
    case 'off':
      return realtime.reason ?? 'Real-time updates are off.';
  }
}

function RealtimeLine() {
  const { overview, now, zone } = useApp();
  const { realtime, connection } = overview;
  // Before any account is connected there is nothing to be live about.
  if (connection.state === 'disconnected' && realtime.state === 'off') return null;
  return (
    <div class="realtime" id="realtime-status" data-state={realtime.state} role="status" aria-live="polite">
      <span class={`realtime-dot realtime-${realtime.state}`} aria-hidden="true" />
      <span class="realtime-text" id="realtime-text">{describeRealtime(realtime)}</span>
      {realtime.state === 'live' && realtime.lastDeliveryAt ? (
        <span class="realtime-last" id="realtime-last"> · last change {formatRelative(realtime.lastDeliveryAt, now, zone)}</span>
      ) : null}
    </div>
  );
}

function SimulateBooking() {
  const { overview, reportError } = useApp();
  const [busy, setBusy] = useState(false);
  if (!overview.connection.demo) return null;
  const simulate = () => {
    setBusy(true);
    ipc.simulateBooking()
      .catch((error: IpcError) => reportError(error))
      .finally(() => setBusy(false));
  };
  return (
    <button type="button" id="simulate-booking" class="block" disabled={busy} onClick={simulate}>
      {busy ? 'Booking…' : 'Simulate a booking'}
    </button>
  );
}

export function SyncPanel() {
  const { overview, now, zone, syncFailure, syncNow, syncBlockedReason } = useApp();
  const { sync } = overview;
  const last = sync.lastSync;
  const fraction = progressFraction(sync.progress);
  const failed = Boolean(syncFailure || last?.error);
  const state = sync.running ? 'running' : syncBlockedReason ? 'blocked' : failed ? 'failed' : last ? 'idle' : 'never';
  const statusText = sync.running ? 'Syncing with Calendly…'
    : syncBlockedReason ? blockedLabel(overview)
      : failed ? 'Last sync failed'
        : last ? 'Up to date'
          : 'Not synced yet';

  return (
    <section class="sync-card" aria-labelledby="sync-heading">
      <h2 id="sync-heading" class="sync-heading">Sync</h2>
      <RealtimeLine />
      <p id="sync-status" class={`sync-status sync-${state}`} data-state={state} role="status" aria-live="polite">
        {statusText}
      </p>
      {sync.running ? (
        <div class="sync-progress-wrap">
          {fraction === null
            ? <progress id="sync-progress" aria-label="Sync progress" />
            : <progress id="sync-progress" aria-label="Sync progress" max={1} value={fraction} />}
          <p class="sync-progress-text" id="sync-progress-text">{describeProgress(sync.progress)}</p>
        </div>
      ) : null}
      <button type="button" id="sync-now" class="primary block" disabled={Boolean(syncBlockedReason) || sync.running}
        aria-describedby={syncBlockedReason ? 'sync-disabled-reason' : undefined} onClick={syncNow}>
        {sync.running ? 'Syncing…' : 'Sync now'}
      </button>
      {syncBlockedReason ? <p class="hint" id="sync-disabled-reason">{syncBlockedReason}</p> : null}
      <div id="last-sync-result" class="sync-result" data-failed={String(failed)}>
        {last ? (
          <>
            <p class="sync-result-when">
              Last sync {last.finishedAt ? formatRelative(last.finishedAt, now, zone) : formatRelative(last.startedAt, now, zone)}
              {last.kind === 'full' ? ' (full)' : ''}
            </p>
            <p class="sync-counts" id="last-sync-counts">{describeCounts(last.counts)}</p>
          </>
        ) : <p class="sync-result-when">No sync has run yet.</p>}
        {syncFailure ? (
          <p class="sync-error" id="last-sync-error" data-code={syncFailure.code}>{describeSyncFailure(syncFailure)}</p>
        ) : last?.error ? (
          <p class="sync-error" id="last-sync-error">The last sync did not finish: {last.error}</p>
        ) : null}
        {last?.warning ? <p class="sync-warning" id="last-sync-warning">{last.warning}</p> : null}
      </div>
      <p id="next-sync" class="hint">
        {sync.nextSyncAt && !syncBlockedReason
          ? `Next sync at ${formatTime(sync.nextSyncAt, zone)} (every ${sync.intervalMinutes} min)`
          : `Automatic sync every ${sync.intervalMinutes} min`}
      </p>
      <SimulateBooking />
    </section>
  );
}
