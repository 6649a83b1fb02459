// Unit tests of the calendar arithmetic behind the agenda and the week: local midnights across clock
// changes, week starts, countdowns, the invitee's own time, colours, and how blocks share a day's width.
import { describe, expect, it } from 'vitest';
import {
  dayKey, formatUntil, safeColor, shiftDayKey, startOfDay, timeElsewhere, wallClock, weekStartKey, weekRangeLabel, type Zone,
} from '../src/format';
import { placeMeetings } from '../src/components/WeekView';
import { FIRST_FRAME_MEETINGS, agendaDays, firstFrameDays, nextMeeting } from '../src/components/TodayView';
import { meetingChains } from '../src/components/ClientsView';
import { meeting } from '../test-support/fixtures';

const LONDON: Zone = { timeZone: 'Europe/London', locale: 'en-GB' };
const HOUR = 3_600_000;

describe('local days', () => {
  it.each([
    ['an ordinary day', 'Europe/London', '2026-11-21', '2026-11-21T00:00:00.000Z', 24],
    ['the autumn change (25 hours)', 'Europe/London', '2026-10-25', '2026-10-24T23:00:00.000Z', 25],
    ['the spring change (23 hours)', 'Europe/London', '2027-03-28', '2027-03-28T00:00:00.000Z', 23],
    ['a day east of UTC', 'Asia/Tokyo', '2026-11-21', '2026-11-20T15:00:00.000Z', 24],
    ['New York’s autumn change', 'America/New_York', '2026-11-01', '2026-11-01T04:00:00.000Z', 25],
    // Chile moves its clocks at midnight: 6 September 2026 starts at 01:00.
    ['a day whose midnight does not exist', 'America/Santiago', '2026-09-06', '2026-09-06T04:00:00.000Z', 23],
  ])('%s starts at its first local instant and lasts as long as the clocks say', (_, timeZone, key, start, hours) => {
    const zone: Zone = { timeZone, locale: 'en-GB' };
    const first = startOfDay(key, zone);
    expect(first.toISOString(), 'the first instant of the day').toBe(start);
    expect(dayKey(first, zone), 'is on that day').toBe(key);
    expect(dayKey(new Date(first.getTime() - 1), zone), 'the instant before is the day before').not.toBe(key);
    const next = startOfDay(shiftDayKey(key, 1), zone);
    expect((next.getTime() - first.getTime()) / HOUR, 'the day length').toBe(hours);
  });

  it('names the wall-clock time on both sides of the autumn change', () => {
    expect(wallClock(new Date('2026-10-25T00:30:00Z'), LONDON)).toEqual({ dayKey: '2026-10-25', hour: 1, minute: 30 });
    expect(wallClock(new Date('2026-10-25T01:30:00Z'), LONDON)).toEqual({ dayKey: '2026-10-25', hour: 1, minute: 30 });
    expect(wallClock(new Date('2026-10-25T23:30:00Z'), LONDON)).toEqual({ dayKey: '2026-10-25', hour: 23, minute: 30 });
  });

  it('starts weeks on the locale’s first day', () => {
    expect(weekStartKey('2026-11-21', 1), 'Monday-first (en-GB)').toBe('2026-11-16');
    expect(weekStartKey('2026-11-21', 7), 'Sunday-first (en-US)').toBe('2026-11-15');
    expect(weekStartKey('2026-11-16', 1), 'a Monday is its own week start').toBe('2026-11-16');
    expect(weekRangeLabel('2026-11-30', LONDON), 'a week across two months').toMatch(/30 Nov.*6 Dec.*2026/);
  });
});

describe('countdowns and other zones', () => {
  const start = '2026-11-21T12:00:00Z';
  const end = '2026-11-21T12:45:00Z';
  it.each([
    ['2026-11-21T09:00:00Z', 'in 3 h'],
    ['2026-11-21T11:35:00Z', 'in 25 min'],
    ['2026-11-21T11:59:40Z', 'in 1 min'],
    ['2026-11-21T12:00:20Z', 'starting now'],
    ['2026-11-21T12:10:00Z', 'started 10 min ago'],
    ['2026-11-21T12:45:00Z', 'ended'],
    ['2026-11-18T12:00:00Z', 'in 3 days'],
  ])('at %s the meeting is %s', (now, expected) => {
    expect(formatUntil(start, end, new Date(now))).toBe(expected);
  });

  it('gives the invitee’s own time only when it differs, and survives an unknown zone', () => {
    expect(timeElsewhere(start, end, 'America/New_York', LONDON), 'New York is five hours behind').toMatch(/07:00.*07:45|7:00.*7:45/);
    expect(timeElsewhere(start, end, 'Europe/London', LONDON), 'the same zone').toBeNull();
    expect(timeElsewhere(start, end, 'Africa/Abidjan', LONDON), 'another zone on the same clock in winter').toBeNull();
    expect(timeElsewhere(start, end, 'Not/AZone<script>', LONDON), 'an unknown zone name').toBeNull();
    expect(timeElsewhere(start, end, null, LONDON)).toBeNull();
  });

  it('lets only #rrggbb become a colour', () => {
    expect(safeColor('#0069FF')).toBe('#0069ff');
    for (const hostile of ['red', '#fff', 'url(x)', '#123456;background:red', '', null]) expect(safeColor(hostile)).toBeNull();
  });
});

