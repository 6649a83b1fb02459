// The sync's own wording on a meeting: "1 of 3 moved" for a group, and a meeting whose invitees
// could not be read from Calendly.
import { render } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { StatusBadges } from '../src/components/Badges';
import type { MeetingSummary } from '../src/ipc';

const workshop: MeetingSummary = {
  uri: 'https://api.calendly.com/scheduled_events/WORKSHOP',
  name: 'Pension workshop',
  status: 'active',
  startTime: '2026-11-25T10:00:00Z',
  endTime: '2026-11-25T11:00:00Z',
  eventType: null,
  eventTypeName: null,
  eventTypeColor: null,
  locationKind: 'zoom',
  joinUrl: null,
  canceledReason: null,
  canceledBy: null,
  rescheduledFrom: null,
  rescheduledTo: null,
  rescheduledToStart: null,
  movedInvitees: 1,
  inviteeCount: 3,
  rescheduleNote: '1 of 3 moved',
  readError: null,
  deleted: false,
  invitees: [],
  clientEmails: [],
};
const zone = { timeZone: 'UTC', locale: 'en-GB' };

describe('sync badges', () => {
  it('says how many of a group moved, and never that the active group was rescheduled', () => {
    const { container } = render(<StatusBadges meeting={workshop} zone={zone} onOpenMeeting={() => {}} />);
    expect(container.querySelector('[data-testid=badge-some-moved]')?.textContent).toBe('1 of 3 moved');
    expect(container.querySelector('[data-testid=badge-rescheduled]'), 'no "Rescheduled to" on a group that goes ahead').toBeNull();
  });

  it('marks a meeting whose invitees could not be read, with the reason as its title', () => {
    const reason = 'Calendly refused the request: Permission Denied.';
    const { container } = render(
      <StatusBadges meeting={{ ...workshop, rescheduleNote: null, readError: reason }} zone={zone} onOpenMeeting={() => {}} />,
    );
    const badge = container.querySelector<HTMLElement>('[data-testid=badge-read-error]');
    expect(badge?.textContent).toBe('Invitees could not be read');
    expect(badge?.title).toBe(reason);
  });
});
