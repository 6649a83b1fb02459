// A windowed list of meetings grouped by day: only the groups and rows in view are in the DOM, so
// 10,000 meetings stay fast. Arrow keys, Home/End and PageUp/PageDown move between rows.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { MeetingSummary } from '../ipc';
import { formatDuration, formatTime, type MeetingGroup, type Zone } from '../format';
import { StatusBadges, effectiveStatus } from './Badges';
import { ClientLink, TypeLabel, typeColor } from './Labels';

export const SECTION_HEADER_HEIGHT = 44;
export const DAY_HEADER_HEIGHT = 36;
export const ROW_HEIGHT = 64;
/** Extra pixels rendered above and below the viewport so fast scrolling does not show gaps. */
const OVERSCAN = 400;
/** Used when the container has no layout (tests without a layout engine, first paint). */
const FALLBACK_VIEWPORT = 900;

type GroupLayout = {
  group: MeetingGroup;
  top: number;
  height: number;
  sectionHeader: boolean;
  /** Index of the group's first meeting in the flat order (for keyboard navigation). */
  firstIndex: number;
};

export function layoutGroups(groups: readonly MeetingGroup[]): { layouts: GroupLayout[]; total: number; count: number } {
  const layouts: GroupLayout[] = [];
  let top = 0;
  let index = 0;
  let previousSection: string | null = null;
  for (const group of groups) {
    const sectionHeader = group.section !== previousSection;
    previousSection = group.section;
    const height = (sectionHeader ? SECTION_HEADER_HEIGHT : 0) + DAY_HEADER_HEIGHT + group.meetings.length * ROW_HEIGHT;
    layouts.push({ group, top, height, sectionHeader, firstIndex: index });
    top += height;
    index += group.meetings.length;
  }
  return { layouts, total: top, count: index };
}

/** First layout whose bottom is below `offset` (binary search; layouts are sorted by top). */
function firstVisible(layouts: GroupLayout[], offset: number): number {
  let low = 0;
  let high = layouts.length - 1;
  let answer = layouts.length;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (layouts[middle].top + layouts[middle].height > offset) {
      answer = middle;
      high = middle - 1;
    } else {
      low = middle + 1;
    }
  }
  return answer;
}

/** Group holding the meeting with flat index `index`. */
function groupOfIndex(layouts: GroupLayout[], index: number): number {
  let low = 0;
  let high = layouts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (layouts[middle].firstIndex <= index) low = middle;
    else high = middle - 1;
  }
  return low;
}

function rowTop(layout: GroupLayout, rowIndex: number): number {
  return layout.top + (layout.sectionHeader ? SECTION_HEADER_HEIGHT : 0) + DAY_HEADER_HEIGHT + rowIndex * ROW_HEIGHT;
}

/** Where the row of `uri` starts, or null when the list does not hold it. */
export function rowTopOf(layouts: readonly GroupLayout[], uri: string): number | null {
  for (const layout of layouts) {
    const row = layout.group.meetings.findIndex((meeting) => meeting.uri === uri);
    if (row >= 0) return rowTop(layout, row);
  }
  return null;
}

/** The row at the top edge of the viewport: what must stay in place when rows arrive above it. */
export function anchorAt(layouts: readonly GroupLayout[], offset: number): { uri: string; top: number } | null {
  const index = firstVisible(layouts as GroupLayout[], offset);
  const layout = layouts[index];
  if (!layout) return null;
  for (let row = 0; row < layout.group.meetings.length; row++) {
    const top = rowTop(layout, row);
    if (top + ROW_HEIGHT > offset) return { uri: layout.group.meetings[row].uri, top };
  }
  const next = layouts[index + 1];
  return next && next.group.meetings.length > 0 ? { uri: next.group.meetings[0].uri, top: rowTop(next, 0) } : null;
}

type MeetingListProps = {
  groups: MeetingGroup[];
  zone: Zone;
  selectedUri: string | null;
  onOpen: (uri: string) => void;
  label: string;
  id?: string;
  /** The list scrolls back to the top when this changes (a new query), not when the clock ticks. */
  resetKey: string;
};

