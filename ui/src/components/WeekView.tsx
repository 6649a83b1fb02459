// The week: a grid of days × hours in the advisor's zone, meetings as blocks in their type's colour,
// canceled ones struck through; previous/next week and "Today", and keyboard movement between blocks.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ipc, type IpcError, type MeetingSummary } from '../ipc';
import {
  dayKey, firstDayOfWeek, formatTime, instantMs, longDayLabel, plural, shiftDayKey, shortDayLabel, startOfDay,
  wallClock, weekRangeLabel, weekStartKey, type Zone,
} from '../format';
import { useApp } from '../context';
import { effectiveStatus } from './Badges';
import { typeColor } from './Labels';
import { inviteeLine } from './MeetingList';
import { MeetingDetailPane } from './MeetingDetail';

export const HOUR_HEIGHT = 48;
/** A block is at least this tall, so a 5-minute meeting is still readable and clickable. */
const MIN_BLOCK_MINUTES = 25;
const DEFAULT_FIRST_HOUR = 7;
const DEFAULT_LAST_HOUR = 20;

export type PlacedMeeting = {
  meeting: MeetingSummary;
  dayKey: string;
  /** Minutes after local midnight (wall clock) where the block starts. */
  startMinute: number;
  /** Length in real minutes (a meeting across a clock change keeps its true length). */
  minutes: number;
  column: number;
  columns: number;
};

/** Places each meeting in its start day, side by side where blocks would overlap. */
export function placeMeetings(meetings: readonly MeetingSummary[], days: readonly string[], zone: Zone): Map<string, PlacedMeeting[]> {
  const byDay = new Map<string, PlacedMeeting[]>(days.map((key) => [key, []]));
  for (const meeting of meetings) {
    const clock = wallClock(new Date(instantMs(meeting.startTime)), zone);
    const list = byDay.get(clock.dayKey);
    if (!list) continue;
    const minutes = Math.max(0, Math.round((instantMs(meeting.endTime) - instantMs(meeting.startTime)) / 60_000));
    const startMinute = clock.hour * 60 + clock.minute;
    list.push({ meeting, dayKey: clock.dayKey, startMinute, minutes: Math.min(minutes, 24 * 60 - startMinute), column: 0, columns: 1 });
  }
  for (const list of byDay.values()) {
    list.sort((a, b) => a.startMinute - b.startMinute || b.minutes - a.minutes || (a.meeting.uri < b.meeting.uri ? -1 : 1));
    // Clusters of blocks that overlap on screen share the width; each block takes the first free column.
    let cluster: PlacedMeeting[] = [];
    let clusterEnd = -1;
    let columnEnds: number[] = [];
    const close = () => {
      for (const placed of cluster) placed.columns = columnEnds.length;
      cluster = [];
      columnEnds = [];
    };
    for (const placed of list) {
      const visualEnd = placed.startMinute + Math.max(placed.minutes, MIN_BLOCK_MINUTES);
      if (placed.startMinute >= clusterEnd) close();
      let column = columnEnds.findIndex((end) => end <= placed.startMinute);
      if (column < 0) {
        column = columnEnds.length;
        columnEnds.push(visualEnd);
      } else {
        columnEnds[column] = visualEnd;
      }
      placed.column = column;
      cluster.push(placed);
      clusterEnd = Math.max(clusterEnd, visualEnd);
    }
    close();
  }
  return byDay;
}

/** The hours the grid shows: the working day, widened to every meeting of the week. */
export function hourRange(placed: Map<string, PlacedMeeting[]>): { first: number; last: number } {
  let first = DEFAULT_FIRST_HOUR;
  let last = DEFAULT_LAST_HOUR;
  for (const list of placed.values()) {
    for (const block of list) {
      first = Math.min(first, Math.floor(block.startMinute / 60));
      last = Math.max(last, Math.ceil((block.startMinute + Math.max(block.minutes, MIN_BLOCK_MINUTES)) / 60));
    }
  }
  return { first: Math.max(0, first), last: Math.min(24, last) };
}

