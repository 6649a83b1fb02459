// The start screen: today's and the coming days' meetings in order, the next meeting with a countdown and
// its Join button, and the detail of whichever meeting is opened.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ipc, type IpcError, type MeetingSummary } from '../ipc';
import {
  dayKey, dayLabel, formatDuration, formatTime, formatUntil, instantMs, plural, shiftDayKey, shortDayLabel, type Zone,
} from '../format';
import { useApp } from '../context';
import { StatusBadges, effectiveStatus } from './Badges';
import { ClientLink, TypeLabel, typeColor } from './Labels';
import { InviteeLinks, inviteeLine } from './MeetingList';
import { MeetingDetailPane } from './MeetingDetail';
import { MeetingsEmptyState } from './MeetingsView';
import { AGENDA_DAYS, agendaQuery, markFirstScreen, takeStartupAgenda } from '../startup';

export { AGENDA_DAYS };

export type AgendaDay = { dayKey: string; label: string; meetings: MeetingSummary[] };

/** One entry per day from `today` on (today always, later days only when they have meetings), in time order. */
export function agendaDays(meetings: readonly MeetingSummary[], today: string, now: Date, zone: Zone): AgendaDay[] {
  const byDay = new Map<string, MeetingSummary[]>();
  const sorted = [...meetings].sort((a, b) => instantMs(a.startTime) - instantMs(b.startTime) || (a.uri < b.uri ? -1 : 1));
  for (const meeting of sorted) {
    const key = dayKey(meeting.startTime, zone);
    if (key < today) continue;
    const list = byDay.get(key) ?? [];
    list.push(meeting);
    byDay.set(key, list);
  }
  const days: AgendaDay[] = [];
  for (let offset = 0; offset < AGENDA_DAYS; offset++) {
    const key = shiftDayKey(today, offset);
    const list = byDay.get(key) ?? [];
    if (offset === 0 || list.length > 0) days.push({ dayKey: key, label: dayLabel(key, now, zone), meetings: list });
  }
  return days;
}

/** The first frame lays out at least this many meetings, more than the tallest window shows. */
export const FIRST_FRAME_MEETINGS = 16;

/**
 * The days the first frame lays out: whole days from today until they hold FIRST_FRAME_MEETINGS
 * meetings, and at least through the next meeting's day (the list scrolls to it). The days below
 * follow right after the first paint, so a busy week does not hold up the first screen.
 */
export function firstFrameDays(days: readonly AgendaDay[], nextUri: string | null): readonly AgendaDay[] {
  const nextDay = nextUri === null ? -1 : days.findIndex((day) => day.meetings.some((meeting) => meeting.uri === nextUri));
  let end = 0;
  let count = 0;
  while (end < days.length && (count < FIRST_FRAME_MEETINGS || end <= nextDay)) {
    count += days[end].meetings.length;
    end += 1;
  }
  return end >= days.length ? days : days.slice(0, end);
}

/** The meeting to get ready for: one in progress, else the next to start; canceled and deleted ones never. */
export function nextMeeting(meetings: readonly MeetingSummary[], now: Date): MeetingSummary | null {
  const at = now.getTime();
  let best: MeetingSummary | null = null;
  for (const meeting of meetings) {
    if (meeting.status !== 'active' || meeting.deleted || instantMs(meeting.endTime) <= at) continue;
    if (!best || instantMs(meeting.startTime) < instantMs(best.startTime)) best = meeting;
  }
  return best;
}