export function MeetingList({ groups, zone, selectedUri, onOpen, label, id, resetKey }: MeetingListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(FALLBACK_VIEWPORT);
  const [pendingFocus, setPendingFocus] = useState<number | null>(null);
  const { layouts, total, count } = useMemo(() => layoutGroups(groups), [groups]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setViewport(element.clientHeight > 0 ? element.clientHeight : FALLBACK_VIEWPORT);
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A new query starts at the top (a fresh list already does).
  const shownKey = useRef(resetKey);
  useLayoutEffect(() => {
    if (shownKey.current === resetKey) return;
    shownKey.current = resetKey;
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
  }, [resetKey]);

  // A delivery that lands while the advisor reads keeps the rows they look at where they are:
  // when rows are added or removed above the viewport, the scroll position moves with them.
  const anchor = useRef<{ uri: string; top: number } | null>(null);
  useLayoutEffect(() => {
    const element = scroller.current;
    const previous = anchor.current;
    if (!element || !previous || shownKey.current !== resetKey) return;
    const moved = rowTopOf(layouts, previous.uri);
    if (moved === null || moved === previous.top) return;
    const shifted = Math.max(0, scrollTop + (moved - previous.top));
    element.scrollTop = shifted;
    setScrollTop(shifted);
  }, [layouts]);
  useLayoutEffect(() => {
    // At the very top there is nothing to hold: a new first meeting simply appears.
    anchor.current = scrollTop > 0 ? anchorAt(layouts, scrollTop) : null;
  });

  useEffect(() => {
    if (pendingFocus === null) return;
    const row = scroller.current?.querySelector<HTMLElement>(`[data-index="${pendingFocus}"]`);
    if (row) {
      row.focus({ preventScroll: true });
      setPendingFocus(null);
    }
  });

  const windowTop = Math.max(0, scrollTop - OVERSCAN);
  const windowBottom = scrollTop + viewport + OVERSCAN;
  const visible: GroupLayout[] = [];
  for (let i = firstVisible(layouts, windowTop); i < layouts.length && layouts[i].top < windowBottom; i++) {
    visible.push(layouts[i]);
  }

  const moveFocus = (from: number, key: string): boolean => {
    const page = Math.max(1, Math.floor(viewport / ROW_HEIGHT) - 1);
    const targets: Record<string, number> = {
      ArrowDown: from + 1, ArrowUp: from - 1, Home: 0, End: count - 1, PageDown: from + page, PageUp: from - page,
    };
    if (!(key in targets) || count === 0) return false;
    const target = Math.min(count - 1, Math.max(0, targets[key]));
    const layout = layouts[groupOfIndex(layouts, target)];
    const top = rowTop(layout, target - layout.firstIndex);
    const element = scroller.current;
    if (element) {
      const headerRoom = layout.firstIndex === target ? DAY_HEADER_HEIGHT + (layout.sectionHeader ? SECTION_HEADER_HEIGHT : 0) : 0;
      let desiredTop = element.scrollTop;
      if (top - headerRoom < desiredTop) desiredTop = top - headerRoom;
      else if (top + ROW_HEIGHT > desiredTop + viewport) desiredTop = top + ROW_HEIGHT - viewport;
      element.scrollTop = desiredTop;
      // Render around the target even before the browser reports the scroll (and without layout).
      setScrollTop(desiredTop);
      // A row already in the DOM takes focus at once, so fast repeated keys each move one row.
      const rendered = element.querySelector<HTMLElement>(`[data-index="${target}"]`);
      if (rendered) {
        rendered.focus({ preventScroll: true });
        return true;
      }
    }
    setPendingFocus(target);
    return true;
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement | null;
    const index = target?.getAttribute?.('data-index');
    if (index == null) return;
    if (moveFocus(Number(index), event.key)) event.preventDefault();
  };

  return (
    <div class="list-scroll" ref={scroller} id={id} aria-label={label} data-total-rows={count}
      onScroll={(event) => {
        const element = event.currentTarget as HTMLDivElement;
        // Without layout (scrollHeight 0) the reported position means nothing; keep the one we asked for.
        if (element.scrollHeight > 0) setScrollTop(element.scrollTop);
      }} onKeyDown={onKeyDown}>
      <div class="list-canvas" style={{ height: `${total}px` }}>
        {visible.map((layout) => (
          <DayGroup key={`${layout.group.section}-${layout.group.dayKey}`} layout={layout} zone={zone}
            windowTop={windowTop} windowBottom={windowBottom} selectedUri={selectedUri} onOpen={onOpen} />
        ))}
      </div>
    </div>
  );
}

type DayGroupProps = {
  layout: GroupLayout;
  zone: Zone;
  windowTop: number;
  windowBottom: number;
  selectedUri: string | null;
  onOpen: (uri: string) => void;
};

function DayGroup({ layout, zone, windowTop, windowBottom, selectedUri, onOpen }: DayGroupProps) {
  const { group } = layout;
  const rowsTop = rowTop(layout, 0);
  const firstRow = Math.max(0, Math.floor((windowTop - rowsTop) / ROW_HEIGHT));
  const lastRow = Math.min(group.meetings.length, Math.ceil((windowBottom - rowsTop) / ROW_HEIGHT));
  const rows = [];
  for (let row = firstRow; row < lastRow; row++) {
    const meeting = group.meetings[row];
    rows.push(
      <MeetingRow key={meeting.uri} meeting={meeting} zone={zone} index={layout.firstIndex + row}
        top={row * ROW_HEIGHT} selected={meeting.uri === selectedUri} onOpen={onOpen} />,
    );
  }
  return (
    <section class="day-group" data-testid="day-group" data-day={group.dayKey} data-section={group.section}
      aria-label={group.label} style={{ top: `${layout.top}px`, height: `${layout.height}px` }}>
      {layout.sectionHeader ? (
        <h2 class="section-header" data-testid="section-header" data-section={group.section}>
          {group.section === 'upcoming' ? 'Upcoming' : 'Past'}
        </h2>
      ) : null}
      <h3 class="day-header">
        <span>{group.label}</span>
        <span class="day-count">{group.meetings.length}</span>
      </h3>
      <div class="day-rows" style={{ height: `${group.meetings.length * ROW_HEIGHT}px` }}>{rows}</div>
    </section>
  );
}

type MeetingRowProps = {
  meeting: MeetingSummary;
  zone: Zone;
  index: number;
  top: number;
  selected: boolean;
  onOpen: (uri: string) => void;
};

export function inviteeLine(meeting: MeetingSummary): string {
  const names = meeting.invitees.map((invitee) => invitee.name || invitee.email);
  if (names.length === 0) return 'No invitees';
  if (names.length <= 2) return names.join(', ');
  return `${names.slice(0, 2).join(', ')} +${names.length - 2}`;
}

/** The first two invitees as links to their client pages, then "+N". */
export function InviteeLinks({ meeting }: { meeting: MeetingSummary }) {
  if (meeting.invitees.length === 0) return <>No invitees</>;
  const shown = meeting.invitees.slice(0, 2);
  const rest = meeting.invitees.length - shown.length;
  return (
    <>
      {shown.map((invitee, index) => (
        <span key={`${invitee.email}-${index}`}>
          {index > 0 ? ', ' : null}
          <ClientLink email={invitee.email} name={invitee.name} />
        </span>
      ))}
      {rest > 0 ? ` +${rest}` : null}
    </>
  );
}

function MeetingRow({ meeting, zone, index, top, selected, onOpen }: MeetingRowProps) {
  const status = effectiveStatus(meeting);
  // Struck through only when it will not take place; an unknown status is shown as a badge instead.
  const inactive = status === 'canceled' || status === 'deleted';
  const color = typeColor(meeting);
  const start = formatTime(meeting.startTime, zone);
  const duration = formatDuration(meeting.startTime, meeting.endTime);
  const name = meeting.name ?? 'Untitled meeting';
  return (
    <div class={`meeting-row${selected ? ' selected' : ''}${inactive ? ' inactive' : ''}`} data-testid="meeting-row"
      data-uri={meeting.uri} data-status={status} data-rescheduled={meeting.rescheduledTo ? 'true' : undefined}
      style={{ top: `${top}px`, ...(color ? { '--type-color': color } : {}) }} onClick={() => onOpen(meeting.uri)}>
      <span class="row-time" aria-hidden="true">
        <span class="row-start">{start}</span>
        <span class="row-duration">{duration}</span>
      </span>
      <span class="row-text">
        <button type="button" class="row-main" data-index={index} aria-current={selected ? 'true' : undefined}
          aria-label={`${start}, ${duration}: ${name}${meeting.eventTypeName ? ` (${meeting.eventTypeName})` : ''}, with ${inviteeLine(meeting)}`}
          onClick={(event) => { event.stopPropagation(); onOpen(meeting.uri); }}>
          <span class="row-name" data-testid="meeting-name">{name}</span>
        </button>
        <span class="row-invitees">
          <span data-testid="meeting-invitees"><InviteeLinks meeting={meeting} /></span>
          {meeting.eventTypeName ? <span class="row-type"> · <TypeLabel meeting={meeting} /></span> : null}
        </span>
      </span>
      <StatusBadges meeting={meeting} zone={zone} onOpenMeeting={onOpen} />
    </div>
  );
}
