// Time formatting and meeting grouping in the advisor's local time zone (pure functions, no DOM).
import type { MeetingSummary, SyncCounts } from './ipc';

/** The time zone and locale every date on screen is shown in. */
export type Zone = { timeZone: string; locale: string | undefined };

export function systemZone(): Zone {
  return { timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', locale: undefined };
}

/**
 * Milliseconds of an RFC 3339 instant from the shell. chrono may send up to nine fractional digits; they
 * are cut to three first, because not every webview's Date parser accepts more.
 */
export function instantMs(instant: string): number {
  return Date.parse(instant.replace(/(\.\d{3})\d+/, '$1'));
}

export function toDate(instant: string): Date {
  return new Date(instantMs(instant));
}

const formatterCache = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: Zone, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${zone.locale ?? ''}|${zone.timeZone}|${JSON.stringify(options)}`;
  let cached = formatterCache.get(key);
  if (!cached) {
    cached = new Intl.DateTimeFormat(zone.locale, { ...options, timeZone: zone.timeZone });
    formatterCache.set(key, cached);
  }
  return cached;
}

/** Calendar day of an instant in the zone, as `YYYY-MM-DD` (used as the group key). */
const dayKeyCache = new Map<string, string>();
export function dayKey(instant: string | Date, zone: Zone): string {
  // Regrouping 10,000 meetings on every clock tick would otherwise re-run Intl for each of them.
  const cacheKey = typeof instant === 'string' ? `${zone.timeZone}|${instant}` : null;
  if (cacheKey) {
    const cached = dayKeyCache.get(cacheKey);
    if (cached) return cached;
  }
  const key = computeDayKey(instant, zone);
  if (cacheKey) {
    if (dayKeyCache.size > 50_000) dayKeyCache.clear();
    dayKeyCache.set(cacheKey, key);
  }
  return key;
}

function computeDayKey(instant: string | Date, zone: Zone): string {
  const date = typeof instant === 'string' ? toDate(instant) : instant;
  const parts = formatter({ timeZone: zone.timeZone, locale: 'en-US' }, {
    year: 'numeric', month: '2-digit', day: '2-digit',
  }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** Adds whole days to a `YYYY-MM-DD` key (calendar arithmetic, independent of time zones). */
export function shiftDayKey(key: string, days: number): string {
  const [year, month, day] = key.split('-').map(Number);
  const shifted = new Date(Date.UTC(year, month - 1, day + days));
  return shifted.toISOString().slice(0, 10);
}

/** "Today · Saturday, 21 November 2026"-style heading for a day key. */
export function dayLabel(key: string, now: Date, zone: Zone): string {
  const [year, month, day] = key.split('-').map(Number);
  // Noon UTC of that calendar date, formatted in UTC, names the same calendar date in any locale.
  const noon = new Date(Date.UTC(year, month - 1, day, 12));
  const full = formatter({ timeZone: 'UTC', locale: zone.locale }, {
    weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
  }).format(noon);
  const today = dayKey(now, zone);
  const relative = key === today ? 'Today'
    : key === shiftDayKey(today, 1) ? 'Tomorrow'
      : key === shiftDayKey(today, -1) ? 'Yesterday'
        : null;
  return relative ? `${relative} · ${full}` : full;
}

export function formatTime(instant: string, zone: Zone): string {
  return formatter(zone, { hour: '2-digit', minute: '2-digit' }).format(toDate(instant));
}

export function formatDate(instant: string, zone: Zone): string {
  return formatter(zone, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(toDate(instant));
}

export function formatDateTime(instant: string, zone: Zone): string {
  return formatter(zone, {
    weekday: 'short', day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit',
  }).format(toDate(instant));
}

export function formatLongDate(instant: string, zone: Zone): string {
  return formatter(zone, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(toDate(instant));
}

/** "30 min", "1 h", "1 h 15 min". */
export function formatDuration(startTime: string, endTime: string): string {
  const minutes = Math.max(0, Math.round((instantMs(endTime) - instantMs(startTime)) / 60_000));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** "just now", "5 min ago", "in 10 min", "3 h ago", else a date and time. */
export function formatRelative(instant: string, now: Date, zone: Zone): string {
  const deltaMinutes = Math.round((instantMs(instant) - now.getTime()) / 60_000);
  const magnitude = Math.abs(deltaMinutes);
  if (magnitude < 1) return 'just now';
  if (magnitude < 60) return deltaMinutes < 0 ? `${magnitude} min ago` : `in ${magnitude} min`;
  if (magnitude < 60 * 12) {
    const hours = Math.round(magnitude / 60);
    return deltaMinutes < 0 ? `${hours} h ago` : `in ${hours} h`;
  }
  return formatDateTime(instant, zone);
}

/** A meeting is upcoming until it has ended, so a meeting in progress stays at the top. */
export function isUpcoming(meeting: MeetingSummary, now: Date): boolean {
  return instantMs(meeting.endTime) > now.getTime();
}

export type Section = 'upcoming' | 'past';
export type MeetingGroup = {
  section: Section;
  dayKey: string;
  label: string;
  meetings: MeetingSummary[];
};

/**
 * Upcoming meetings first (soonest first), then past meetings (most recent first), grouped by the
 * calendar day of their start in the advisor's zone.
 */
export function groupMeetings(meetings: readonly MeetingSummary[], now: Date, zone: Zone): MeetingGroup[] {
  // Parse each time once; sorting 10,000 meetings would otherwise parse them a quarter of a million times.
  type Keyed = { meeting: MeetingSummary; start: number };
  const upcomingKeyed: Keyed[] = [];
  const pastKeyed: Keyed[] = [];
  const nowMs = now.getTime();
  for (const meeting of meetings) {
    (instantMs(meeting.endTime) > nowMs ? upcomingKeyed : pastKeyed).push({ meeting, start: instantMs(meeting.startTime) });
  }
  const byUri = (a: Keyed, b: Keyed) => (a.meeting.uri < b.meeting.uri ? -1 : a.meeting.uri > b.meeting.uri ? 1 : 0);
  upcomingKeyed.sort((a, b) => a.start - b.start || byUri(a, b));
  pastKeyed.sort((a, b) => b.start - a.start || byUri(a, b));
  const upcoming = upcomingKeyed.map((entry) => entry.meeting);
  const past = pastKeyed.map((entry) => entry.meeting);

  const groups: MeetingGroup[] = [];
  const append = (section: Section, list: MeetingSummary[]) => {
    let current: MeetingGroup | null = null;
    for (const meeting of list) {
      const key = dayKey(meeting.startTime, zone);
      if (!current || current.dayKey !== key) {
        current = { section, dayKey: key, label: dayLabel(key, now, zone), meetings: [] };
        groups.push(current);
      }
      current.meetings.push(meeting);
    }
  };
  append('upcoming', upcoming);
  append('past', past);
  return groups;
}

/** "3 new · 2 updated · 1 canceled · 0 restored · 0 deleted". */
export function describeCounts(counts: SyncCounts): string {
  return [
    `${counts.created} new`,
    `${counts.updated} updated`,
    `${counts.canceled} canceled`,
    `${counts.restored} restored`,
    `${counts.deleted} deleted`,
  ].join(' · ');
}

export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? singular : pluralForm}`;
}
