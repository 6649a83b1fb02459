// Realistic fixture data for the UI tests: an advisor's meetings around a given "now", including
// canceled, rescheduled and deleted meetings, answers, a no-show and a hostile invitee name.
import type { Account, ClientSummary, InviteeDetail, MeetingDetail, MeetingSummary } from '../src/ipc';

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

export type MeetingSpec = Partial<MeetingDetail> & { id: string; start: Date; minutes?: number };

export function meeting(spec: MeetingSpec): MeetingDetail {
  const { id, start, minutes = 30, ...rest } = spec;
  const end = new Date(start.getTime() + minutes * MINUTE);
  const invitees = rest.invitees ?? [];
  return {
    uri: `https://api.calendly.com/scheduled_events/${id}`,
    name: 'Financial review',
    status: 'active',
    startTime: start.toISOString(),
    endTime: end.toISOString(),
    eventType: 'Financial review (30 min)',
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
      eventType: 'Retirement planning (60 min)', minutes: 60 }),
    meeting({ id: 'UP03', start: at(now, 1, 14, 0), name: 'Introductory call', invitees: [katherine],
      eventType: 'Introductory call (15 min)', minutes: 15, locationKind: 'outbound_call', joinUrl: null,
      locationDetail: '+1 555 0142' }),
    meeting({ id: 'UP04', start: at(now, 2, 10, 0), name: 'Portfolio check-in', invitees: [linus, marie],
      locationKind: 'physical', joinUrl: null, locationDetail: '12 High Street, Cambridge' }),
    meeting({ id: 'UP05', start: rescheduledNewStart, name: 'Tax planning', invitees: [rosalind],
      rescheduledFrom: 'https://api.calendly.com/scheduled_events/UP05OLD' }),
    meeting({ id: 'UP06', start: at(now, 4, 11, 0), name: HOSTILE_EVENT_NAME, invitees: [hostile] }),
    meeting({ id: 'UP07', start: at(now, 5, 16, 30), name: 'Financial review', invitees: [edsger], status: 'canceled',
      canceledReason: 'Travelling that week, will rebook', canceledBy: 'Edsger Dijkstra' }),
    meeting({ id: 'UP08', start: at(now, 8, 13, 0), name: 'Annual review', invitees: [barbara], minutes: 90,
      eventType: 'Annual review (90 min)', locationKind: 'google_conference', joinUrl: 'https://meet.google.com/abc-defg-hij' }),
    meeting({ id: 'UP09', start: at(now, 9, 9, 0), name: 'Estate planning', invitees: [grace], status: 'pending_review' }),
    // The original booking of UP05, moved to the new time.
    meeting({ id: 'UP05OLD', start: at(now, 2, 15), name: 'Tax planning', invitees: [rosalind], status: 'canceled',
      canceledReason: 'Rescheduled by invitee', canceledBy: 'Rosalind Franklin',
      rescheduledTo: 'https://api.calendly.com/scheduled_events/UP05', rescheduledToStart: rescheduledNewStart.toISOString() }),
    // Past
    meeting({ id: 'PA01', start: at(now, -1, 10, 0), name: 'Financial review', invitees: [alan] }),
    meeting({ id: 'PA02', start: at(now, -1, 15, 0), name: 'Introductory call', invitees: [invitee('Ada Lovelace', 'ada@lovelace.example', { noShow: true })],
      minutes: 15, eventType: 'Introductory call (15 min)' }),
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

/** Clients derived from meetings the way the core does: one per invitee e-mail. */
export function clientsOf(meetings: readonly MeetingDetail[], now: Date): ClientSummary[] {
  const clients = new Map<string, ClientSummary>();
  for (const item of meetings) {
    for (const person of item.invitees) {
      const client = clients.get(person.email) ?? { email: person.email, name: person.name, meetingCount: 0, nextMeeting: null, lastMeeting: null };
      client.meetingCount += 1;
      if (!item.deleted && item.status === 'active') {
        if (Date.parse(item.startTime) > now.getTime()) {
          if (!client.nextMeeting || item.startTime < client.nextMeeting) client.nextMeeting = item.startTime;
        } else if (!client.lastMeeting || item.startTime > client.lastMeeting) {
          client.lastMeeting = item.startTime;
        }
      }
      clients.set(person.email, client);
    }
  }
  return [...clients.values()];
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
