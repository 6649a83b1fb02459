// Realistic fixture data for the UI tests: an advisor's meetings around a given "now", including
// canceled, rescheduled and deleted meetings, answers, a no-show and a hostile invitee name.
import type { Account, ClientAnswer, ClientDetail, ClientSummary, EventType, InviteeDetail, MeetingDetail, MeetingSummary } from '../src/ipc';

export const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">';
export const HOSTILE_EVENT_NAME = '<script>window.__xss=2</script>Review';

export const ADVISOR: Account = {
  email: 'ada.advisor@example.com',
  name: 'Ada Advisor',
  userUri: 'https://api.calendly.com/users/ADVISOR0001',
  timezone: 'Europe/London',
  schedulingUrl: 'https://calendly.com/ada-advisor',
};

export const DEMO_ADVISOR: Account = {
  email: 'demo.advisor@advicly.test',
  name: 'Demo Advisor',
  userUri: 'http://127.0.0.1:0/users/DEMO',
  timezone: 'Europe/London',
  schedulingUrl: null,
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let inviteeCounter = 0;
export function invitee(name: string, email: string, extra: Partial<InviteeDetail> = {}): InviteeDetail {
  inviteeCounter += 1;
  return {
    uri: `https://api.calendly.com/scheduled_events/x/invitees/INV${String(inviteeCounter).padStart(5, '0')}`,
    name,
    email,
    status: 'active',
    timezone: 'Europe/London',
    questionsAndAnswers: [],
    noShow: false,
    canceledReason: null,
    ...extra,
  };
}

/** The advisor's event types (names and colours as Calendly would send them). */
export const EVENT_TYPES: EventType[] = [
  ['FINREV', 'Financial review', 45, '#0069ff'],
  ['RETIRE', 'Retirement planning', 60, '#8247f5'],
  ['INTRO', 'Introductory call', 15, '#17e885'],
  ['PORTFOLIO', 'Portfolio check-in', 30, '#ffa600'],
  ['TAX', 'Tax planning', 30, '#ff4f00'],
  ['ANNUAL', 'Annual review', 90, '#e55cff'],
  ['ESTATE', 'Estate planning', 60, '#0a7c66'],
].map(([id, name, minutes, color]) => ({
  uri: `https://api.calendly.com/event_types/${id}`, name: name as string, durationMinutes: minutes as number,
  color: color as string, kind: 'solo', schedulingUrl: `https://calendly.com/ada-advisor/${String(id).toLowerCase()}`, active: true,
}));

/** The event type a fixture meeting belongs to: the one named like the meeting, else the first. */
function eventTypeFor(name: string | null | undefined): EventType {
  return EVENT_TYPES.find((type) => type.name === name) ?? EVENT_TYPES[0];
}

export type MeetingSpec = Partial<MeetingDetail> & { id: string; start: Date; minutes?: number };

export function meeting(spec: MeetingSpec): MeetingDetail {
  const { id, start, minutes = 30, ...rest } = spec;
  const end = new Date(start.getTime() + minutes * MINUTE);
  const invitees = rest.invitees ?? [];
  const type = eventTypeFor(rest.name);
  return {
    uri: `https://api.calendly.com/scheduled_events/${id}`,
    name: 'Financial review',
    status: 'active',
    startTime: start.toISOString(),
    endTime: end.toISOString(),
    eventType: type.uri,
    eventTypeName: type.name,
    eventTypeColor: type.color,
    locationKind: 'zoom_conference',
    joinUrl: `https://zoom.us/j/9${id.replace(/\D/g, '').padEnd(9, '0').slice(0, 9)}`,
    canceledReason: null,
    canceledBy: null,
    rescheduledFrom: null,
    rescheduledTo: null,
    rescheduledToStart: null,
    deleted: false,
    clientEmails: invitees.map((person) => person.email),
    locationDetail: null,
    createdAt: new Date(start.getTime() - 7 * DAY).toISOString(),
    updatedAt: new Date(start.getTime() - 2 * DAY).toISOString(),
    lastChangeSource: 'poll',
    ...rest,
    invitees,
  };
}

/** Local wall-clock time `hour:minute` on the day `dayOffset` days from `now`, in UTC arithmetic. */
function at(now: Date, dayOffset: number, hour: number, minute = 0): Date {
  const base = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour, minute));
  return new Date(base.getTime() + dayOffset * DAY);
}