export function TodayView() {
  const { zone, now, meetingsVersion, overview, reportError } = useApp();
  const today = dayKey(now, zone);
  // Arrived with the first overview (src/startup.ts): the first frame already shows the meetings.
  const [prefetched] = useState(() => takeStartupAgenda(agendaQuery(today, zone)));
  const [meetings, setMeetings] = useState<MeetingSummary[] | null>(prefetched);
  const skipFirstRead = useRef(prefetched !== null);
  const [failed, setFailed] = useState(false);
  const [selectedUri, setSelectedUri] = useState<string | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);
  const requestNumber = useRef(0);
  const listRef = useRef<HTMLDivElement>(null);
  const connectionState = overview.connection.state;

  useEffect(() => {
    if (skipFirstRead.current) {
      skipFirstRead.current = false;
      return;
    }
    const mine = ++requestNumber.current;
    const query = agendaQuery(today, zone);
    // Nothing is stored and no account is connected: there is nothing to ask for.
    if (connectionState !== 'connected' && overview.meetingCount === 0) {
      setMeetings([]);
      return;
    }
    ipc.listMeetings(query).then((result) => {
      if (mine !== requestNumber.current) return;
      setMeetings(result);
      setFailed(false);
    }).catch((error: IpcError) => {
      if (mine !== requestNumber.current) return;
      setMeetings([]);
      setFailed(true);
      reportError(error);
    });
  }, [today, zone, meetingsVersion, connectionState, overview.meetingCount === 0, reportError]);

  useLayoutEffect(() => {
    if (meetings !== null) markFirstScreen();
  }, [meetings]);

  // Preact runs effects after the frame is painted: the days below the first ones come then.
  const [laterDaysShown, setLaterDaysShown] = useState(false);
  useEffect(() => {
    if (meetings !== null && !laterDaysShown) setLaterDaysShown(true);
  }, [meetings, laterDaysShown]);

  // On a busy day the list opens at the meeting that matters now, not at this morning's first one.
  const scrolledFor = useRef<string | null>(null);
  const nextUri = meetings ? nextMeeting(meetings, now)?.uri ?? null : null;
  useEffect(() => {
    if (!nextUri || scrolledFor.current === today) return;
    scrolledFor.current = today;
    const list = listRef.current;
    const item = list?.querySelector<HTMLElement>(`[data-testid=agenda-item][data-uri="${CSS.escape(nextUri)}"]`);
    const pane = list?.parentElement;
    if (!item || !pane) return;
    // Only when it is out of view: scrolling (and the layout it forces) is not free on the first frames.
    const itemBox = item.getBoundingClientRect();
    const paneBox = pane.getBoundingClientRect();
    if (itemBox.bottom > paneBox.bottom || itemBox.top < paneBox.top) item.scrollIntoView?.({ block: 'center' });
  }, [nextUri, today]);

  const days = useMemo(() => (meetings ? agendaDays(meetings, today, now, zone) : []), [meetings, today, now, zone]);
  const next = useMemo(() => (meetings ? nextMeeting(meetings, now) : null), [meetings, now]);
  const total = meetings?.length ?? 0;
  const shownDays = laterDaysShown ? days : firstFrameDays(days, next?.uri ?? null);

  const join = (uri: string) => {
    setJoinError(null);
    ipc.openJoinLink(uri).catch((error: IpcError) => {
      if (error.code === 'internal' || error.code === 'invalid_input' || error.code === 'not_found') setJoinError(error.message);
      else reportError(error);
    });
  };

  const onListKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp' && event.key !== 'Home' && event.key !== 'End') return;
    const buttons = [...(event.currentTarget as HTMLElement).querySelectorAll<HTMLButtonElement>('.agenda-open')];
    const index = buttons.indexOf(event.target as HTMLButtonElement);
    if (index < 0) return;
    event.preventDefault();
    const target = event.key === 'Home' ? 0 : event.key === 'End' ? buttons.length - 1
      : Math.min(buttons.length - 1, Math.max(0, index + (event.key === 'ArrowDown' ? 1 : -1)));
    buttons[target]?.focus();
  };

  const showEmpty = meetings !== null && total === 0
    && (failed || connectionState !== 'connected' || !overview.sync.lastSync) && overview.meetingCount === 0;

  return (
    <div class="today-view" id="agenda" data-loaded={String(meetings !== null)} onKeyDown={(event) => {
      if (event.key === 'Escape' && selectedUri) setSelectedUri(null);
    }}>
      <header class="view-header">
        <div>
          <h1>Today</h1>
          <p class="subtle" id="agenda-summary">
            {meetings === null ? 'Loading…'
              : `${plural(days[0]?.meetings.length ?? 0, 'meeting')} today · ${plural(total, 'meeting')} in the next ${AGENDA_DAYS} days`}
            <span> · times in {zone.timeZone}</span>
          </p>
        </div>
      </header>
      {next ? <NextMeetingCard meeting={next} now={now} zone={zone} onOpen={setSelectedUri} onJoin={join}
        joinError={joinError} /> : null}
      <div class={`split${selectedUri ? ' with-detail' : ''}`}>
        <div class="list-pane agenda-pane">
          {meetings === null ? <p class="loading">Loading today’s meetings…</p>
            : showEmpty ? <MeetingsEmptyState search="" status="all" failed={failed} onClear={() => undefined} />
              : (
                <div class="agenda-list" id="agenda-list" ref={listRef} onKeyDown={onListKeyDown}>
                  {shownDays.map((day) => (
                    <section key={day.dayKey} class="agenda-day" data-testid="agenda-day" data-day={day.dayKey}
                      aria-labelledby={`agenda-day-${day.dayKey}`}>
                      <h2 class="day-header" id={`agenda-day-${day.dayKey}`}>
                        <span>{day.label}</span>
                        <span class="day-count">{plural(day.meetings.length, 'meeting')}</span>
                      </h2>
                      {day.meetings.length === 0 ? (
                        <p class="agenda-none" id={day.dayKey === today ? 'agenda-none-today' : undefined}>
                          {next ? 'No meetings today.' : 'No meetings today, and none booked for the rest of the week.'}
                        </p>
                      ) : (
                        <ul class="agenda-items">
                          {day.meetings.map((meeting) => (
                            <AgendaItem key={meeting.uri} meeting={meeting} zone={zone} now={now}
                              selected={meeting.uri === selectedUri} isNext={meeting.uri === next?.uri}
                              onOpen={setSelectedUri} />
                          ))}
                        </ul>
                      )}
                    </section>
                  ))}
                </div>
              )}
        </div>
        {selectedUri ? (
          <MeetingDetailPane uri={selectedUri} onOpenMeeting={setSelectedUri} onClose={() => setSelectedUri(null)}
            onGone={() => setSelectedUri(null)} />
        ) : null}
      </div>
    </div>
  );
}

