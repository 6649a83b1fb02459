// The Meetings screen: search (full text in the core, debounced), status filter, grouped list, detail pane.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ipc, type IpcError, type MeetingStatusFilter, type MeetingSummary } from '../ipc';
import { groupMeetings, plural } from '../format';
import { useApp } from '../context';
import { MeetingList } from './MeetingList';
import { MeetingDetailPane } from './MeetingDetail';

export const SEARCH_DEBOUNCE_MS = 250;
/** Meetings asked for at a time: lists cost per row, so 10,000 meetings are never loaded at once. */
export const MEETINGS_PAGE_SIZE = 300;

const STATUS_OPTIONS: { value: MeetingStatusFilter; label: string }[] = [
  { value: 'all', label: 'All meetings' },
  { value: 'upcoming', label: 'Upcoming' },
  { value: 'active', label: 'Active' },
  { value: 'canceled', label: 'Canceled' },
  { value: 'deleted', label: 'Deleted in Calendly' },
];

/** Runs `list_meetings` for the current search and filter; stale answers are dropped. */
function useMeetings(search: string, status: MeetingStatusFilter, limit: number) {
  const { meetingsVersion, overview, reportError } = useApp();
  const [meetings, setMeetings] = useState<MeetingSummary[] | null>(null);
  const [error, setError] = useState<IpcError | null>(null);
  const requestNumber = useRef(0);
  const connectionState = overview.connection.state;
  useEffect(() => {
    const mine = ++requestNumber.current;
    ipc.listMeetings({ search: search === '' ? null : search, status, from: null, to: null, clientEmail: null, limit })
      .then((result) => {
        if (mine !== requestNumber.current) return;
        setMeetings(result);
        setError(null);
      })
      .catch((failure: IpcError) => {
        if (mine !== requestNumber.current) return;
        setError(failure);
        setMeetings([]);
        reportError(failure);
      });
  }, [search, status, limit, meetingsVersion, connectionState, reportError]);
  return { meetings, error };
}

