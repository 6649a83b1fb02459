// The UI side of the IPC contract in docs/ipc.md: DTO types, typed command wrappers and event listeners.
// Everything the UI says to the Tauri shell goes through this module; nothing else imports @tauri-apps/api.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

// ---- Errors ----------------------------------------------------------------------------------

export const ERROR_CODES = [
  'not_connected',
  'needs_reconnect',
  'offline',
  'keychain_unavailable',
  'oauth_denied',
  'oauth_failed',
  'invalid_token',
  'invalid_input',
  'not_found',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every command rejects with this shape; the UI branches on `code` only and shows `message` as text. */
export type IpcError = { code: ErrorCode; message: string };

/** Turns whatever a command rejected with into an `IpcError` (unknown shapes and codes become `internal`). */
export function toIpcError(rejection: unknown): IpcError {
  if (rejection !== null && typeof rejection === 'object' && 'code' in rejection) {
    const raw = rejection as { code: unknown; message?: unknown };
    const code = typeof raw.code === 'string' && (ERROR_CODES as readonly string[]).includes(raw.code)
      ? (raw.code as ErrorCode)
      : 'internal';
    const message = typeof raw.message === 'string' && raw.message !== '' ? raw.message : 'Something went wrong.';
    return { code, message };
  }
  if (rejection instanceof Error) return { code: 'internal', message: rejection.message };
  if (typeof rejection === 'string' && rejection !== '') return { code: 'internal', message: rejection };
  return { code: 'internal', message: 'Something went wrong.' };
}

export function isIpcError(value: unknown): value is IpcError {
  return value !== null && typeof value === 'object' && 'code' in value && 'message' in value
    && (ERROR_CODES as readonly string[]).includes((value as IpcError).code);
}

// ---- DTOs (field names exactly as on the wire) ------------------------------------------------

export type MeetingStatusFilter = 'upcoming' | 'all' | 'active' | 'canceled' | 'deleted';
export type MeetingQuery = {
  search: string | null;
  status: MeetingStatusFilter;
  from: string | null;
  to: string | null;
  clientEmail: string | null;
  /** At most this many meetings, in list order (upcoming first, then past); absent or null means all. */
  limit?: number | null;
};
export type InviteeSummary = { name: string; email: string; status: string };
export type MeetingSummary = {
  uri: string;
  name: string | null;
  /** "active" | "canceled" | an unknown value verbatim. */
  status: string;
  startTime: string;
  endTime: string;
  /** The event type's URI: for matching only, never shown to the advisor. */
  eventType: string | null;
  /** The event type's name and `#rrggbb` colour; null until the shell has listed the event types. */
  eventTypeName: string | null;
  eventTypeColor: string | null;
  locationKind: string | null;
  joinUrl: string | null;
  canceledReason: string | null;
  canceledBy: string | null;
  rescheduledFrom: string | null;
  rescheduledTo: string | null;
  rescheduledToStart: string | null;
  /** Invitees who rescheduled away, of `inviteeCount` (reschedules belong to invitees). */
  movedInvitees?: number;
  inviteeCount?: number;
  /** "1 of 3 moved" when some, not all, invitees rescheduled. */
  rescheduleNote?: string | null;
  /** Why this meeting's invitees could not be read from Calendly last time. */
  readError?: string | null;
  deleted: boolean;
  invitees: InviteeSummary[];
  clientEmails: string[];
};
export type QuestionAnswer = { question: string; answer: string };
export type InviteeDetail = InviteeSummary & {
  uri: string;
  timezone: string | null;
  questionsAndAnswers: QuestionAnswer[];
  noShow: boolean;
  canceledReason: string | null;
  /** This invitee's reschedule links (meeting URIs). */
  rescheduledTo?: string | null;
  rescheduledToStart?: string | null;
  rescheduledFrom?: string | null;
};
export type MeetingDetail = Omit<MeetingSummary, 'invitees'> & {
  locationDetail: string | null;
  invitees: InviteeDetail[];
  createdAt: string;
  updatedAt: string;
  lastChangeSource: 'poll' | 'webhook';
};
export type ClientSummary = {
  email: string;
  name: string;
  meetingCount: number;
  nextMeeting: string | null;
  lastMeeting: string | null;
  canceledMeetingCount: number;
  /** The advisor's private note (stored only on this computer). */
  note: string | null;
};
export type ClientNote = { body: string; updatedAt: string };
export type ClientAnswer = {
  meetingUri: string;
  meetingName: string | null;
  meetingStart: string;
  answeredAt: string;
  question: string;
  answer: string;
};
export type ClientDetail = {
  client: ClientSummary;
  emails: string[];
  /** Newest start first, deleted ones included. */
  meetings: MeetingSummary[];
  /** Newest booking first. */
  answers: ClientAnswer[];
  note: ClientNote | null;
};
export type EventType = {
  uri: string;
  name: string | null;
  durationMinutes: number | null;
  color: string | null;
  kind: string | null;
  schedulingUrl: string | null;
  active: boolean;
};
export type Account = {
  email: string;
  name: string;
  userUri: string;
  timezone: string | null;
  schedulingUrl: string | null;
};
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'needs_reconnect';
export type Connection = {
  state: ConnectionState;
  account: Account | null;
  reason: string | null;
  tokenExpiresAt: string | null;
  demo: boolean;
  /** While Calendly's sign-in service fails (the account stays connected): when it is retried. */
  signInRetryAt?: string | null;
  /** What the sign-in service's last failure was, in plain words. */
  signInProblem?: string | null;
};
export type SyncCounts = {
  created: number;
  updated: number;
  canceled: number;
  restored: number;
  deleted: number;
  unchanged: number;
};
export type SyncKind = 'full' | 'incremental';
export type LastSync = {
  kind: SyncKind;
  startedAt: string;
  finishedAt: string | null;
  counts: SyncCounts;
  error: string | null;
  /** "1 meeting could not be read from Calendly: …" while that holds (the sync succeeded). */
  warning?: string | null;
};
export type SyncProgress = { pages: number; events: number; invitees: number; inviteesPending: number };
export type SyncStatus = {
  running: boolean;
  progress: SyncProgress | null;
  lastSync: LastSync | null;
  nextSyncAt: string | null;
  intervalMinutes: number;
};
export type RealtimeState = 'off' | 'connecting' | 'live' | 'degraded';
export type Realtime = {
  state: RealtimeState;
  /** A sentence for the advisor when the state is not `live`. */
  reason: string | null;
  lastDeliveryAt: string | null;
  subscription: { uri: string; state: string } | null;
};
export type Overview = {
  connection: Connection;
  sync: SyncStatus;
  online: boolean;
  demoAvailable: boolean;
  /** False when no OAuth client id is set: Connect with Calendly explains how to set one. */
  oauthAvailable?: boolean;
  meetingCount: number;
  realtime: Realtime;
  notificationsEnabled: boolean;
};
/** `connect_oauth`: false when the saved sign-in still worked and no browser was needed. */
export type ConnectOutcome = { browserOpened: boolean };
export type SettingSource = 'default' | 'built_in' | 'file' | 'environment' | 'flag';
/** The Settings screen's values, shared with `advicly config`. */
export type Settings = {
  clientId: string | null;
  relayBase: string | null;
  syncIntervalMinutes: number;
  notifications: boolean;
  /** Per setting name: `client_id`, `relay_base`, `sync_interval_minutes`, `notifications`. */
  sources: Record<string, SettingSource>;
  /** Settings an environment variable fixes (name → variable). */
  lockedBy: Record<string, string>;
  /** Ignored values, one sentence each naming the setting. */
  problems: string[];
  file: string | null;
};
/** Only the fields present change; an empty text removes that setting. */
export type SettingsUpdate = {
  clientId?: string;
  relayBase?: string;
  syncIntervalMinutes?: number;
  notifications?: boolean;
};
export type StartData = { overview: Overview; agenda: MeetingSummary[] | null };
export type DisconnectReport = {
  subscriptionsDeleted: number;
  tokensRevoked: boolean;
  warnings: string[];
  wiped: boolean;
};

// ---- Commands ----------------------------------------------------------------------------------

/** Calls a command and normalises any rejection into an `IpcError`. */
async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (rejection) {
    throw toIpcError(rejection);
  }
}

