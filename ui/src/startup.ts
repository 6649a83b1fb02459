// The first IPC round trips, started as soon as the script runs instead of one after another once
// Preact has rendered: the overview and today's agenda. Screens pick the answers up when they mount.
import { ipc, type MeetingQuery, type MeetingSummary, type Overview } from './ipc';
import { dayKey, shiftDayKey, startOfDay, systemZone, type Zone } from './format';

/** Today and this many following days are on the agenda. */
export const AGENDA_DAYS = 7;

/** The query of the agenda that starts on `today`. */
export function agendaQuery(today: string, zone: Zone): MeetingQuery {
  return {
    search: null, status: 'all', clientEmail: null, limit: null,
    from: startOfDay(today, zone).toISOString(),
    to: startOfDay(shiftDayKey(today, AGENDA_DAYS), zone).toISOString(),
  };
}

let overview: Promise<Overview> | null = null;
let agenda: { query: MeetingQuery; meetings: MeetingSummary[] | null } | null = null;

/**
 * Starts the first read at once (called by main.tsx before the first render): one round trip brings
 * the overview and today's agenda, so Today renders with its meetings in its very first frame.
 */
export function prefetchStartup(): void {
  const zone = systemZone();
  const query = agendaQuery(dayKey(new Date(), zone), zone);
  const start = ipc.getStart(query);
  overview = start.then((data) => {
    agenda = { query, meetings: data.agenda };
    return data.overview;
  });
  // Whoever takes the overview reports a failure; an unclaimed one must not surface as unhandled.
  overview.catch(() => undefined);
}

/** The prefetched overview (once), else a fresh one. */
export function takeStartupOverview(): Promise<Overview> {
  const answer = overview ?? ipc.getOverview();
  overview = null;
  return answer;
}

/** The prefetched agenda if it has arrived and was asked for exactly `query` (once), else null. */
export function takeStartupAgenda(query: MeetingQuery): MeetingSummary[] | null {
  const prefetched = agenda;
  agenda = null;
  return prefetched && prefetched.query.from === query.from && prefetched.query.to === query.to
    ? prefetched.meetings : null;
}

/** A named point of the start-up, read by the desktop benchmark (`performance.getEntriesByName`). */
export function markStartup(name: string): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function'
    && typeof performance.getEntriesByName === 'function' && performance.getEntriesByName(name).length === 0) {
    performance.mark(name);
  }
}

/** Marks the first screen as rendered, and as painted two frames later (what the benchmark compares). */
export function markFirstScreen(): void {
  if (typeof performance === 'undefined' || performance.getEntriesByName?.('advicly:first-screen').length) return;
  markStartup('advicly:first-screen');
  if (typeof requestAnimationFrame === 'function') {
    requestAnimationFrame(() => requestAnimationFrame(() => markStartup('advicly:painted')));
  }
}
