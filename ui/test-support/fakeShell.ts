// A stateful stand-in for the Tauri shell behind docs/ipc.md, installed with mockIPC. Used by the Vitest
// component tests and (bundled as browser/.build/harness.js) by the Chromium tests.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import type {
  Connection, DisconnectReport, ErrorCode, EventName, EventPayloads, IpcError, MeetingDetail, MeetingQuery,
  MeetingSummary, Overview, Realtime, Settings, SettingsUpdate, SyncCounts, SyncKind, SyncProgress, SyncStatus,
} from '../src/ipc';
import {
  ADVISOR, DEMO_ADVISOR, EVENT_TYPES, advisorMeetings, busyDayMeetings, clientDetailOf, clientsOf, dstWeekMeetings, manyMeetings,
  summaryOf,
} from './fixtures';

export type Scenario =
  | 'disconnected'
  | 'connected'
  | 'connected-empty'
  | 'needs-reconnect'
  | 'demo'
  | 'offline'
  | 'many'
  | 'disconnected-with-data'
  | 'busy-day'
  | 'dst-week';

export const SCENARIOS: Scenario[] = [
  'disconnected', 'connected', 'connected-empty', 'needs-reconnect', 'demo', 'offline', 'many', 'disconnected-with-data',
  'busy-day', 'dst-week',
];

/** Most a note may hold (as the shell enforces). */
export const MAX_NOTE_CHARS = 20_000;

export type FakeCall = { command: string; args: Record<string, unknown> | undefined };

const ZERO_COUNTS: SyncCounts = { created: 0, updated: 0, canceled: 0, restored: 0, deleted: 0, unchanged: 0 };
export const RECONNECT_REASON = 'Calendly refused to renew access (invalid_grant). Sign in again to continue syncing.';

function fail(code: ErrorCode, message: string): never {
  const error: IpcError = { code, message };
  throw error;
}

export class FakeShell {
  now: Date;
  connection: Connection;
  sync: SyncStatus;
  online: boolean;
  demoAvailable = true;
  realtime: Realtime = { state: 'live', reason: null, lastDeliveryAt: null, subscription: { uri: 'https://api.calendly.com/webhook_subscriptions/SUB', state: 'active' } };
  /** False: no OAuth client id is set (the demo and the token are still offered). */
  oauthAvailable = true;
  /** Whether Reconnect works with the saved sign-in (no browser), as the real shell tries first. */
  savedSignInWorks = false;
  settings: Settings = {
    clientId: 'registered-client', relayBase: null, syncIntervalMinutes: 15, notifications: true,
    sources: { client_id: 'file', relay_base: 'default', sync_interval_minutes: 'default', notifications: 'default' },
    lockedBy: {}, problems: [], file: '/home/advisor/.config/com.advicly.desktop/settings.toml',
  };
  /** Notifications follow the one `notifications` setting, as in the real shell. */
  get notificationsEnabled(): boolean { return this.settings.notifications; }
  meetings: MeetingDetail[];
  calls: FakeCall[] = [];
  /** Private notes by normalised e-mail. */
  notes = new Map<string, { body: string; updatedAt: string }>();
  /** The next call of a command rejects with this error (one shot). */
  failures = new Map<string, IpcError>();
  /** Commands whose answer is held until `release(command)` (to observe loading and waiting states). */
  held = new Map<string, { resolve: () => void }>();
  /** Complete the demo's OAuth flow by itself right after `start_demo` (as the real shell does). */
  autoCompleteDemo = true;
  /** Resolves a held `start_demo` once the test completes the demo's sign-in. */
  private demoStarted: (() => void) | null = null;
  private installed = false;

