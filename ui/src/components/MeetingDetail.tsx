// The meeting detail pane: time, duration, event type, location / join link, invitees, answers, no-show.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ipc, type IpcError, type MeetingDetail } from '../ipc';
import { formatDateTime, formatDuration, formatLongDate, formatTime, timeElsewhere } from '../format';
import { useApp } from '../context';
import { StatusBadges } from './Badges';
import { ClientLink, TypeLabel } from './Labels';

const LOCATION_LABELS: Record<string, string> = {
  zoom: 'Zoom',
  zoom_conference: 'Zoom',
  google_conference: 'Google Meet',
  microsoft_teams_conference: 'Microsoft Teams',
  webex_conference: 'Webex',
  gotomeeting_conference: 'GoTo Meeting',
  physical: 'In person',
  outbound_call: 'Phone call (you call)',
  inbound_call: 'Phone call (they call)',
  ask_invitee: 'Location from invitee',
  custom: 'Custom location',
};

export function locationLabel(kind: string | null): string {
  if (!kind) return 'No location';
  return LOCATION_LABELS[kind] ?? kind.replace(/_/g, ' ');
}

type DetailProps = {
  uri: string;
  onClose: () => void;
  onOpenMeeting: (uri: string) => void;
  /** The meeting does not exist (any more): the caller goes back to its list. */
  onGone: () => void;
};

