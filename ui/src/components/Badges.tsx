// Status badges of a meeting: canceled (with its reason), rescheduled (with a link to the new time),
// "1 of 3 moved" for groups, invitees that could not be read, deleted.
import type { MeetingSummary } from '../ipc';
import { formatDateTime, type Zone } from '../format';

/** The status a row advertises in `data-status`: "deleted" wins, otherwise the wire status verbatim. */
export function effectiveStatus(meeting: Pick<MeetingSummary, 'status' | 'deleted'>): string {
  return meeting.deleted ? 'deleted' : meeting.status;
}

type BadgesProps = {
  meeting: MeetingSummary;
  zone: Zone;
  onOpenMeeting: (uri: string) => void;
  /** Show the full cancel reason rather than a one-line excerpt. */
  expanded?: boolean;
};

export function StatusBadges({ meeting, zone, onOpenMeeting, expanded = false }: BadgesProps) {
  const badges = [];
  if (meeting.deleted) {
    badges.push(
      <span key="deleted" class="badge badge-deleted" data-testid="badge-deleted"
        title="This meeting was deleted in Calendly; the copy on this computer is kept.">
        Deleted in Calendly
      </span>,
    );
  }
  if (meeting.rescheduledTo) {
    const target = meeting.rescheduledTo;
    badges.push(
      <span key="rescheduled" class="badge badge-rescheduled" data-testid="badge-rescheduled">
        Rescheduled
        <button type="button" class="badge-link" data-testid="rescheduled-link" data-target-uri={target}
          onClick={(event) => { event.stopPropagation(); onOpenMeeting(target); }}>
          {meeting.rescheduledToStart ? `to ${formatDateTime(meeting.rescheduledToStart, zone)}` : 'see new time'}
        </button>
      </span>,
    );
  } else if (meeting.status === 'canceled') {
    badges.push(
      <span key="canceled" class={`badge badge-canceled${expanded ? ' expanded' : ''}`} data-testid="badge-canceled"
        title={meeting.canceledReason ?? undefined}>
        Canceled
        {meeting.canceledReason ? <span class="badge-reason" data-testid="cancel-reason">{meeting.canceledReason}</span> : null}
      </span>,
    );
  }
  if (meeting.rescheduleNote && !meeting.rescheduledTo) {
    // Some members of a group moved; the meeting itself goes ahead.
    badges.push(
      <span key="moved-some" class="badge badge-moved" data-testid="badge-some-moved">
        {meeting.rescheduleNote}
      </span>,
    );
  }
  if (meeting.readError) {
    badges.push(
      <span key="unreadable" class="badge badge-other" data-testid="badge-read-error"
        title={meeting.readError}>
        Invitees could not be read
      </span>,
    );
  }
  if (meeting.rescheduledFrom && !meeting.rescheduledTo) {
    const source = meeting.rescheduledFrom;
    badges.push(
      <span key="from" class="badge badge-moved" data-testid="badge-rescheduled-from">
        <button type="button" class="badge-link" data-testid="rescheduled-from-link" data-target-uri={source}
          onClick={(event) => { event.stopPropagation(); onOpenMeeting(source); }}>
          Moved from earlier time
        </button>
      </span>,
    );
  }
  if (meeting.status !== 'active' && meeting.status !== 'canceled') {
    // An unknown status from a newer core is shown verbatim rather than hidden.
    badges.push(
      <span key="other" class="badge badge-other" data-testid="badge-other">{meeting.status}</span>,
    );
  }
  if (badges.length === 0) return null;
  return <span class="badges">{badges}</span>;
}