/** "" for today, "Tomorrow " or "Thu 3 " for later days. */
function whichDay(instant: string, now: Date, zone: Zone): string {
  const key = dayKey(instant, zone);
  const today = dayKey(now, zone);
  if (key === today) return '';
  if (key === shiftDayKey(today, 1)) return 'Tomorrow ';
  return `${shortDayLabel(key, zone)} `;
}

type NextProps = {
  meeting: MeetingSummary;
  now: Date;
  zone: Zone;
  onOpen: (uri: string) => void;
  onJoin: (uri: string) => void;
  joinError: string | null;
};

function NextMeetingCard({ meeting, now, zone, onOpen, onJoin, joinError }: NextProps) {
  const color = typeColor(meeting);
  const inProgress = instantMs(meeting.startTime) <= now.getTime();
  return (
    <section class="next-meeting" id="next-meeting" data-uri={meeting.uri} aria-labelledby="next-meeting-heading"
      style={color ? { '--type-color': color } : undefined}>
      <div class="next-meeting-text">
        <h2 id="next-meeting-heading" class="next-label">{inProgress ? 'Now' : 'Next meeting'}</h2>
        <p class="next-title">
          <button type="button" class="link next-open" id="next-meeting-open" onClick={() => onOpen(meeting.uri)}>
            {meeting.name ?? 'Untitled meeting'}
          </button>
        </p>
        <p class="next-meta">
          <span>{whichDay(meeting.startTime, now, zone)}{formatTime(meeting.startTime, zone)}–{formatTime(meeting.endTime, zone)}</span>
          {meeting.eventTypeName ? <> · <TypeLabel meeting={meeting} /></> : null}
          {meeting.invitees.length > 0 ? <> · with <InviteeLinks meeting={meeting} /></> : null}
        </p>
      </div>
      <div class="next-actions">
        <p class="countdown" id="next-meeting-countdown" aria-live="polite">{formatUntil(meeting.startTime, meeting.endTime, now)}</p>
        {meeting.joinUrl ? (
          <button type="button" class="primary" id="next-join" onClick={() => onJoin(meeting.uri)}>Join meeting</button>
        ) : null}
        {joinError ? <span class="field-error" id="next-join-error">{joinError}</span> : null}
      </div>
    </section>
  );
}

type ItemProps = {
  meeting: MeetingSummary;
  zone: Zone;
  now: Date;
  selected: boolean;
  isNext: boolean;
  onOpen: (uri: string) => void;
};

function AgendaItem({ meeting, zone, now, selected, isNext, onOpen }: ItemProps) {
  const status = effectiveStatus(meeting);
  const inactive = status === 'canceled' || status === 'deleted';
  const over = instantMs(meeting.endTime) <= now.getTime();
  const color = typeColor(meeting);
  const start = formatTime(meeting.startTime, zone);
  const end = formatTime(meeting.endTime, zone);
  const name = meeting.name ?? 'Untitled meeting';
  return (
    <li class={`agenda-item${inactive ? ' inactive' : ''}${over ? ' over' : ''}${selected ? ' selected' : ''}${isNext ? ' next' : ''}`}
      data-testid="agenda-item" data-uri={meeting.uri} data-status={status}
      style={color ? { '--type-color': color } : undefined} onClick={() => onOpen(meeting.uri)}>
      <span class="agenda-time" aria-hidden="true">
        <span class="agenda-start">{start}</span>
        <span class="agenda-end">{end}</span>
      </span>
      <span class="agenda-text">
        <button type="button" class="agenda-open" aria-current={selected ? 'true' : undefined}
          aria-label={`${start} to ${end}, ${formatDuration(meeting.startTime, meeting.endTime)}: ${name}${inactive ? ` (${status})` : ''}, with ${inviteeLine(meeting)}`}
          onClick={(event) => { event.stopPropagation(); onOpen(meeting.uri); }}>
          <span class="agenda-name" data-testid="agenda-name">{name}</span>
        </button>
        <span class="agenda-meta">
          {meeting.invitees.length === 0 ? 'No invitees' : meeting.invitees.slice(0, 3).map((invitee, index) => (
            <span key={`${invitee.email}-${index}`}>{index > 0 ? ', ' : null}<ClientLink email={invitee.email} name={invitee.name} /></span>
          ))}
          {meeting.invitees.length > 3 ? ` +${meeting.invitees.length - 3}` : null}
          {meeting.eventTypeName ? <> · <TypeLabel meeting={meeting} /></> : null}
        </span>
      </span>
      {isNext && !over ? <span class="badge badge-next" data-testid="badge-next">{formatUntil(meeting.startTime, meeting.endTime, now)}</span> : null}
      <StatusBadges meeting={meeting} zone={zone} onOpenMeeting={onOpen} />
    </li>
  );
}
