// The Clients screen: the list (filtered by name, e-mail or note) and a client's page: e-mails, the
// private note, every meeting as a timeline (reschedules shown as one chain) and every answer, searchable.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ipc, type ClientDetail, type ClientSummary, type IpcError, type MeetingSummary } from '../ipc';
import { formatDate, formatDateTime, formatTime, instantMs, plural, type Zone } from '../format';
import { normalizeEmail, useApp } from '../context';
import { StatusBadges, effectiveStatus } from './Badges';
import { TypeLabel, typeColor } from './Labels';
import { MeetingDetailPane } from './MeetingDetail';

/** Clients are rendered in pages of this many, so thousands of clients stay fast. */
export const CLIENT_PAGE = 200;

/** Does the client match the filter text (name, e-mail or the private note)? */
export function clientMatches(client: ClientSummary, needle: string): boolean {
  if (needle === '') return true;
  return client.name.toLowerCase().includes(needle) || client.email.toLowerCase().includes(needle)
    || (client.note ?? '').toLowerCase().includes(needle);
}

export function ClientsView() {
  const { meetingsVersion, reportError, overview, openClientEmail, setOpenClientEmail } = useApp();
  const [clients, setClients] = useState<ClientSummary[] | null>(null);
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(CLIENT_PAGE);

  useEffect(() => {
    let current = true;
    ipc.listClients().then((result) => {
      if (current) setClients(result);
    }).catch((error: IpcError) => {
      if (!current) return;
      setClients([]);
      reportError(error);
    });
    return () => { current = false; };
  }, [meetingsVersion, reportError]);

  const filtered = useMemo(() => {
    if (!clients) return [];
    const needle = filter.trim().toLowerCase();
    return clients.filter((client) => clientMatches(client, needle))
      .sort((a, b) => (a.name || a.email).localeCompare(b.name || b.email) || a.email.localeCompare(b.email));
  }, [clients, filter]);

  useEffect(() => setShown(CLIENT_PAGE), [filter]);
  const selectedEmail = openClientEmail;

  return (
    <div class="clients-view">
      <header class="view-header">
        <div>
          <h1>Clients</h1>
          <p class="subtle" id="client-count">{clients === null ? 'Loading…' : plural(filtered.length, 'client')}</p>
        </div>
        <div class="toolbar">
          <label class="visually-hidden" for="client-search">Filter clients</label>
          <input id="client-search" type="search" placeholder="Filter by name, e-mail or note" value={filter}
            onInput={(event) => setFilter((event.currentTarget as HTMLInputElement).value)} />
        </div>
      </header>
      <div class={`split${selectedEmail ? ' with-detail' : ''}`}>
        <div class="list-pane clients-pane">
          {clients === null ? <p class="loading">Loading clients…</p> : filtered.length === 0 ? (
            <div class="empty-state" id="clients-empty" data-kind={clients.length === 0 ? 'no-clients' : 'no-results'}>
              <h2>{clients.length === 0 ? 'No clients yet' : 'No clients found'}</h2>
              <p>
                {clients.length === 0
                  ? overview.connection.state === 'connected'
                    ? 'Clients appear here once your meetings have been synced.'
                    : 'Connect your Calendly account and sync to see the people you meet.'
                  : 'No client matches this filter. Try part of a name, an e-mail address or a word from a note.'}
              </p>
            </div>
          ) : (
            <div class="client-list" role="list" aria-label="Clients">
              {filtered.slice(0, shown).map((client) => (
                <ClientRow key={client.email} client={client} selected={client.email === selectedEmail}
                  onSelect={() => setOpenClientEmail(client.email)} />
              ))}
              {filtered.length > shown ? (
                <button type="button" class="more" id="clients-more" onClick={() => setShown((count) => count + CLIENT_PAGE)}>
                  Show more ({(filtered.length - shown).toLocaleString()} left)
                </button>
              ) : null}
            </div>
          )}
        </div>
        {selectedEmail ? <ClientPage email={selectedEmail} onClose={() => setOpenClientEmail(null)} /> : null}
      </div>
    </div>
  );
}

