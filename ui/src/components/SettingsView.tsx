// The Settings screen: the OAuth client id, the relay, the sync interval and notifications — the
// same settings file `advicly config` reads and writes. Values an environment variable fixes are
// shown read-only; values that cannot be used are listed with what is wrong.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ipc, type IpcError, type Settings, type SettingsUpdate } from '../ipc';
import { useApp } from '../context';
import { MAX_INTERVAL, MIN_INTERVAL } from './ConnectionView';

const SOURCE_LABELS: Record<string, string> = {
  default: 'Default',
  built_in: 'Built into this app',
  file: 'Saved in Settings',
  environment: 'Set by the environment',
  flag: 'Set on the command line',
};

type Draft = { clientId: string; relayBase: string; syncIntervalMinutes: string; notifications: boolean };

function draftOf(settings: Settings): Draft {
  return {
    clientId: settings.clientId ?? '',
    relayBase: settings.relayBase ?? '',
    syncIntervalMinutes: String(settings.syncIntervalMinutes),
    notifications: settings.notifications,
  };
}

export function SettingsView() {
  const { reportError, refreshOverview, setOverview } = useApp();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ipc.getSettings().then((loaded) => {
      setSettings(loaded);
      setDraft(draftOf(loaded));
    }, (failure: IpcError) => reportError(failure));
  }, [reportError]);

  if (!settings || !draft) return <p class="subtle" id="settings-loading">Loading settings…</p>;

  const locked = (name: string) => settings.lockedBy[name] ?? null;
  const edit = (change: Partial<Draft>) => {
    setSaved(false);
    setDraft({ ...draft, ...change });
  };

  const save = (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const minutes = Number(draft.syncIntervalMinutes);
    if (!Number.isInteger(minutes) || minutes < MIN_INTERVAL || minutes > MAX_INTERVAL) {
      setError({ code: 'invalid_input', message: `The sync interval must be a whole number of minutes from ${MIN_INTERVAL} to ${MAX_INTERVAL}.` });
      return;
    }
    // Only what changed is sent, so a value fixed by the environment is never written over.
    const update: SettingsUpdate = {};
    if (!locked('client_id') && draft.clientId.trim() !== (settings.clientId ?? '')) update.clientId = draft.clientId.trim();
    if (!locked('relay_base') && draft.relayBase.trim() !== (settings.relayBase ?? '')) update.relayBase = draft.relayBase.trim();
    if (!locked('sync_interval_minutes') && minutes !== settings.syncIntervalMinutes) update.syncIntervalMinutes = minutes;
    if (!locked('notifications') && draft.notifications !== settings.notifications) update.notifications = draft.notifications;
    setBusy(true);
    setError(null);
    ipc.saveSettings(update).then((fresh) => {
      setSettings(fresh);
      setDraft(draftOf(fresh));
      setSaved(true);
      setOverview((previous) => ({ ...previous, sync: { ...previous.sync, intervalMinutes: fresh.syncIntervalMinutes } }));
      return refreshOverview();
    }, (failure: IpcError) => {
      if (failure.code === 'invalid_input') setError(failure);
      else reportError(failure);
    }).finally(() => setBusy(false));
  };

  return (
    <div class="settings-view">
      <header class="view-header">
        <div>
          <h1>Settings</h1>
          <p class="subtle">
            Shared with the <code>advicly</code> command line
            {settings.file ? <> in <span class="mono" id="settings-file">{settings.file}</span></> : null}.
          </p>
        </div>
      </header>
      {settings.problems.length > 0 ? (
        <div class="notice notice-warning" id="settings-problems" role="status">
          <p><strong>Some settings cannot be used and are ignored:</strong></p>
          <ul class="warnings">{settings.problems.map((problem, index) => <li key={index}>{problem}</li>)}</ul>
        </div>
      ) : null}
      <form class="card settings-form" noValidate onSubmit={save} aria-labelledby="settings-heading">
        <h2 id="settings-heading">Connection and sync</h2>
        <Field id="setting-client-id" label="Calendly OAuth client id" source={settings.sources.client_id} locked={locked('client_id')}
          hint="From your app registration in Calendly’s developer settings. Needed for Connect with Calendly.">
          <input id="setting-client-id" type="text" autoComplete="off" spellcheck={false} value={draft.clientId}
            disabled={locked('client_id') !== null} aria-describedby="setting-client-id-hint"
            onInput={(event) => edit({ clientId: (event.currentTarget as HTMLInputElement).value })} />
        </Field>
        <Field id="setting-relay-base" label="Relay address" source={settings.sources.relay_base} locked={locked('relay_base')}
          hint="Optional. The https address of an Advicly relay: it hands Calendly’s sign-in back to Advicly and brings bookings, cancellations and reschedules the moment they happen. Leave empty to return straight to the app and sync on the schedule only.">
          <input id="setting-relay-base" type="url" autoComplete="off" spellcheck={false} placeholder="https://relay.example.com"
            value={draft.relayBase} disabled={locked('relay_base') !== null} aria-describedby="setting-relay-base-hint"
            onInput={(event) => edit({ relayBase: (event.currentTarget as HTMLInputElement).value })} />
        </Field>
        <Field id="setting-sync-interval" label="Sync every (minutes)" source={settings.sources.sync_interval_minutes}
          locked={locked('sync_interval_minutes')} hint={`Between ${MIN_INTERVAL} and ${MAX_INTERVAL} minutes.`}>
          <input id="setting-sync-interval" type="number" min={MIN_INTERVAL} max={MAX_INTERVAL} step={1}
            value={draft.syncIntervalMinutes} disabled={locked('sync_interval_minutes') !== null}
            aria-describedby="setting-sync-interval-hint"
            onInput={(event) => edit({ syncIntervalMinutes: (event.currentTarget as HTMLInputElement).value })} />
        </Field>
        <Field id="setting-notifications" label="Notifications" source={settings.sources.notifications}
          locked={locked('notifications')} hint="A desktop notification when a meeting is booked, canceled or rescheduled.">
          <label class="checkbox">
            <input id="setting-notifications" type="checkbox" checked={draft.notifications}
              disabled={locked('notifications') !== null} aria-describedby="setting-notifications-hint"
              onChange={(event) => edit({ notifications: (event.currentTarget as HTMLInputElement).checked })} />
            Show desktop notifications
          </label>
        </Field>
        {error ? <p class="field-error" id="settings-error" role="alert" data-code={error.code}>{error.message}</p> : null}
        <div class="actions">
          <button type="submit" class="primary" id="save-settings" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
          {saved ? <span class="saved" id="settings-saved" role="status">Saved</span> : null}
        </div>
      </form>
    </div>
  );
}

function Field({ id, label, hint, source, locked, children }: {
  id: string; label: string; hint: string; source: string | undefined; locked: string | null; children: ComponentChildren;
}) {
  return (
    <div class="setting" data-source={source ?? 'default'}>
      <label for={id}>{label}</label>
      {children}
      <p class="hint" id={`${id}-hint`}>
        {hint}{' '}
        {locked ? <span class="setting-locked">Fixed by the environment variable <code>{locked}</code>; change it there.</span>
          : source && source !== 'default' ? <span class="setting-source">({SOURCE_LABELS[source] ?? source})</span> : null}
      </p>
    </div>
  );
}