export function WeekView() {
  const { zone, now, meetingsVersion, overview, reportError } = useApp();
  const today = dayKey(now, zone);
  const firstDay = useMemo(() => firstDayOfWeek(zone), [zone]);
  const [weekStart, setWeekStart] = useState(() => weekStartKey(today, firstDay));
  const [meetings, setMeetings] = useState<MeetingSummary[] | null>(null);
  const [selectedUri, setSelectedUri] = useState<string | null>(null);
  const requestNumber = useRef(0);
  const bodyRef = useRef<HTMLDivElement>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  const connectionState = overview.connection.state;
  const days = useMemo(() => Array.from({ length: 7 }, (_, index) => shiftDayKey(weekStart, index)), [weekStart]);

  useEffect(() => {
    const mine = ++requestNumber.current;
    // The week's bounds are local midnights: a week with a clock change is 167 or 169 hours long.
    const from = startOfDay(days[0], zone).toISOString();
    const to = startOfDay(shiftDayKey(days[0], 7), zone).toISOString();
    ipc.listMeetings({ search: null, status: 'all', from, to, clientEmail: null, limit: null }).then((result) => {
      if (mine === requestNumber.current) setMeetings(result);
    }).catch((error: IpcError) => {
      if (mine !== requestNumber.current) return;
      setMeetings([]);
      reportError(error);
    });
  }, [days, zone, meetingsVersion, connectionState, reportError]);

  const placed = useMemo(() => placeMeetings(meetings ?? [], days, zone), [meetings, days, zone]);
  const { first, last } = useMemo(() => hourRange(placed), [placed]);
  const hours = Array.from({ length: last - first }, (_, index) => first + index);

  // Show the working day (or the week's first meeting) without scrolling past it.
  useLayoutEffect(() => {
    const body = bodyRef.current;
    if (!body || meetings === null) return;
    let earliest = 8 * 60;
    for (const list of placed.values()) for (const block of list) earliest = Math.min(earliest, block.startMinute);
    body.scrollTop = Math.max(0, ((earliest - first * 60) / 60) * HOUR_HEIGHT - 8);
  }, [weekStart, meetings === null]);

  const goToWeek = (key: string) => {
    setMeetings(null);
    setWeekStart(key);
  };
  const previous = () => goToWeek(shiftDayKey(weekStart, -7));
  const next = () => goToWeek(shiftDayKey(weekStart, 7));
  const thisWeek = () => goToWeek(weekStartKey(today, firstDay));

  /** Arrow keys move between blocks: up/down within a day, left/right to the nearest block of the next day with any. */
  const moveFocus = (from: HTMLElement, key: string): boolean => {
    const grid = gridRef.current;
    if (!grid) return false;
    const day = from.getAttribute('data-day');
    const start = Number(from.getAttribute('data-start-minute'));
    const blocksOf = (key: string) => [...grid.querySelectorAll<HTMLElement>(`[data-testid=week-block][data-day="${key}"]`)];
    let target: HTMLElement | undefined;
    if (key === 'ArrowDown' || key === 'ArrowUp') {
      const list = blocksOf(day ?? '');
      const index = list.indexOf(from);
      target = list[index + (key === 'ArrowDown' ? 1 : -1)];
    } else if (key === 'ArrowLeft' || key === 'ArrowRight') {
      const step = key === 'ArrowRight' ? 1 : -1;
      for (let index = days.indexOf(day ?? '') + step; index >= 0 && index < days.length && !target; index += step) {
        const list = blocksOf(days[index]);
        target = list.reduce<HTMLElement | undefined>((best, block) => {
          const distance = Math.abs(Number(block.getAttribute('data-start-minute')) - start);
          return !best || distance < Math.abs(Number(best.getAttribute('data-start-minute')) - start) ? block : best;
        }, undefined);
      }
    }
    if (!target) return false;
    target.focus();
    target.scrollIntoView?.({ block: 'nearest' });
    return true;
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && selectedUri) {
      setSelectedUri(null);
      return;
    }
    const target = event.target as HTMLElement;
    if (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return;
    if (event.key === 'PageUp' || event.key === 'PageDown') {
      event.preventDefault();
      if (event.key === 'PageUp') previous();
      else next();
      return;
    }
    if (target.getAttribute('data-testid') === 'week-block' && moveFocus(target, event.key)) event.preventDefault();
  };

  const nowClock = wallClock(now, zone);
  const count = meetings?.length ?? 0;
  const dayHeight = (last - first) * HOUR_HEIGHT;

  return (
    <div class="week-view" id="week" data-week-start={weekStart} data-loaded={String(meetings !== null)} onKeyDown={onKeyDown}>
      <header class="view-header">
        <div>
          <h1>Week</h1>
          <p class="subtle">
            <span id="week-range" aria-live="polite">{weekRangeLabel(weekStart, zone)}</span>
            <span id="week-count"> · {meetings === null ? 'Loading…' : plural(count, 'meeting')}</span>
            <span> · times in {zone.timeZone}</span>
          </p>
        </div>
        <div class="toolbar week-nav" role="group" aria-label="Choose the week">
          <button type="button" id="week-prev" aria-label="Previous week" aria-keyshortcuts="PageUp" onClick={previous}>←</button>
          <button type="button" id="week-today" onClick={thisWeek} disabled={weekStart === weekStartKey(today, firstDay)}>This week</button>
          <button type="button" id="week-next" aria-label="Next week" aria-keyshortcuts="PageDown" onClick={next}>→</button>
        </div>
      </header>
      <div class={`split${selectedUri ? ' with-detail' : ''}`}>
        <div class="week-grid" ref={gridRef} role="region" aria-label={`Week of ${weekRangeLabel(weekStart, zone)}`}
          aria-describedby="week-help">
          <p class="visually-hidden" id="week-help">
            Arrow keys move between meetings, Enter opens one, Page Up and Page Down change the week.
          </p>
          <div class="week-head" aria-hidden="true">
            <span class="week-corner" />
            {days.map((key) => (
              <span key={key} class={`week-day-header${key === today ? ' today' : ''}`} data-testid="week-day-header" data-day={key}>
                {shortDayLabel(key, zone)}
              </span>
            ))}
          </div>
          <div class="week-body" ref={bodyRef} id="week-body">
            <div class="week-canvas" style={{ height: `${dayHeight}px` }}>
              <div class="hour-labels" aria-hidden="true">
                {hours.map((hour) => (
                  <span key={hour} class="hour-label" style={{ top: `${(hour - first) * HOUR_HEIGHT}px` }}>
                    {String(hour).padStart(2, '0')}:00
                  </span>
                ))}
              </div>
              {days.map((key) => {
                const blocks = placed.get(key) ?? [];
                return (
                  <div key={key} class={`week-day${key === today ? ' today' : ''}`} data-testid="week-day" data-day={key}
                    role="list" aria-label={`${longDayLabel(key, zone)}, ${plural(blocks.length, 'meeting')}`}>
                    {hours.map((hour) => (
                      <span key={hour} class="hour-line" aria-hidden="true" style={{ top: `${(hour - first) * HOUR_HEIGHT}px` }} />
                    ))}
                    {key === today && nowClock.dayKey === today ? (
                      <span class="now-line" id="week-now-line" aria-hidden="true"
                        style={{ top: `${((nowClock.hour * 60 + nowClock.minute - first * 60) / 60) * HOUR_HEIGHT}px` }} />
                    ) : null}
                    {blocks.map((block) => (
                      <WeekBlock key={block.meeting.uri} block={block} firstHour={first} zone={zone}
                        selected={block.meeting.uri === selectedUri} onOpen={setSelectedUri} />
                    ))}
                  </div>
                );
              })}
            </div>
          </div>
        </div>
        {selectedUri ? (
          <MeetingDetailPane uri={selectedUri} onOpenMeeting={setSelectedUri} onClose={() => setSelectedUri(null)}
            onGone={() => setSelectedUri(null)} />
        ) : null}
      </div>
    </div>
  );
}