function ClientRow({ client, selected, onSelect }: { client: ClientSummary; selected: boolean; onSelect: () => void }) {
  const { zone } = useApp();
  const element = useRef<HTMLDivElement>(null);
  // A client opened from another screen is shown in the list too.
  useEffect(() => {
    if (selected) element.current?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);
  return (
    <div role="listitem" ref={element} class={`client-row${selected ? ' selected' : ''}`} data-testid="client-row"
      data-email={client.email}>
      <button type="button" class="row-main" aria-current={selected ? 'true' : undefined} onClick={onSelect}>
        <span class="row-text">
          <span class="row-name" data-testid="client-name">{client.name || client.email}</span>
          <span class="row-invitees">
            {client.email}
            {client.note ? <span class="note-pill" data-testid="client-has-note"> · Note</span> : null}
          </span>
        </span>
        <span class="client-stats">
          <span class="client-count" data-testid="client-meeting-count">{plural(client.meetingCount, 'meeting')}</span>
          <span class="subtle" data-testid="client-next">
            {client.nextMeeting ? `Next ${formatDate(client.nextMeeting, zone)}` : 'No upcoming meeting'}
          </span>
          <span class="subtle" data-testid="client-last">
            {client.lastMeeting ? `Last ${formatDate(client.lastMeeting, zone)}` : 'No past meeting'}
          </span>
        </span>
      </button>
    </div>
  );
}

/** A booking and the bookings it replaced, newest (the one that stands) first. */
export type MeetingChain = { current: MeetingSummary; earlier: MeetingSummary[] };

/** Joins reschedules into chains (old booking → new booking), newest chain first. */
export function meetingChains(meetings: readonly MeetingSummary[]): MeetingChain[] {
  const byUri = new Map(meetings.map((meeting) => [meeting.uri, meeting]));
  const replaced = new Set<string>();
  for (const meeting of meetings) {
    if (meeting.rescheduledTo && byUri.has(meeting.rescheduledTo)) replaced.add(meeting.uri);
  }
  const chains: MeetingChain[] = [];
  for (const meeting of meetings) {
    if (replaced.has(meeting.uri)) continue;
    const earlier: MeetingSummary[] = [];
    const seen = new Set([meeting.uri]);
    // Walk back through the bookings this one replaced (guarded against a loop in bad data).
    let link = meetings.find((candidate) => candidate.rescheduledTo === meeting.uri && !seen.has(candidate.uri));
    while (link) {
      earlier.push(link);
      seen.add(link.uri);
      const target: string = link.uri;
      link = meetings.find((candidate) => candidate.rescheduledTo === target && !seen.has(candidate.uri));
    }
    chains.push({ current: meeting, earlier });
  }
  return chains.sort((a, b) => instantMs(b.current.startTime) - instantMs(a.current.startTime));
}

function ClientPage({ email, onClose }: { email: string; onClose: () => void }) {
  const { zone, now, meetingsVersion, reportError } = useApp();
  const [detail, setDetail] = useState<ClientDetail | null>(null);
  const [openUri, setOpenUri] = useState<string | null>(null);
  const [answerFilter, setAnswerFilter] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    let current = true;
    ipc.getClient(email).then((result) => {
      if (current) setDetail(result);
    }).catch((error: IpcError) => {
      if (!current) return;
      if (error.code === 'not_found') onCloseRef.current();
      else reportError(error);
    });
    return () => { current = false; };
  }, [email, meetingsVersion, reportError]);

  useEffect(() => {
    setOpenUri(null);
    setAnswerFilter('');
  }, [email]);
  const loaded = detail !== null && normalizeEmail(detail.client.email) === email;
  useEffect(() => {
    if (loaded) heading.current?.focus({ preventScroll: true });
  }, [loaded, email]);

  const chains = useMemo(() => (detail ? meetingChains(detail.meetings) : []), [detail]);
  const answers = useMemo(() => {
    if (!detail) return [];
    const needle = answerFilter.trim().toLowerCase();
    if (needle === '') return detail.answers;
    return detail.answers.filter((answer) => answer.question.toLowerCase().includes(needle)
      || answer.answer.toLowerCase().includes(needle) || (answer.meetingName ?? '').toLowerCase().includes(needle));
  }, [detail, answerFilter]);

  if (openUri) {
    return (
      <div class="client-detail-wrap">
        <button type="button" class="ghost back" id="back-to-client" onClick={() => setOpenUri(null)}>
          ← Back to <span>{detail?.client.name || email}</span>
        </button>
        <MeetingDetailPane uri={openUri} onOpenMeeting={setOpenUri} onClose={() => setOpenUri(null)}
          onGone={() => setOpenUri(null)} />
      </div>
    );
  }

  if (!loaded || !detail) {
    return (
      <section class="detail-pane client-detail" id="client-detail" data-email={email} data-loaded="false" aria-label="Client">
        <p class="loading">Loading…</p>
      </section>
    );
  }

  const { client } = detail;
  const name = client.name || client.email;
  const nowMs = now.getTime();
  const firstPast = chains.findIndex((chain) => instantMs(chain.current.endTime) <= nowMs);
  return (
    <section class="detail-pane client-detail" id="client-detail" aria-labelledby="client-detail-name"
      data-email={client.email} data-loaded="true">
      <div class="detail-toolbar">
        <div class="client-head">
          <h2 id="client-detail-name" tabIndex={-1} ref={heading}>{name}</h2>
          <p class="subtle" id="client-emails">{detail.emails.join(', ')}</p>
          <p class="subtle" id="client-summary">
            {plural(client.meetingCount, 'meeting')}
            {client.canceledMeetingCount > 0 ? ` · ${client.canceledMeetingCount} canceled` : ''}
            {client.nextMeeting ? ` · next ${formatDateTime(client.nextMeeting, zone)}` : ''}
          </p>
        </div>
        <button type="button" class="ghost" id="close-client" onClick={onClose}>Close</button>
      </div>
      <div class="detail-body client-body">
        <NoteEditor key={client.email} email={client.email} initial={detail.note?.body ?? ''} updatedAt={detail.note?.updatedAt ?? null}
          onSaved={(note) => setDetail((previous) => (previous ? { ...previous, note } : previous))} />

        <h3 id="timeline-heading">Meetings ({detail.meetings.length})</h3>
        {chains.length === 0 ? <p class="subtle">No meetings with this client.</p> : (
          <ol class="timeline" id="client-timeline" aria-labelledby="timeline-heading">
            {chains.flatMap((chain, index) => [
              ...(index === firstPast && firstPast > 0
                ? [<li key="now-divider" class="timeline-divider" aria-hidden="true"><span>Now</span></li>] : []),
              <TimelineEntry key={chain.current.uri} chain={chain} zone={zone} now={now} onOpen={setOpenUri} />,
            ])}
          </ol>
        )}

        <h3 id="answers-heading">Answers ({detail.answers.length})</h3>
        {detail.answers.length === 0 ? <p class="subtle" id="client-no-answers">No answers on any booking form.</p> : (
          <>
            <label class="visually-hidden" for="answer-search">Search this client’s answers</label>
            <input id="answer-search" type="search" placeholder="Search answers…" value={answerFilter}
              onInput={(event) => setAnswerFilter((event.currentTarget as HTMLInputElement).value)} />
            {answers.length === 0 ? <p class="subtle" id="answers-none">No answer matches.</p> : null}
            <ul class="client-answers" id="client-answers" aria-labelledby="answers-heading">
              {answers.map((answer, index) => (
                <li key={`${answer.meetingUri}-${index}`} class="client-answer" data-testid="client-answer"
                  data-meeting-uri={answer.meetingUri}>
                  <p class="answer-question">{answer.question}</p>
                  <p class="answer-text">{answer.answer}</p>
                  <p class="answer-meta subtle">
                    Booked {formatDate(answer.answeredAt, zone)} for{' '}
                    <button type="button" class="link" onClick={() => setOpenUri(answer.meetingUri)}>
                      {answer.meetingName ?? 'a meeting'} on {formatDate(answer.meetingStart, zone)}
                    </button>
                  </p>
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
    </section>
  );
}

function TimelineEntry({ chain, zone, now, onOpen }: { chain: MeetingChain; zone: Zone; now: Date; onOpen: (uri: string) => void }) {
  const meeting = chain.current;
  const status = effectiveStatus(meeting);
  const inactive = status === 'canceled' || status === 'deleted';
  const upcoming = instantMs(meeting.endTime) > now.getTime();
  const color = typeColor(meeting);
  return (
    <li class={`timeline-entry${inactive ? ' inactive' : ''}${upcoming ? ' upcoming' : ' past'}`} data-testid="timeline-entry"
      data-uri={meeting.uri} data-status={status} style={color ? { '--type-color': color } : undefined}>
      <button type="button" class="timeline-open" onClick={() => onOpen(meeting.uri)}>
        <span class="timeline-when">{formatDate(meeting.startTime, zone)}, {formatTime(meeting.startTime, zone)}</span>
        <span class="timeline-name">{meeting.name ?? 'Untitled meeting'}</span>
      </button>
      <span class="timeline-meta">
        <TypeLabel meeting={meeting} />
        <StatusBadges meeting={meeting} zone={zone} onOpenMeeting={onOpen} />
      </span>
      {chain.earlier.length > 0 ? (
        <ul class="timeline-chain" data-testid="reschedule-chain" aria-label="Earlier times of this booking">
          {chain.earlier.map((earlier) => (
            <li key={earlier.uri}>
              <button type="button" class="link" data-testid="chain-link" data-uri={earlier.uri} onClick={() => onOpen(earlier.uri)}>
                Moved from {formatDateTime(earlier.startTime, zone)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </li>
  );
}

type NoteProps = {
  email: string;
  initial: string;
  updatedAt: string | null;
  onSaved: (note: ClientDetail['note']) => void;
};

function NoteEditor({ email, initial, updatedAt, onSaved }: NoteProps) {
  const { zone, reportError } = useApp();
  const [text, setText] = useState(initial);
  const [saved, setSaved] = useState(initial);
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' | 'saved' | 'error'; message?: string }>({ kind: 'idle' });
  // The note changed elsewhere (another window, the CLI): take it unless the advisor is typing.
  // (Another client's page is a new editor: the caller keys it by e-mail.)
  const textRef = useRef(text);
  textRef.current = text;
  const savedRef = useRef(saved);
  savedRef.current = saved;
  const shownInitial = useRef(initial);
  useEffect(() => {
    if (shownInitial.current === initial) return;
    shownInitial.current = initial;
    if (textRef.current === savedRef.current) setText(initial);
    setSaved(initial);
  }, [initial]);
  const dirty = text !== saved;

  const save = () => {
    if (!dirty || status.kind === 'saving') return;
    const body = text;
    setStatus({ kind: 'saving' });
    ipc.setClientNote(email, body).then((note) => {
      setSaved(body);
      setStatus({ kind: 'saved' });
      onSaved(note);
    }).catch((error: IpcError) => {
      if (error.code === 'invalid_input' || error.code === 'internal' || error.code === 'not_found') {
        setStatus({ kind: 'error', message: error.message });
      } else {
        setStatus({ kind: 'error', message: error.message });
        reportError(error);
      }
    });
  };

  return (
    <section class="note" aria-labelledby="note-heading">
      <div class="note-head">
        <h3 id="note-heading"><label for="client-note">Private note</label></h3>
        <span class="hint" id="note-privacy">Kept only on this computer; never sent to Calendly.</span>
      </div>
      <textarea id="client-note" rows={4} value={text} aria-describedby="note-privacy note-status"
        placeholder="What to remember about this client…" spellcheck
        onInput={(event) => {
          setText((event.currentTarget as HTMLTextAreaElement).value);
          if (status.kind !== 'saving') setStatus({ kind: 'idle' });
        }}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            save();
          }
        }} />
      <div class="note-actions">
        <button type="button" id="save-note" class="primary small" disabled={!dirty || status.kind === 'saving'}
          aria-keyshortcuts="Control+Enter" onClick={save}>
          {status.kind === 'saving' ? 'Saving…' : 'Save note'}
        </button>
        {dirty ? <button type="button" class="ghost small" id="discard-note" onClick={() => { setText(saved); setStatus({ kind: 'idle' }); }}>
          Discard changes</button> : null}
        <span id="note-status" role="status" class={status.kind === 'error' ? 'field-error' : 'hint'} data-state={status.kind}>
          {status.kind === 'saved' ? (text.trim() === '' ? 'Note removed.' : 'Saved.')
            : status.kind === 'error' ? status.message
              : dirty ? 'Unsaved changes (Ctrl+Enter saves).'
                : updatedAt && saved.trim() !== '' ? `Last saved ${formatDateTime(updatedAt, zone)}` : ''}
        </span>
      </div>
    </section>
  );
}