  constructor(scenario: Scenario = 'connected', now: Date = new Date()) {
    this.now = now;
    const lastSync = {
      kind: 'incremental' as SyncKind,
      startedAt: new Date(now.getTime() - 6 * 60_000).toISOString(),
      finishedAt: new Date(now.getTime() - 5 * 60_000).toISOString(),
      counts: { created: 3, updated: 2, canceled: 1, restored: 0, deleted: 1, unchanged: 11 },
      error: null,
    };
    this.sync = {
      running: false, progress: null, lastSync,
      nextSyncAt: new Date(now.getTime() + 10 * 60_000).toISOString(), intervalMinutes: 15,
    };
    this.online = true;
    this.meetings = advisorMeetings(now);
    this.connection = { state: 'connected', account: ADVISOR, reason: null, tokenExpiresAt: new Date(now.getTime() + 3600_000).toISOString(), demo: false };
    switch (scenario) {
      case 'disconnected':
        this.connection = { state: 'disconnected', account: null, reason: null, tokenExpiresAt: null, demo: false };
        this.meetings = [];
        this.sync = { ...this.sync, lastSync: null, nextSyncAt: null };
        break;
      case 'disconnected-with-data':
        this.connection = { state: 'disconnected', account: null, reason: null, tokenExpiresAt: null, demo: false };
        this.sync = { ...this.sync, nextSyncAt: null };
        break;
      case 'connected-empty':
        this.meetings = [];
        this.sync = { ...this.sync, lastSync: null };
        break;
      case 'needs-reconnect':
        this.connection = { ...this.connection, state: 'needs_reconnect', reason: RECONNECT_REASON, tokenExpiresAt: null };
        break;
      case 'demo':
        this.connection = { ...this.connection, account: DEMO_ADVISOR, demo: true };
        break;
      case 'offline':
        this.online = false;
        break;
      case 'many':
        this.meetings = manyMeetings(now, 10_000);
        break;
      case 'busy-day':
        this.meetings = [...busyDayMeetings(now), ...advisorMeetings(now).filter((item) => !item.uri.endsWith('UP01'))];
        break;
      case 'dst-week':
        this.meetings = [...dstWeekMeetings(), ...advisorMeetings(now)];
        break;
      case 'connected':
        break;
    }
  }

  /** Installs this fake as the IPC backend (events are mocked too, so `listen`/`emit` work). */
  install(): this {
    this.installed = true;
    mockIPC((command, args) => this.handle(command, args as Record<string, unknown> | undefined), { shouldMockEvents: true });
    return this;
  }

  uninstall(): void {
    this.installed = false;
    clearMocks();
  }

  emit<Name extends EventName>(name: Name, payload: EventPayloads[Name]): Promise<void> {
    // A timer may fire after a test has torn the mock down; there is nobody left to tell.
    if (!this.installed) return Promise.resolve();
    return emit(name, payload);
  }

  failNext(command: string, code: ErrorCode, message: string): void {
    this.failures.set(command, { code, message });
  }

  hold(command: string): void {
    this.held.set(command, { resolve: () => undefined });
  }

  release(command: string): void {
    const entry = this.held.get(command);
    this.held.delete(command);
    entry?.resolve();
  }

  callsOf(command: string): FakeCall[] {
    return this.calls.filter((call) => call.command === command);
  }

  overview(): Overview {
    return {
      connection: this.connection, sync: this.sync, online: this.online, demoAvailable: this.demoAvailable,
      oauthAvailable: this.oauthAvailable, meetingCount: this.meetings.length,
      realtime: this.realtime, notificationsEnabled: this.notificationsEnabled,
    };
  }