export function MeetingDetailPane({ uri, onClose, onOpenMeeting, onGone }: DetailProps) {
  const { zone, meetingsVersion, reportError } = useApp();
  const [meeting, setMeeting] = useState<MeetingDetail | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const onGoneRef = useRef(onGone);
  onGoneRef.current = onGone;

  useEffect(() => {
    let current = true;
    ipc.getMeeting(uri).then((detail) => {
      if (current) setMeeting(detail);
    }).catch((error: IpcError) => {
      if (!current) return;
      if (error.code === 'not_found') onGoneRef.current();
      else reportError(error);
    });
    return () => { current = false; };
  }, [uri, meetingsVersion, reportError]);

  // Keyboard users land on the detail when it opens.
  const loadedUri = meeting?.uri;
  useEffect(() => {
    if (loadedUri === uri) heading.current?.focus({ preventScroll: true });
  }, [loadedUri, uri]);

  useEffect(() => setJoinError(null), [uri]);

  const join = () => {
    setJoinError(null);
    ipc.openJoinLink(uri).catch((error: IpcError) => {
      if (error.code === 'internal' || error.code === 'invalid_input' || error.code === 'not_found') setJoinError(error.message);
      else reportError(error);
    });
  };

  return (
    <aside class="detail-pane" id="meeting-detail" aria-label="Meeting details" data-uri={uri}
      data-loaded={String(meeting?.uri === uri)}>
      <div class="detail-toolbar">
        <button type="button" class="ghost" id="close-detail" onClick={onClose}>Close</button>
      </div>
      {!meeting || meeting.uri !== uri ? <p class="loading">Loading…</p> : (
        <div class="detail-body">
          <h2 tabIndex={-1} ref={heading} id="detail-name">{meeting.name ?? 'Untitled meeting'}</h2>
          <StatusBadges meeting={{ ...meeting, invitees: [] }} zone={zone} onOpenMeeting={onOpenMeeting} expanded />
          <dl class="facts">
            <dt>When</dt>
            <dd id="detail-when">
              {formatLongDate(meeting.startTime, zone)}, {formatTime(meeting.startTime, zone)}–{formatTime(meeting.endTime, zone)}
              <span class="subtle"> ({zone.timeZone})</span>
            </dd>
            <dt>Duration</dt>
            <dd id="detail-duration">{formatDuration(meeting.startTime, meeting.endTime)}</dd>
            <dt>Event type</dt>
            <dd id="detail-event-type">{meeting.eventTypeName ? <TypeLabel meeting={meeting} /> : '—'}</dd>
            <dt>Location</dt>
            <dd id="detail-location">
              <span>{locationLabel(meeting.locationKind)}</span>
              {meeting.locationDetail ? <span class="location-detail">{meeting.locationDetail}</span> : null}
              {meeting.joinUrl ? (
                <span class="join">
                  <button type="button" class="primary small" id="join-meeting" onClick={join}>
                    Join meeting
                  </button>
                  <span class="join-url" title="Opens in your browser">{meeting.joinUrl}</span>
                </span>
              ) : null}
              {joinError ? <span class="field-error" id="join-error">{joinError}</span> : null}
            </dd>
            {meeting.status === 'canceled' ? (
              <>
                <dt>Canceled</dt>
                <dd id="detail-canceled">
                  {meeting.canceledBy ? <>by <span>{meeting.canceledBy}</span></> : 'Yes'}
                  {meeting.canceledReason ? <>: <q>{meeting.canceledReason}</q></> : null}
                </dd>
              </>
            ) : null}
            {meeting.rescheduledTo ? (
              <>
                <dt>New time</dt>
                <dd>
                  <button type="button" class="link" id="detail-rescheduled-to"
                    onClick={() => onOpenMeeting(meeting.rescheduledTo as string)}>
                    {meeting.rescheduledToStart ? formatDateTime(meeting.rescheduledToStart, zone) : 'Open the new meeting'}
                  </button>
                </dd>
              </>
            ) : null}
            {meeting.rescheduledFrom ? (
              <>
                <dt>Moved from</dt>
                <dd>
                  <button type="button" class="link" id="detail-rescheduled-from"
                    onClick={() => onOpenMeeting(meeting.rescheduledFrom as string)}>
                    Open the earlier booking
                  </button>
                </dd>
              </>
            ) : null}
          </dl>

          <h3>Invitees ({meeting.invitees.length})</h3>
          {meeting.invitees.length === 0 ? <p class="subtle">No invitees.</p> : null}
          <ul class="invitees">
            {meeting.invitees.map((invitee) => (
              <li class="invitee" data-testid="invitee" key={invitee.uri} data-email={invitee.email}>
                <div class="invitee-head">
                  <span class="invitee-name" data-testid="invitee-name">
                    <ClientLink email={invitee.email} name={invitee.name} />
                  </span>
                  {invitee.noShow ? <span class="badge badge-noshow" data-testid="no-show">No-show</span> : null}
                  {invitee.rescheduledTo ? (
                    <button type="button" class="link" data-testid="invitee-moved-to"
                      onClick={() => onOpenMeeting(invitee.rescheduledTo as string)}>
                      {invitee.rescheduledToStart ? `Moved to ${formatDateTime(invitee.rescheduledToStart, zone)}` : 'Moved'}
                    </button>
                  ) : null}
                  {invitee.status !== 'active' ? <span class="badge badge-other">{invitee.status}</span> : null}
                </div>
                <div class="invitee-meta">
                  <span data-testid="invitee-email">{invitee.email}</span>
                  {invitee.timezone ? <span data-testid="invitee-timezone"> · {invitee.timezone}</span> : null}
                </div>
                {(() => {
                  const theirs = timeElsewhere(meeting.startTime, meeting.endTime, invitee.timezone, zone);
                  return theirs ? (
                    <p class="invitee-local-time" data-testid="invitee-local-time">
                      Their time: {theirs} ({invitee.timezone})
                    </p>
                  ) : null;
                })()}
                {invitee.canceledReason ? <p class="subtle">Canceled: <q>{invitee.canceledReason}</q></p> : null}
                {invitee.questionsAndAnswers.length > 0 ? (
                  <dl class="answers" data-testid="answers">
                    {invitee.questionsAndAnswers.map((qa, index) => (
                      <div key={index} class="answer">
                        <dt>{qa.question}</dt>
                        <dd>{qa.answer}</dd>
                      </div>
                    ))}
                  </dl>
                ) : null}
              </li>
            ))}
          </ul>
          <p class="subtle detail-footer">
            Booked {formatDateTime(meeting.createdAt, zone)} · last changed {formatDateTime(meeting.updatedAt, zone)}
            {meeting.lastChangeSource === 'webhook' ? ' (live update)' : ' (sync)'}
          </p>
        </div>
      )}
    </aside>
  );
}