export const ipc = {
  getOverview: () => call<Overview>('get_overview'),
  /** The first request: the overview and the agenda in one round trip (`agenda` null without an account). */
  getStart: (agenda: MeetingQuery) => call<StartData>('get_start', { agenda }),
  listMeetings: (query: MeetingQuery) => call<MeetingSummary[]>('list_meetings', { query }),
  getMeeting: (uri: string) => call<MeetingDetail>('get_meeting', { uri }),
  listClients: () => call<ClientSummary[]>('list_clients'),
  clientMeetings: (email: string) => call<MeetingSummary[]>('client_meetings', { email }),
  getClient: (email: string) => call<ClientDetail>('get_client', { email }),
  setClientNote: (email: string, note: string) => call<ClientNote | null>('set_client_note', { email, note }),
  listEventTypes: () => call<EventType[]>('list_event_types'),
  syncNow: () => call<null>('sync_now'),
  connectOauth: () => call<ConnectOutcome>('connect_oauth'),
  connectToken: (token: string) => call<Connection>('connect_token', { token }),
  startDemo: () => call<null>('start_demo'),
  disconnect: (wipe: boolean) => call<DisconnectReport>('disconnect', { wipe }),
  setSyncInterval: (minutes: number) => call<SyncStatus>('set_sync_interval', { minutes }),
  openJoinLink: (uri: string) => call<null>('open_join_link', { uri }),
  simulateBooking: () => call<null>('simulate_booking'),
  setNotifications: (enabled: boolean) => call<boolean>('set_notifications', { enabled }),
  getSettings: () => call<Settings>('get_settings'),
  saveSettings: (update: SettingsUpdate) => call<Settings>('save_settings', { update }),
};
export type Ipc = typeof ipc;

// ---- Events ------------------------------------------------------------------------------------

export type SyncFailedPayload = { code: ErrorCode; message: string; sync: SyncStatus };
export type EventPayloads = {
  'meetings-changed': null;
  'sync-started': { kind: SyncKind };
  'sync-progress': SyncProgress;
  'sync-finished': SyncStatus;
  'sync-failed': SyncFailedPayload;
  'connection-changed': Connection;
  'network-changed': { online: boolean };
  'realtime-changed': Realtime;
};
export type EventName = keyof EventPayloads;
export type EventHandlers = { [Name in EventName]: (payload: EventPayloads[Name]) => void };

/** Subscribes to every shell event at once; resolves to a function that unsubscribes them all. */
export async function listenAll(handlers: EventHandlers): Promise<() => void> {
  const names = Object.keys(handlers) as EventName[];
  const unlisteners: UnlistenFn[] = await Promise.all(
    names.map((name) => listen(name, (event) => (handlers[name] as (payload: unknown) => void)(event.payload))),
  );
  return () =>
    unlisteners.forEach((unlisten) => {
      // Unsubscribing is asynchronous and fails once the event bridge is gone (the window is closing);
      // then nothing is listening any more, so the failure is dropped instead of surfacing as unhandled.
      Promise.resolve(unlisten() as unknown).catch(() => undefined);
    });
}