  async handle(command: string, args: Record<string, unknown> | undefined): Promise<unknown> {
    this.calls.push({ command, args });
    const held = this.held.get(command);
    if (held) await new Promise<void>((resolve) => { held.resolve = resolve; });
    const failure = this.failures.get(command);
    if (failure) {
      this.failures.delete(command);
      throw failure;
    }
    switch (command) {
      case 'get_overview':
        return this.overview();
      case 'get_start': {
        // As the engine: no agenda without any account (nothing is stored then).
        const agenda = this.connection.state === 'disconnected' && this.meetings.length === 0
          ? null : this.listMeetings(args?.agenda as MeetingQuery);
        return { overview: this.overview(), agenda };
      }
      case 'list_meetings':
        return this.listMeetings(args?.query as MeetingQuery);
      case 'get_meeting': {
        const found = this.meetings.find((item) => item.uri === args?.uri);
        return found ?? fail('not_found', 'That meeting is not stored on this computer.');
      }
      case 'list_clients':
        return clientsOf(this.meetings, this.now, this.notes);
      case 'get_client': {
        const detail = clientDetailOf(this.meetings, String(args?.email ?? ''), this.now, this.notes);
        return detail ?? fail('not_found', `The client ${String(args?.email ?? '')} was not found.`);
      }
      case 'set_client_note': {
        const email = String(args?.email ?? '').trim().toLowerCase();
        const body = String(args?.note ?? '');
        if (!clientsOf(this.meetings, this.now).some((client) => client.email === email)) {
          fail('not_found', `The client ${email} was not found.`);
        }
        if ([...body].length > MAX_NOTE_CHARS) fail('invalid_input', `A note can hold up to ${MAX_NOTE_CHARS} characters.`);
        if (body.trim() === '') {
          this.notes.delete(email);
          void this.emit('meetings-changed', null);
          return null;
        }
        const note = { body, updatedAt: this.now.toISOString() };
        this.notes.set(email, note);
        void this.emit('meetings-changed', null);
        return note;
      }
      case 'list_event_types':
        return EVENT_TYPES;
      case 'client_meetings': {
        const email = String(args?.email ?? '');
        const list = this.meetings.filter((item) => item.clientEmails.includes(email));
        if (list.length === 0) fail('not_found', `No client with the e-mail address ${email}.`);
        return list.map(summaryOf);
      }
      case 'sync_now':
        return this.syncNow();
      case 'connect_oauth':
        if (!this.online) fail('offline', 'Calendly cannot be reached. Check your internet connection.');
        if (!this.oauthAvailable) fail('oauth_failed', 'Signing in through the browser needs the OAuth client id of your Calendly app, and none is set.');
        if (this.savedSignInWorks && this.connection.state === 'needs_reconnect') {
          this.connection = { ...this.connection, state: 'connected', reason: null };
          setTimeout(() => void this.emit('connection-changed', this.connection), 0);
          return { browserOpened: false };
        }
        return { browserOpened: true };
      case 'get_settings':
        return this.settings;
      case 'save_settings':
        return this.saveSettings((args?.update ?? {}) as SettingsUpdate);
      case 'connect_token':
        return this.connectToken(String(args?.token ?? ''));
      case 'start_demo':
        // The real shell answers only once the demo is connected (its connection-changed comes first).
        if (this.autoCompleteDemo) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          await this.completeOauth({ demo: true });
        } else {
          await new Promise<void>((resolve) => { this.demoStarted = resolve; });
        }
        return null;
      case 'disconnect':
        return this.disconnect(Boolean(args?.wipe));
      case 'set_sync_interval': {
        const minutes = Number(args?.minutes);
        if (!Number.isInteger(minutes) || minutes < 5 || minutes > 60) {
          fail('invalid_input', `The sync interval must be between 5 and 60 minutes, not ${String(args?.minutes)}.`);
        }
        this.sync = { ...this.sync, intervalMinutes: minutes, nextSyncAt: new Date(this.now.getTime() + minutes * 60_000).toISOString() };
        return this.sync;
      }
      case 'open_join_link': {
        const found = this.meetings.find((item) => item.uri === args?.uri);
        if (!found) fail('not_found', 'That meeting is not stored on this computer.');
        if (!found.joinUrl) fail('invalid_input', 'This meeting has no join link.');
        return null;
      }
      case 'simulate_booking':
        if (!this.connection.demo) fail('invalid_input', 'Simulating a booking only works in the demo.');
        return null;
      case 'set_notifications':
        // Like the real shell: the switch writes the settings file's `notifications`, and an
        // environment variable that fixes it still wins.
        if (!this.settings.lockedBy.notifications) this.saveSettings({ notifications: Boolean(args?.enabled) });
        return this.notificationsEnabled;
      default:
        return fail('internal', `The fake shell does not know the command ${command}.`);
    }
  }

  listMeetings(query: MeetingQuery): MeetingSummary[] {
    const needle = query.search?.trim().toLowerCase() ?? '';
    const now = this.now.getTime();
    // The core's list order: meetings that have not ended, soonest first, then past ones, latest first.
    const listOrder = (a: MeetingSummary, b: MeetingSummary) => {
      const aUpcoming = Date.parse(a.endTime) > now;
      const bUpcoming = Date.parse(b.endTime) > now;
      if (aUpcoming !== bUpcoming) return aUpcoming ? -1 : 1;
      const byStart = Date.parse(a.startTime) - Date.parse(b.startTime);
      return aUpcoming ? byStart : -byStart;
    };
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    return this.meetings.filter((item) => {
      switch (query.status) {
        case 'upcoming':
          if (!(Date.parse(item.endTime) > now && item.status === 'active' && !item.deleted)) return false;
          break;
        case 'active':
          if (item.status !== 'active' || item.deleted) return false;
          break;
        case 'canceled':
          if (item.status !== 'canceled' || item.deleted) return false;
          break;
        case 'deleted':
          if (!item.deleted) return false;
          break;
        case 'all':
          break;
      }
      if (query.clientEmail && !item.clientEmails.includes(query.clientEmail)) return false;
      if (query.from && Date.parse(item.startTime) < Date.parse(query.from)) return false;
      if (query.to && Date.parse(item.startTime) >= Date.parse(query.to)) return false;
      if (needle === '') return true;
      const haystack = [
        item.name ?? '', item.canceledReason ?? '',
        ...item.clientEmails.map((email) => this.notes.get(email.toLowerCase())?.body ?? ''),
        ...item.invitees.flatMap((person) => [person.name, person.email, ...person.questionsAndAnswers.map((qa) => qa.answer)]),
      ].join('\n').toLowerCase();
      return haystack.includes(needle);
    }).map(summaryOf).sort(listOrder).slice(0, limit);
  }

  syncNow(): null {
    if (!this.online) fail('offline', 'Calendly cannot be reached. Check your internet connection.');
    if (this.connection.state === 'disconnected') fail('not_connected', 'No Calendly account is connected.');
    if (this.connection.state === 'needs_reconnect') fail('needs_reconnect', RECONNECT_REASON);
    if (!this.sync.running) setTimeout(() => void this.startSync('incremental'), 0);
    return null;
  }

  // ---- Controls the tests drive -------------------------------------------------------------

  async startSync(kind: SyncKind = 'incremental'): Promise<void> {
    this.sync = { ...this.sync, running: true, progress: null };
    await this.emit('sync-started', { kind });
  }

  async progress(progress: SyncProgress): Promise<void> {
    this.sync = { ...this.sync, running: true, progress };
    await this.emit('sync-progress', progress);
  }

  async finishSync(counts: Partial<SyncCounts> = {}): Promise<void> {
    const finishedAt = this.now.toISOString();
    this.sync = {
      ...this.sync, running: false, progress: null,
      lastSync: { kind: 'incremental', startedAt: finishedAt, finishedAt, counts: { ...ZERO_COUNTS, ...counts }, error: null },
    };
    await this.emit('sync-finished', this.sync);
    await this.emit('meetings-changed', null);
  }

  async failSync(code: ErrorCode, message: string): Promise<void> {
    const at = this.now.toISOString();
    this.sync = {
      ...this.sync, running: false, progress: null,
      lastSync: { kind: 'incremental', startedAt: at, finishedAt: at, counts: ZERO_COUNTS, error: message },
    };
    await this.emit('sync-failed', { code, message, sync: this.sync });
  }

  async setOnline(online: boolean): Promise<void> {
    this.online = online;
    await this.emit('network-changed', { online });
  }

  async completeOauth({ demo = false } = {}): Promise<void> {
    this.connection = {
      state: 'connected', account: demo ? DEMO_ADVISOR : ADVISOR, reason: null,
      tokenExpiresAt: new Date(this.now.getTime() + 7200_000).toISOString(), demo,
    };
    if (this.meetings.length === 0) this.meetings = advisorMeetings(this.now);
    await this.emit('connection-changed', this.connection);
    await this.emit('meetings-changed', null);
    this.demoStarted?.();
    this.demoStarted = null;
  }

  async denyOauth(reason = 'You declined access in Calendly, so Advicly was not connected.'): Promise<void> {
    this.connection = { state: 'disconnected', account: null, reason, tokenExpiresAt: null, demo: false };
    await this.emit('connection-changed', this.connection);
  }

  async loseAccess(reason = RECONNECT_REASON): Promise<void> {
    this.connection = { ...this.connection, state: 'needs_reconnect', reason };
    await this.emit('connection-changed', this.connection);
  }

  async setRealtime(realtime: Realtime): Promise<void> {
    this.realtime = realtime;
    await this.emit('realtime-changed', realtime);
  }

  async addMeeting(detail: MeetingDetail): Promise<void> {
    this.meetings = [...this.meetings, detail];
    await this.emit('meetings-changed', null);
  }

  connectToken(token: string): Connection {
    if (!this.online) fail('offline', 'Calendly cannot be reached. Check your internet connection.');
    if (!token.startsWith('pat_')) fail('invalid_token', 'Calendly did not accept this token. Check that you copied all of it.');
    this.connection = { state: 'connected', account: ADVISOR, reason: null, tokenExpiresAt: null, demo: false };
    if (this.meetings.length === 0) this.meetings = advisorMeetings(this.now);
    return this.connection;
  }

  saveSettings(update: SettingsUpdate): Settings {
    if (update.relayBase && !update.relayBase.startsWith('https://')) {
      fail('invalid_input', `The setting relay_base must use https, so that a sign-in is never sent unencrypted (got "${update.relayBase}").`);
    }
    if (update.syncIntervalMinutes !== undefined && (update.syncIntervalMinutes < 5 || update.syncIntervalMinutes > 60)) {
      fail('invalid_input', 'The setting sync_interval_minutes must be a whole number of minutes from 5 to 60.');
    }
    const next = { ...this.settings, sources: { ...this.settings.sources } };
    if (update.clientId !== undefined) {
      next.clientId = update.clientId === '' ? null : update.clientId;
      next.sources.client_id = update.clientId === '' ? 'default' : 'file';
      this.oauthAvailable = next.clientId !== null;
      this.demoAvailable = !this.oauthAvailable;
    }
    if (update.relayBase !== undefined) {
      next.relayBase = update.relayBase === '' ? null : update.relayBase;
      next.sources.relay_base = update.relayBase === '' ? 'default' : 'file';
    }
    if (update.syncIntervalMinutes !== undefined) {
      next.syncIntervalMinutes = update.syncIntervalMinutes;
      next.sources.sync_interval_minutes = 'file';
      this.sync = { ...this.sync, intervalMinutes: update.syncIntervalMinutes };
    }
    if (update.notifications !== undefined) {
      next.notifications = update.notifications;
      next.sources.notifications = 'file';
    }
    this.settings = next;
    return next;
  }

  disconnect(wipe: boolean): DisconnectReport {
    this.connection = { state: 'disconnected', account: null, reason: null, tokenExpiresAt: null, demo: false };
    if (wipe) {
      this.meetings = [];
      this.sync = { ...this.sync, lastSync: null };
    }
    this.sync = { ...this.sync, nextSyncAt: null };
    setTimeout(() => void this.emit('connection-changed', this.connection), 0);
    return { subscriptionsDeleted: 1, tokensRevoked: true, warnings: [], wiped: wipe };
  }
}