/** The advisor's book of meetings around `now` (about 20 meetings, 9 clients). */
export function advisorMeetings(now: Date): MeetingDetail[] {
  const grace = invitee('Grace Hopper', 'grace@hopper.example', {
    timezone: 'America/New_York',
    questionsAndAnswers: [
      { question: 'What would you like to discuss?', answer: 'Pension consolidation and my ISA allowance.' },
      { question: 'Phone number', answer: '+1 555 0100' },
    ],
  });
  const alan = invitee('Alan Turing', 'alan@turing.example', {
    questionsAndAnswers: [{ question: 'What would you like to discuss?', answer: 'Mortgage overpayments vs. investing.' }],
  });
  const katherine = invitee('Katherine Johnson', 'katherine@johnson.example', { timezone: 'America/Chicago' });
  const linus = invitee('Linus Pauling', 'linus@pauling.example');
  const marie = invitee('Marie Curie', 'marie@curie.example', { timezone: 'Europe/Paris' });
  const hostile = invitee(HOSTILE_NAME, 'mallory@evil.example', {
    questionsAndAnswers: [{ question: 'Anything else?', answer: '<b>bold</b><img src=y onerror="window.__xss=3">' }],
  });
  const rosalind = invitee('Rosalind Franklin', 'rosalind@franklin.example');
  const edsger = invitee('Edsger Dijkstra', 'edsger@dijkstra.example', { timezone: 'Europe/Amsterdam' });
  const barbara = invitee('Barbara Liskov', 'barbara@liskov.example');

  const rescheduledNewStart = at(now, 3, 15);
  return [
    // Upcoming
    meeting({ id: 'UP01', start: new Date(Math.ceil((now.getTime() + 2 * HOUR) / (15 * MINUTE)) * 15 * MINUTE), name: 'Financial review', invitees: [grace], minutes: 45 }),
    meeting({ id: 'UP02', start: at(now, 1, 9, 30), name: 'Retirement planning', invitees: [alan],
      minutes: 60 }),
    meeting({ id: 'UP03', start: at(now, 1, 14, 0), name: 'Introductory call', invitees: [katherine],
      minutes: 15, locationKind: 'outbound_call', joinUrl: null,
      locationDetail: '+1 555 0142' }),
    meeting({ id: 'UP04', start: at(now, 2, 10, 0), name: 'Portfolio check-in', invitees: [linus, marie],
      locationKind: 'physical', joinUrl: null, locationDetail: '12 High Street, Cambridge' }),
    meeting({ id: 'UP05', start: rescheduledNewStart, name: 'Tax planning', invitees: [rosalind],
      rescheduledFrom: 'https://api.calendly.com/scheduled_events/UP05OLD' }),
    meeting({ id: 'UP06', start: at(now, 4, 11, 0), name: HOSTILE_EVENT_NAME, invitees: [hostile] }),
    meeting({ id: 'UP07', start: at(now, 5, 16, 30), name: 'Financial review', invitees: [edsger], status: 'canceled',
      canceledReason: 'Travelling that week, will rebook', canceledBy: 'Edsger Dijkstra' }),
    meeting({ id: 'UP08', start: at(now, 8, 13, 0), name: 'Annual review', invitees: [barbara], minutes: 90,
      locationKind: 'google_conference', joinUrl: 'https://meet.google.com/abc-defg-hij' }),
    meeting({ id: 'UP09', start: at(now, 9, 9, 0), name: 'Estate planning', invitees: [grace], status: 'pending_review' }),
    // The original booking of UP05, moved to the new time.
    meeting({ id: 'UP05OLD', start: at(now, 2, 15), name: 'Tax planning', invitees: [rosalind], status: 'canceled',
      canceledReason: 'Rescheduled by invitee', canceledBy: 'Rosalind Franklin',
      rescheduledTo: 'https://api.calendly.com/scheduled_events/UP05', rescheduledToStart: rescheduledNewStart.toISOString() }),
    // Past
    meeting({ id: 'PA01', start: at(now, -1, 10, 0), name: 'Financial review', invitees: [alan] }),
    meeting({ id: 'PA02', start: at(now, -1, 15, 0), name: 'Introductory call', invitees: [invitee('Ada Lovelace', 'ada@lovelace.example', { noShow: true })],
      minutes: 15 }),
    meeting({ id: 'PA03', start: at(now, -3, 11, 0), name: 'Portfolio check-in', invitees: [marie], deleted: true }),
    meeting({ id: 'PA04', start: at(now, -6, 9, 0), name: 'Retirement planning', invitees: [katherine], minutes: 60,
      lastChangeSource: 'webhook' }),
    meeting({ id: 'PA05', start: at(now, -6, 14, 0), name: 'Financial review', invitees: [grace], status: 'canceled',
      canceledReason: 'Client unwell', canceledBy: 'Ada Advisor' }),
    meeting({ id: 'PA06', start: at(now, -14, 10, 0), name: 'Annual review', invitees: [barbara, edsger], minutes: 90 }),
    meeting({ id: 'PA07', start: at(now, -30, 16, 0), name: 'Introductory call', invitees: [linus], minutes: 15 }),
    meeting({ id: 'PA08', start: at(now, -45, 9, 0), name: null, invitees: [] }),
  ];
}