describe('placing meetings', () => {
  const at = (iso: string, minutes: number, id: string) => meeting({ id, start: new Date(iso), minutes });

  it('puts overlapping meetings side by side and lone ones full width', () => {
    const placed = placeMeetings([
      at('2026-11-16T09:00:00Z', 60, 'A'),
      at('2026-11-16T09:30:00Z', 30, 'B'),
      at('2026-11-16T09:30:00Z', 30, 'C'),
      at('2026-11-16T11:00:00Z', 30, 'D'),
    ], ['2026-11-16'], LONDON).get('2026-11-16')!;
    const byId = Object.fromEntries(placed.map((block) => [block.meeting.uri.split('/').pop(), block]));
    expect([byId.A.columns, byId.B.columns, byId.C.columns], 'three share the 09:30 slot').toEqual([3, 3, 3]);
    expect(new Set([byId.A.column, byId.B.column, byId.C.column]).size, 'each in its own column').toBe(3);
    expect([byId.D.column, byId.D.columns], 'a lone meeting takes the whole day').toEqual([0, 1]);
  });

  it('places both 01:30s of the autumn night at 01:30, and a late Sunday meeting on Sunday', () => {
    const days = ['2026-10-24', '2026-10-25', '2026-10-26'];
    const placed = placeMeetings([
      at('2026-10-25T00:30:00Z', 30, 'BST'),
      at('2026-10-25T01:30:00Z', 30, 'GMT'),
      at('2026-10-25T23:30:00Z', 15, 'LATE'),
    ], days, LONDON);
    const sunday = placed.get('2026-10-25')!;
    expect(sunday.map((block) => block.startMinute).sort((a, b) => a - b), 'wall-clock positions').toEqual([90, 90, 1410]);
    expect(sunday.filter((block) => block.startMinute === 90).map((block) => block.columns), 'side by side').toEqual([2, 2]);
    expect(placed.get('2026-10-26'), 'nothing spills into Monday').toEqual([]);
  });
});

describe('agenda and timeline', () => {
  const now = new Date('2026-11-21T10:00:00Z');
  it('lists today (even empty) and the following days with meetings, in time order, and picks the next meeting', () => {
    const later = meeting({ id: 'L', start: new Date('2026-11-23T09:00:00Z') });
    const earlier = meeting({ id: 'E', start: new Date('2026-11-23T08:00:00Z') });
    const canceled = meeting({ id: 'X', start: new Date('2026-11-22T08:00:00Z'), status: 'canceled' });
    const days = agendaDays([later, earlier, canceled], '2026-11-21', now, LONDON);
    expect(days.map((day) => [day.dayKey, day.meetings.map((item) => item.uri.split('/').pop())]))
      .toEqual([['2026-11-21', []], ['2026-11-22', ['X']], ['2026-11-23', ['E', 'L']]]);
    expect(nextMeeting([later, earlier, canceled], now)?.uri, 'canceled meetings are never next').toBe(earlier.uri);
    const running = meeting({ id: 'R', start: new Date('2026-11-21T09:45:00Z'), minutes: 30 });
    expect(nextMeeting([later, running], now)?.uri, 'a meeting in progress comes first').toBe(running.uri);
  });

  it('lays out whole days in the first frame until they fill a tall window, and always the next meeting’s day', () => {
    // Ten meetings a day for a week from tomorrow (the agenda shows the first six of those days).
    const week = Array.from({ length: 70 }, (_, index) => meeting({
      id: `W${index}`, start: new Date(Date.UTC(2026, 10, 22 + Math.floor(index / 10), 8 + (index % 10))),
    }));
    const days = agendaDays(week, '2026-11-21', now, LONDON);
    const first = firstFrameDays(days, week[0].uri);
    const shown = first.reduce((count, day) => count + day.meetings.length, 0);
    expect(first.map((day) => day.dayKey), 'today (empty) and whole days from tomorrow').toEqual(['2026-11-21', '2026-11-22', '2026-11-23']);
    expect(shown, 'enough meetings for the tallest window').toBeGreaterThanOrEqual(FIRST_FRAME_MEETINGS);
    expect(firstFrameDays(days, week[55].uri).length, 'down to the next meeting’s day').toBe(days.length);
    const quiet = agendaDays(week.slice(0, 3), '2026-11-21', now, LONDON);
    expect(firstFrameDays(quiet, null), 'a quiet week is laid out whole').toEqual(quiet);
  });

  it('joins a rescheduled booking and the booking it replaced into one chain', () => {
    const newest = meeting({ id: 'N', start: new Date('2026-11-25T10:00:00Z'), rescheduledFrom: 'https://api.calendly.com/scheduled_events/M' });
    const middle = meeting({ id: 'M', start: new Date('2026-11-24T10:00:00Z'), status: 'canceled',
      rescheduledTo: newest.uri, rescheduledFrom: 'https://api.calendly.com/scheduled_events/O' });
    const oldest = meeting({ id: 'O', start: new Date('2026-11-23T10:00:00Z'), status: 'canceled', rescheduledTo: middle.uri });
    const other = meeting({ id: 'P', start: new Date('2026-11-01T10:00:00Z') });
    const chains = meetingChains([other, oldest, newest, middle]);
    expect(chains.map((chain) => [chain.current.uri.split('/').pop(), chain.earlier.map((item) => item.uri.split('/').pop())]))
      .toEqual([['N', ['M', 'O']], ['P', []]]);
  });
});
