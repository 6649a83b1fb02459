// Small shared pieces: the event type's colour and name, and a client's name that opens their page.
import type { MeetingSummary } from '../ipc';
import { safeColor } from '../format';
import { useApp } from '../context';

/** The colour of a meeting's type, or null; only `#rrggbb` values from the shell are used. */
export function typeColor(meeting: Pick<MeetingSummary, 'eventTypeColor'>): string | null {
  return safeColor(meeting.eventTypeColor);
}

/** A colour swatch and the event type's name. Shows nothing while the type is unknown (never its URI). */
export function TypeLabel({ meeting }: { meeting: Pick<MeetingSummary, 'eventTypeName' | 'eventTypeColor'> }) {
  if (!meeting.eventTypeName) return null;
  const color = typeColor(meeting);
  return (
    <span class="type-label" data-testid="event-type">
      <span class="type-swatch" aria-hidden="true" style={color ? { background: color } : undefined} />
      <span class="type-name">{meeting.eventTypeName}</span>
    </span>
  );
}

/** A client's name as a button that opens the client's page. */
export function ClientLink({ email, name, className = '' }: { email: string; name: string; className?: string }) {
  const { openClient } = useApp();
  const label = name || email;
  return (
    <button type="button" class={`client-link ${className}`.trim()} data-testid="client-link" data-email={email}
      title={`Open ${label}’s page`}
      onClick={(event) => { event.stopPropagation(); openClient(email); }}>
      {label}
    </button>
  );
}