export function summaryOf(detail: MeetingDetail): MeetingSummary {
  const { locationDetail: _l, createdAt: _c, updatedAt: _u, lastChangeSource: _s, invitees, ...rest } = detail;
  return { ...rest, invitees: invitees.map(({ name, email, status }) => ({ name, email, status })) };
}

/** Clients derived from meetings the way the core does: one per (lower-cased) invitee e-mail. */
export function clientsOf(meetings: readonly MeetingDetail[], now: Date, notes: ReadonlyMap<string, { body: string }> = new Map()): ClientSummary[] {
  const clients = new Map<string, ClientSummary>();
  for (const item of meetings) {
    for (const person of item.invitees) {
      const email = person.email.trim().toLowerCase();
      const client = clients.get(email) ?? {
        email, name: person.name, meetingCount: 0, nextMeeting: null, lastMeeting: null, canceledMeetingCount: 0,
        note: notes.get(email)?.body ?? null,
      };
      if (item.deleted) {
        clients.set(email, client);
        continue;
      }
      if (item.status === 'active') {
        client.meetingCount += 1;
        if (Date.parse(item.endTime) > now.getTime()) {
          if (!client.nextMeeting || item.startTime < client.nextMeeting) client.nextMeeting = item.startTime;
        } else if (!client.lastMeeting || item.startTime > client.lastMeeting) {
          client.lastMeeting = item.startTime;
        }
      } else if (item.status === 'canceled') {
        client.canceledMeetingCount += 1;
      }
      clients.set(email, client);
    }
  }
  return [...clients.values()];
}

/** The client page the shell would build from these meetings (newest first; answers newest booking first). */
export function clientDetailOf(meetings: readonly MeetingDetail[], email: string, now: Date,
  notes: ReadonlyMap<string, { body: string; updatedAt: string }>): ClientDetail | null {
  const key = email.trim().toLowerCase();
  const client = clientsOf(meetings, now, notes).find((candidate) => candidate.email === key);
  if (!client) return null;
  const mine = meetings.filter((item) => item.invitees.some((person) => person.email.trim().toLowerCase() === key))
    .sort((a, b) => Date.parse(b.startTime) - Date.parse(a.startTime));
  const answers: ClientAnswer[] = [];
  const bookings = mine.flatMap((item) => item.invitees
    .filter((person) => person.email.trim().toLowerCase() === key)
    .map((person) => ({ item, person })))
    .sort((a, b) => Date.parse(b.item.createdAt) - Date.parse(a.item.createdAt));
  for (const { item, person } of bookings) {
    for (const qa of person.questionsAndAnswers) {
      answers.push({ meetingUri: item.uri, meetingName: item.name, meetingStart: item.startTime, answeredAt: item.createdAt,
        question: qa.question, answer: qa.answer });
    }
  }
  const emails = [...new Set(mine.flatMap((item) => item.invitees.map((person) => person.email.trim())
    .filter((address) => address.toLowerCase() === key)))].sort();
  const note = notes.get(key) ?? null;
  return { client, emails: emails.length > 0 ? emails : [key], meetings: mine.map(summaryOf), answers, note };
}