type BlockProps = {
  block: PlacedMeeting;
  firstHour: number;
  zone: Zone;
  selected: boolean;
  onOpen: (uri: string) => void;
};

function WeekBlock({ block, firstHour, zone, selected, onOpen }: BlockProps) {
  const { meeting } = block;
  const status = effectiveStatus(meeting);
  const inactive = status === 'canceled' || status === 'deleted';
  const color = typeColor(meeting);
  const top = ((block.startMinute - firstHour * 60) / 60) * HOUR_HEIGHT;
  const height = (Math.max(block.minutes, MIN_BLOCK_MINUTES) / 60) * HOUR_HEIGHT - 2;
  const width = 100 / block.columns;
  const name = meeting.name ?? 'Untitled meeting';
  const start = formatTime(meeting.startTime, zone);
  const end = formatTime(meeting.endTime, zone);
  const people = inviteeLine(meeting);
  // The sync's own words (issue 11) travel with the block: "1 of 3 moved", an unreadable invitee list.
  const moved = meeting.rescheduleNote && !meeting.rescheduledTo ? meeting.rescheduleNote : null;
  const unreadable = meeting.readError ? 'Invitees could not be read' : null;
  const notes = [inactive ? status : null, moved, unreadable].filter((note): note is string => note !== null);
  const label = `${start}–${end} ${name}${meeting.eventTypeName ? ` (${meeting.eventTypeName})` : ''}, with ${people}${notes.map((note) => `, ${note}`).join('')}`;
  return (
    <div role="listitem" class="week-item">
      <button type="button" class={`week-block${inactive ? ' inactive' : ''}${selected ? ' selected' : ''}${block.minutes < 50 ? ' short' : block.minutes < 75 ? ' compact' : ''}`}
        data-testid="week-block" data-uri={meeting.uri} data-status={status} data-day={block.dayKey}
        data-start-minute={block.startMinute} aria-current={selected ? 'true' : undefined} title={label}
        style={{
          top: `${top}px`, height: `${height}px`, left: `calc(${block.column * width}% + 2px)`, width: `calc(${width}% - 4px)`,
          ...(color ? { '--type-color': color } : {}),
        }}
        onClick={() => onOpen(meeting.uri)}>
        <span class="week-block-time">{start}<span class="visually-hidden"> to {end}, </span></span>
        <span class="week-block-name">{name}</span>
        <span class="week-block-people"><span class="visually-hidden">{meeting.eventTypeName ? ` (${meeting.eventTypeName})` : ''}, with </span>{people}</span>
        {inactive ? <span class="visually-hidden">, {status}</span> : null}
        {moved ? <span class="week-block-note" data-testid="week-block-moved"><span class="visually-hidden">, </span>{moved}</span> : null}
        {unreadable ? (
          <span class="week-block-note" data-testid="week-block-read-error" title={meeting.readError ?? undefined}>
            <span class="visually-hidden">, </span>{unreadable}
          </span>
        ) : null}
      </button>
    </div>
  );
}
