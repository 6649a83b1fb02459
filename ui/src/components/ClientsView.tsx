// The Clients screen: clients with meeting counts and next/last meeting, and one client's meetings.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ipc, type ClientSummary, type IpcError, type MeetingSummary } from '../ipc';
import { formatDate, groupMeetings, plural } from '../format';
import { useApp } from '../context';
import { MeetingList } from './MeetingList';
import { MeetingDetailPane } from './MeetingDetail';

/** Clients are rendered in pages of this many, so thousands of clients stay fast. */
export const CLIENT_PAGE = 200;

export function ClientsView() {
  const { meetingsVersion, reportError, overview } = useApp();
  const [clients, setClients] = useState<ClientSummary[] | null>(null);
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(CLIENT_PAGE);
  const [selectedEmail, setSelectedEmail] = useState<string | null>(null);

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
    const list = needle === '' ? clients
      : clients.filter((client) => client.name.toLowerCase().includes(needle) || client.email.toLowerCase().includes(needle));
    return [...list].sort((a, b) => a.name.localeCompare(b.name) || a.email.localeCompare(b.email));
  }, [clients, filter]);

  useEffect(() => setShown(CLIENT_PAGE), [filter]);
  const selected = clients?.find((client) => client.email === selectedEmail) ?? null;

  return (
    <div class="clients-view">
      <header class="view-header">
        <div>
          <h1>Clients</h1>
          <p class="subtle" id="client-count">{clients === null ? 'Loading…' : plural(filtered.length, 'client')}</p>
        </div>
        <div class="toolbar">
          <label class="visually-hidden" for="client-search">Filter clients</label>
          <input id="client-search" type="search" placeholder="Filter by name or e-mail" value={filter}
            onInput={(event) => setFilter((event.currentTarget as HTMLInputElement).value)} />
        </div>
      </header>
      <div class={`split${selected ? ' with-detail' : ''}`}>
        <div class="list-pane clients-pane">
          {clients === null ? <p class="loading">Loading clients…</p> : filtered.length === 0 ? (
            <div class="empty-state" id="clients-empty" data-kind={clients.length === 0 ? 'no-clients' : 'no-results'}>
              <h2>{clients.length === 0 ? 'No clients yet' : 'No clients found'}</h2>
              <p>
                {clients.length === 0
                  ? overview.connection.state === 'connected'
                    ? 'Clients appear here once your meetings have been synced.'
                    : 'Connect your Calendly account and sync to see the people you meet.'
                  : 'No client matches this filter. Try part of a name or an e-mail address.'}
              </p>
            </div>
          ) : (
            <div class="client-list" role="list" aria-label="Clients">
              {filtered.slice(0, shown).map((client) => (
                <ClientRow key={client.email} client={client} selected={client.email === selectedEmail}
                  onSelect={() => setSelectedEmail(client.email)} />
              ))}
              {filtered.length > shown ? (
                <button type="button" class="more" id="clients-more" onClick={() => setShown((count) => count + CLIENT_PAGE)}>
                  Show more ({(filtered.length - shown).toLocaleString()} left)
                </button>
              ) : null}
            </div>
          )}
        </div>
        {selected ? <ClientDetail client={selected} onClose={() => setSelectedEmail(null)} /> : null}
      </div>
    </div>
  );
}

function ClientRow({ client, selected, onSelect }: { client: ClientSummary; selected: boolean; onSelect: () => void }) {
  const { zone } = useApp();
  return (
    <div role="listitem" class={`client-row${selected ? ' selected' : ''}`} data-testid="client-row" data-email={client.email}>
      <button type="button" class="row-main" aria-current={selected ? 'true' : undefined} onClick={onSelect}>
        <span class="row-text">
          <span class="row-name" data-testid="client-name">{client.name || client.email}</span>
          <span class="row-invitees">{client.email}</span>
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

function ClientDetail({ client, onClose }: { client: ClientSummary; onClose: () => void }) {
  const { zone, now, meetingsVersion, reportError } = useApp();
  const [meetings, setMeetings] = useState<MeetingSummary[] | null>(null);
  const [openUri, setOpenUri] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setMeetings(null);
    ipc.clientMeetings(client.email).then((result) => {
      if (current) setMeetings(result);
    }).catch((error: IpcError) => {
      if (!current) return;
      setMeetings([]);
      if (error.code === 'not_found') onClose();
      else reportError(error);
    });
    return () => { current = false; };
  }, [client.email, meetingsVersion, reportError]);

  useEffect(() => setOpenUri(null), [client.email]);
  const groups = useMemo(() => (meetings ? groupMeetings(meetings, now, zone) : []), [meetings, now, zone]);

  if (openUri) {
    return (
      <div class="client-detail-wrap">
        <button type="button" class="ghost back" id="back-to-client" onClick={() => setOpenUri(null)}>
          ← Back to <span>{client.name || client.email}</span>
        </button>
        <MeetingDetailPane uri={openUri} onOpenMeeting={setOpenUri} onClose={() => setOpenUri(null)}
          onGone={() => setOpenUri(null)} />
      </div>
    );
  }

  return (
    <section class="detail-pane client-detail" id="client-detail" aria-label={`Meetings with ${client.name}`}
      data-email={client.email}>
      <div class="detail-toolbar">
        <div>
          <h2 id="client-detail-name">{client.name || client.email}</h2>
          <p class="subtle">{client.email} · {plural(client.meetingCount, 'meeting')}</p>
        </div>
        <button type="button" class="ghost" id="close-client" onClick={onClose}>Close</button>
      </div>
      {meetings === null ? <p class="loading">Loading meetings…</p> : meetings.length === 0
        ? <p class="subtle">No meetings with this client.</p>
        : <MeetingList groups={groups} zone={zone} selectedUri={null} onOpen={setOpenUri}
          label={`Meetings with ${client.name}`} id="client-meeting-list" resetKey={client.email} />}
    </section>
  );
}