/** `count` plain meetings spread over two years around `now`, for the 10,000-row performance checks. */
export function manyMeetings(now: Date, count: number): MeetingDetail[] {
  const result: MeetingDetail[] = [];
  const first = now.getTime() - 365 * DAY;
  const step = Math.floor((2 * 365 * DAY) / count);
  for (let index = 0; index < count; index++) {
    const start = new Date(first + index * step - ((first + index * step) % (15 * MINUTE)));
    const person = invitee(`Client ${index % 700}`, `client${index % 700}@example.com`);
    result.push(meeting({ id: `MANY${String(index).padStart(5, '0')}`, start, invitees: [person],
      status: index % 17 === 0 ? 'canceled' : 'active', canceledReason: index % 17 === 0 ? 'Could not make it' : null }));
  }
  return result;
}

export const LONG_NAME = 'Maximilian Alexander Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh-Cholmondeley the Third';
export const LONG_EVENT_NAME = 'Comprehensive multi-generational estate, trust, inheritance-tax and charitable-giving strategy session (extended)';

/** 50 ten-minute meetings today from 08:00 UTC, every 10 minutes, with hostile and very long names among them. */
export function busyDayMeetings(now: Date): MeetingDetail[] {
  const base = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 8, 0));
  const result: MeetingDetail[] = [];
  for (let index = 0; index < 50; index++) {
    const start = new Date(base.getTime() + index * 10 * MINUTE);
    const name = index === 3 ? HOSTILE_EVENT_NAME : index === 7 ? LONG_EVENT_NAME : EVENT_TYPES[index % EVENT_TYPES.length].name;
    const person = index === 3 ? invitee(HOSTILE_NAME, 'mallory@evil.example')
      : index === 7 ? invitee(LONG_NAME, 'max@featherstonehaugh.example')
        : invitee(`Client ${index}`, `busy${index}@example.com`);
    result.push(meeting({ id: `BUSY${String(index).padStart(2, '0')}`, start, minutes: 10, name, invitees: [person],
      status: index % 9 === 4 ? 'canceled' : 'active', canceledReason: index % 9 === 4 ? 'Clash' : null }));
  }
  return result;
}

/**
 * Meetings in the week of the October 2026 clock change in London (Sunday 25 October, 02:00 BST → 01:00 GMT):
 * both 01:30s of that night, a Sunday-evening meeting that a 7 × 24 h week would lose, and one just after the week.
 */
export function dstWeekMeetings(): MeetingDetail[] {
  const grace = invitee('Grace Hopper', 'grace@hopper.example');
  const alan = invitee('Alan Turing', 'alan@turing.example');
  const at = (iso: string) => new Date(iso);
  return [
    meeting({ id: 'DSTMON', start: at('2026-10-19T08:00:00Z'), name: 'Financial review', invitees: [grace] }), // Mon 09:00 BST
    meeting({ id: 'DSTBST', start: at('2026-10-25T00:30:00Z'), name: 'Tax planning', invitees: [alan] }), // Sun 01:30 BST
    meeting({ id: 'DSTGMT', start: at('2026-10-25T01:30:00Z'), name: 'Annual review', invitees: [grace] }), // Sun 01:30 GMT
    meeting({ id: 'DSTSUN9', start: at('2026-10-25T09:00:00Z'), name: 'Retirement planning', invitees: [alan], minutes: 60 }), // Sun 09:00 GMT
    meeting({ id: 'DSTLATE', start: at('2026-10-25T23:30:00Z'), name: 'Introductory call', invitees: [grace], minutes: 15 }), // Sun 23:30 GMT
    meeting({ id: 'DSTNEXT', start: at('2026-10-26T00:15:00Z'), name: 'Portfolio check-in', invitees: [alan] }), // Mon 26, next week
  ];
}
