// Grouping by day in the advisor's zone and the upcoming-before-past order (pure functions).
import { describe, expect, it } from 'vitest';
import { dayKey, dayLabel, formatDuration, groupMeetings, instantMs, shiftDayKey, type Zone } from '../src/format';
import { meeting, summaryOf } from '../test-support/fixtures';

const NOW = new Date('2026-11-21T10:00:00Z');
const zone = (timeZone: string): Zone => ({ timeZone, locale: 'en-GB' });
const at = (iso: string, id: string) => summaryOf(meeting({ id, start: new Date(iso) }));

describe('dayKey', () => {
  it.each([
    // 23:30 UTC is still the 21st in London and New York but already the 22nd in Tokyo.
    ['2026-11-21T23:30:00Z', 'Europe/London', '2026-11-21'],
    ['2026-11-21T23:30:00Z', 'Asia/Tokyo', '2026-11-22'],
    ['2026-11-21T23:30:00Z', 'America/New_York', '2026-11-21'],
    // 03:00 UTC is the evening before in Los Angeles.
    ['2026-11-21T03:00:00Z', 'America/Los_Angeles', '2026-11-20'],
    // Across the DST change in London (last Sunday of March, 01:00 UTC).
    ['2026-03-29T00:30:00Z', 'Europe/London', '2026-03-29'],
  ])('%s in %s is on %s', (instant, timeZone, expected) => {
    expect(dayKey(instant, zone(timeZone)), 'the day must be the calendar day in that zone, not in UTC').toBe(expected);
  });

  it('shifts keys across month and year ends', () => {
    expect(shiftDayKey('2026-12-31', 1), 'the day after New Year’s Eve is 1 January').toBe('2027-01-01');
    expect(shiftDayKey('2026-03-01', -1), 'the day before 1 March 2026 is 28 February').toBe('2026-02-28');
  });
});

describe('dayLabel', () => {
  it('names today, tomorrow and yesterday relative to now in the zone', () => {
    const london = zone('Europe/London');
    expect(dayLabel('2026-11-21', NOW, london), 'the day of now is Today').toBe('Today · Saturday, 21 November 2026');
    expect(dayLabel('2026-11-22', NOW, london), 'the next day is Tomorrow').toMatch(/^Tomorrow · Sunday/);
    expect(dayLabel('2026-11-20', NOW, london), 'the previous day is Yesterday').toMatch(/^Yesterday · Friday/);
    expect(dayLabel('2026-11-25', NOW, london), 'other days carry only the date').toBe('Wednesday, 25 November 2026');
  });

  it('uses the zone to decide which day is today', () => {
    // Pago Pago is UTC-11, so at 10:00 UTC on the 21st it is 23:00 on the 20th there.
    expect(dayLabel('2026-11-20', NOW, zone('Pacific/Pago_Pago')), 'in UTC-11 it is still the 20th at 10:00 UTC')
      .toMatch(/^Today/);
  });
});

describe('groupMeetings', () => {
  const meetings = [
    at('2026-11-19T09:00:00Z', 'P2'),
    at('2026-11-22T09:00:00Z', 'U2'),
    at('2026-11-21T09:45:00Z', 'NOWISH'), // started 15 minutes ago, ends 10:15: still upcoming
    at('2026-11-21T08:00:00Z', 'P1'),
    at('2026-11-21T14:00:00Z', 'U1'),
    at('2026-11-21T23:30:00Z', 'LATE'),
  ];

  it('puts upcoming meetings first, soonest first, then past meetings, most recent first', () => {
    const groups = groupMeetings(meetings, NOW, zone('Europe/London'));
    const order = groups.flatMap((group) => group.meetings.map((item) => item.uri.split('/').pop()));
    expect(order, 'upcoming ascending, then past descending').toEqual(['NOWISH', 'U1', 'LATE', 'U2', 'P1', 'P2']);
    expect(groups.map((group) => group.section), 'sections never interleave')
      .toEqual(['upcoming', 'upcoming', 'past', 'past']);
  });

  it('groups by the calendar day in the given zone', () => {
    const london = groupMeetings(meetings, NOW, zone('Europe/London')).map((group) => `${group.section}:${group.dayKey}:${group.meetings.length}`);
    expect(london, 'in London 23:30 UTC is still the 21st').toEqual([
      'upcoming:2026-11-21:3', 'upcoming:2026-11-22:1', 'past:2026-11-21:1', 'past:2026-11-19:1',
    ]);
    const tokyo = groupMeetings(meetings, NOW, zone('Asia/Tokyo')).map((group) => `${group.section}:${group.dayKey}:${group.meetings.length}`);
    expect(tokyo, 'in Tokyo (UTC+9) 14:00 UTC is late on the 21st and 23:30 UTC is the morning of the 22nd').toEqual([
      'upcoming:2026-11-21:2', 'upcoming:2026-11-22:2', 'past:2026-11-21:1', 'past:2026-11-19:1',
    ]);
  });
});

describe('formatDuration', () => {
  it.each([
    ['2026-11-21T10:00:00Z', '2026-11-21T10:15:00Z', '15 min'],
    ['2026-11-21T10:00:00Z', '2026-11-21T11:00:00Z', '1 h'],
    ['2026-11-21T10:00:00Z', '2026-11-21T11:30:00Z', '1 h 30 min'],
  ])('%s to %s lasts %s', (start, end, expected) => {
    expect(formatDuration(start, end), 'durations are shown in hours and minutes').toBe(expected);
  });
});

describe('instantMs', () => {
  it('reads chrono timestamps with nanoseconds', () => {
    expect(instantMs('2026-11-21T10:00:00.123456789Z'), 'fractions beyond milliseconds are dropped, not rejected')
      .toBe(Date.UTC(2026, 10, 21, 10, 0, 0, 123));
    expect(instantMs('2026-11-21T10:00:00Z'), 'plain seconds still parse').toBe(Date.UTC(2026, 10, 21, 10));
  });
});
