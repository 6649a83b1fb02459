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

// ---- Calendar arithmetic in the advisor's zone (DST-correct) ------------------------------------

export type WallClock = { dayKey: string; hour: number; minute: number };

/** The wall-clock date and time of an instant in the zone. */
export function wallClock(instant: Date, zone: Zone): WallClock {
  const parts = formatter({ timeZone: zone.timeZone, locale: 'en-US' }, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
  return {
    dayKey: `${part('year')}-${part('month')}-${part('day')}`,
    hour: Number(part('hour')) % 24,
    minute: Number(part('minute')),
  };
}

/** Milliseconds the zone is ahead of UTC at `instantMs`. */
function zoneOffsetMs(instant: number, zone: Zone): number {
  const clock = wallClock(new Date(instant), zone);
  const [year, month, day] = clock.dayKey.split('-').map(Number);
  const asUtc = Date.UTC(year, month - 1, day, clock.hour, clock.minute);
  return asUtc - Math.floor(instant / 60_000) * 60_000;
}

/**
 * The first instant of the calendar day `key` in the zone. Days are not 24 hours long where the clocks
 * change: a day's start is found from the zone's offset at that moment, never by adding 24 h.
 */
export function startOfDay(key: string, zone: Zone): Date {
  const [year, month, day] = key.split('-').map(Number);
  const midnightAsUtc = Date.UTC(year, month - 1, day);
  let guess = midnightAsUtc;
  for (let step = 0; step < 3; step++) {
    const next = midnightAsUtc - zoneOffsetMs(guess, zone);
    if (next === guess) break;
    guess = next;
  }
  // Where midnight does not exist (the clocks jump at 00:00), the day starts at the first hour after it.
  for (let step = 0; step < 4 && dayKey(new Date(guess), zone) < key; step++) guess += 30 * 60_000;
  while (dayKey(new Date(guess - 30 * 60_000), zone) === key) guess -= 30 * 60_000;
  return new Date(guess);
}

/** Day of the week of a day key: 0 = Sunday … 6 = Saturday. */
export function weekday(key: string): number {
  const [year, month, day] = key.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/** The first day of the locale's week (1 = Monday, 7 = Sunday, as Intl.Locale#weekInfo says). */
export function firstDayOfWeek(zone: Zone): number {
  try {
    const locale = new Intl.Locale(zone.locale ?? Intl.DateTimeFormat().resolvedOptions().locale) as Intl.Locale & {
      weekInfo?: { firstDay: number }; getWeekInfo?: () => { firstDay: number };
    };
    const info = locale.getWeekInfo?.() ?? locale.weekInfo;
    if (info && info.firstDay >= 1 && info.firstDay <= 7) return info.firstDay;
  } catch {
    // Fall through to Monday, the ISO week.
  }
  return 1;
}

/** The key of the first day of the week holding `key`. */
export function weekStartKey(key: string, firstDay: number): string {
  const offset = (weekday(key) - (firstDay % 7) + 7) % 7;
  return shiftDayKey(key, -offset);
}

/** "Mon 23", for column headings. */
export function shortDayLabel(key: string, zone: Zone): string {
  const [year, month, day] = key.split('-').map(Number);
  return formatter({ timeZone: 'UTC', locale: zone.locale }, { weekday: 'short', day: 'numeric' })
    .format(new Date(Date.UTC(year, month - 1, day, 12)));
}

/** "Monday 23 November", for headings and labels. */
export function longDayLabel(key: string, zone: Zone): string {
  const [year, month, day] = key.split('-').map(Number);
  return formatter({ timeZone: 'UTC', locale: zone.locale }, { weekday: 'long', day: 'numeric', month: 'long' })
    .format(new Date(Date.UTC(year, month - 1, day, 12)));
}

/** "23–29 November 2026" (or across months/years) for a week starting at `key`. */
export function weekRangeLabel(key: string, zone: Zone): string {
  const [year, month, day] = key.split('-').map(Number);
  const first = new Date(Date.UTC(year, month - 1, day, 12));
  const last = new Date(first.getTime() + 6 * 86_400_000);
  const range = formatter({ timeZone: 'UTC', locale: zone.locale }, { day: 'numeric', month: 'long', year: 'numeric' }) as
    Intl.DateTimeFormat & { formatRange?: (a: Date, b: Date) => string };
  return range.formatRange ? range.formatRange(first, last) : `${range.format(first)} – ${range.format(last)}`;
}

/** "in 25 min", "in 2 h 5 min", "now", "started 10 min ago", "ended". */
export function formatUntil(startTime: string, endTime: string, now: Date): string {
  const start = instantMs(startTime);
  const end = instantMs(endTime);
  const at = now.getTime();
  if (at >= end) return 'ended';
  if (at >= start) {
    const minutes = Math.floor((at - start) / 60_000);
    return minutes < 1 ? 'starting now' : `started ${spell(minutes)} ago`;
  }
  const minutes = Math.ceil((start - at) / 60_000);
  return minutes <= 1 ? 'in 1 min' : `in ${spell(minutes)}`;
}

function spell(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return `${Math.round(hours / 24)} days`;
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/**
 * The meeting's time in another zone (the invitee's), or null when that zone shows the same wall-clock
 * time as the advisor's or is not a zone this computer knows.
 */
export function timeElsewhere(startTime: string, endTime: string, otherZone: string | null, zone: Zone): string | null {
  if (!otherZone || otherZone === zone.timeZone) return null;
  const theirs: Zone = { timeZone: otherZone, locale: zone.locale };
  try {
    const mine = `${formatDateTime(startTime, zone)}`;
    const there = `${formatDateTime(startTime, theirs)}`;
    if (mine === there) return null;
    const day = formatter(theirs, { weekday: 'short', day: 'numeric', month: 'short' }).format(toDate(startTime));
    return `${day}, ${formatTime(startTime, theirs)}–${formatTime(endTime, theirs)}`;
  } catch {
    // An unknown zone name from Calendly is shown as it is, without a converted time.
    return null;
  }
}

/** Only `#rrggbb` may become a colour on screen; anything else is no colour at all. */
export function safeColor(color: string | null | undefined): string | null {
  return color && /^#[0-9a-fA-F]{6}$/.test(color) ? color.toLowerCase() : null;
}