export function MeetingsView() {
  const { zone, now, overview } = useApp();
  const [text, setText] = useState('');
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<MeetingStatusFilter>('all');
  const [selectedUri, setSelectedUri] = useState<string | null>(null);
  const [detailNotice, setDetailNotice] = useState<string | null>(null);

  useEffect(() => {
    const timer = setTimeout(() => setSearch(text.trim()), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text]);

  // "Show more" pages belong to one search and filter; a new search starts again at one page.
  const listKey = `${search}|${status}`;
  const [shown, setShown] = useState({ key: listKey, pages: 1 });
  const pages = shown.key === listKey ? shown.pages : 1;
  const limit = pages * MEETINGS_PAGE_SIZE;
  const { meetings, error } = useMeetings(search, status, limit);
  const hasMore = meetings !== null && meetings.length >= limit;
  const groups = useMemo(() => (meetings ? groupMeetings(meetings, now, zone) : []), [meetings, now, zone]);

  const openMeeting = (uri: string) => {
    setDetailNotice(null);
    setSelectedUri(uri);
  };

  return (
    <div class="meetings-view" onKeyDown={(event) => {
      if (event.key === 'Escape' && selectedUri) setSelectedUri(null);
    }}>
      <header class="view-header">
        <div>
          <h1>All meetings</h1>
          <p class="subtle" id="meeting-count">
            {meetings === null ? 'Loading…' : search || status !== 'all'
              ? `${plural(meetings.length, 'meeting')} found`
              : `${plural(hasMore ? overview.meetingCount : meetings.length, 'meeting')} on this computer`}
            {hasMore ? ` · showing the first ${meetings?.length ?? 0}` : ''}
          </p>
        </div>
        <div class="toolbar" role="search">
          <label class="visually-hidden" for="search">Search meetings</label>
          <input id="search" type="search" placeholder="Search names, e-mails, answers…" value={text}
            autoComplete="off" spellcheck={false}
            onInput={(event) => setText((event.currentTarget as HTMLInputElement).value)} />
          <label class="visually-hidden" for="status-filter">Status</label>
          <select id="status-filter" value={status}
            onChange={(event) => setStatus((event.currentTarget as HTMLSelectElement).value as MeetingStatusFilter)}>
            {STATUS_OPTIONS.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
          </select>
        </div>
      </header>
      {overview.connection.state === 'disconnected' && meetings !== null && meetings.length > 0 ? (
        <p class="notice notice-info" id="disconnected-notice">
          No Calendly account is connected. These are the meetings saved on this computer.
        </p>
      ) : null}
      {detailNotice ? <p class="notice notice-info" id="detail-notice" role="status">{detailNotice}</p> : null}
      <div class={`split${selectedUri ? ' with-detail' : ''}`}>
        <div class="list-pane">
          {meetings === null ? <p class="loading">Loading meetings…</p>
            : meetings.length === 0 ? <MeetingsEmptyState search={search} status={status} failed={Boolean(error)}
              onClear={() => { setText(''); setSearch(''); setStatus('all'); }} />
              : <MeetingList groups={groups} zone={zone} selectedUri={selectedUri} onOpen={openMeeting}
                label="Meetings" id="meeting-list" resetKey={listKey} />}
          {hasMore ? (
            <button type="button" id="show-more-meetings" class="show-more"
              onClick={() => setShown({ key: listKey, pages: pages + 1 })}>
              Show more meetings
            </button>
          ) : null}
        </div>
        {selectedUri ? (
          <MeetingDetailPane uri={selectedUri} onOpenMeeting={openMeeting}
            onClose={() => setSelectedUri(null)}
            onGone={() => { setSelectedUri(null); setDetailNotice('That meeting is no longer on this computer.'); }} />
        ) : null}
      </div>
    </div>
  );
}

type EmptyProps = { search: string; status: MeetingStatusFilter; failed: boolean; onClear: () => void };

export function MeetingsEmptyState({ search, status, failed, onClear }: EmptyProps) {
  const { overview, goTo, syncNow, syncBlockedReason } = useApp();
  if (failed) {
    return (
      <div class="empty-state" id="empty-state" data-kind="error">
        <h2>Meetings could not be loaded</h2>
        <p>See the message above. Your saved meetings are not affected.</p>
      </div>
    );
  }
  if (search !== '' || status !== 'all') {
    return (
      <div class="empty-state" id="empty-state" data-kind="no-results">
        <h2>No meetings found</h2>
        <p>
          {search !== '' ? <>Nothing matches “<span class="query">{search}</span>”. </> : 'No meetings have this status. '}
          Try another name, e-mail address or word from an answer, or clear the search.
        </p>
        <button type="button" id="clear-search" onClick={onClear}>Clear search and filter</button>
      </div>
    );
  }
  const { connection, sync } = overview;
  if (connection.state === 'disconnected' || connection.state === 'connecting') {
    return (
      <div class="empty-state" id="empty-state" data-kind="not-connected">
        <h2>Connect your Calendly account</h2>
        <p>Advicly keeps a copy of your Calendly meetings on this computer. Connect your account to bring them in.</p>
        <button type="button" class="primary" id="empty-connect" onClick={() => goTo('connection')}>Connect Calendly…</button>
      </div>
    );
  }
  if (!sync.lastSync) {
    return (
      <div class="empty-state" id="empty-state" data-kind="not-synced">
        <h2>No meetings yet</h2>
        <p>Your account is connected. Run the first sync to bring in your meetings from Calendly.</p>
        <button type="button" class="primary" id="empty-sync" disabled={Boolean(syncBlockedReason) || sync.running}
          onClick={syncNow}>
          {sync.running ? 'Syncing…' : 'Sync now'}
        </button>
        {syncBlockedReason ? <p class="hint">{syncBlockedReason}</p> : null}
      </div>
    );
  }
  return (
    <div class="empty-state" id="empty-state" data-kind="no-meetings">
      <h2>No meetings in Calendly</h2>
      <p>The last sync found no meetings. New bookings appear here after the next sync.</p>
    </div>
  );
}
