// Component tests of the Meetings screen against the fake shell: groups, order, badges, empty states,
// search, detail, windowing and the XSS rule.
import { fireEvent, waitFor } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { $, $$, renderApp, renderMeetings, until } from './helpers';
import { MEETINGS_PAGE_SIZE } from '../src/components/MeetingsView';
import { HOSTILE_EVENT_NAME, HOSTILE_NAME } from '../test-support/fixtures';

const uriOf = (id: string) => `https://api.calendly.com/scheduled_events/${id}`;
const row = (id: string) => $(`[data-testid=meeting-row][data-uri="${uriOf(id)}"]`);

describe('meetings list', () => {
  it('shows upcoming groups before past groups, each group one day in the advisor’s zone', async () => {
    await renderMeetings('connected');
    const groups = await until(() => $$('[data-testid=day-group]').length > 3 && $$('[data-testid=day-group]'), 'day groups');
    const sections = groups.map((group) => group.dataset.section);
    const firstPast = sections.indexOf('past');
    expect(firstPast, 'there are past meetings in the fixture').toBeGreaterThan(0);
    expect(sections.slice(firstPast).every((section) => section === 'past'), 'no upcoming group may follow a past one').toBe(true);
    const upcomingDays = groups.filter((group) => group.dataset.section === 'upcoming').map((group) => group.dataset.day!);
    expect(upcomingDays, 'upcoming days are in ascending order').toEqual([...upcomingDays].sort());
    const pastDays = groups.filter((group) => group.dataset.section === 'past').map((group) => group.dataset.day!);
    expect(pastDays, 'past days are most recent first').toEqual([...pastDays].sort().reverse());
    expect(new Set(upcomingDays).size, 'one group per day').toBe(upcomingDays.length);
    expect(groups[0].textContent, 'the first group is today (the meeting two hours from now)').toContain('Today');
    expect($$('[data-testid=section-header]').map((header) => header.textContent), 'two section headings')
      .toEqual(['Upcoming', 'Past']);
  });

  it('groups a late-evening meeting under the next day in a zone east of UTC', async () => {
    const { shell } = await renderMeetings('connected', { zone: { timeZone: 'Asia/Tokyo', locale: 'en-GB' } });
    await until(() => row('UP02'), 'rows');
    // UP02 is at 09:30 UTC on 22 November, which is 18:30 the same day in Tokyo.
    const up02 = row('UP02')!;
    expect(up02.closest<HTMLElement>('[data-testid=day-group]')!.dataset.day, 'grouped by the Tokyo calendar day').toBe('2026-11-22');
    expect(shell.meetings.length, 'fixture sanity').toBeGreaterThan(10);
  });

  it('shows badges: canceled with reason, rescheduled with the new time, deleted, unknown status verbatim', async () => {
    await renderMeetings('connected');
    await until(() => row('UP07'), 'rows');
    const canceled = row('UP07')!;
    expect(canceled.dataset.status, 'canceled rows advertise their status').toBe('canceled');
    expect(canceled.querySelector('[data-testid=badge-canceled]')!.textContent, 'the reason is shown with the badge')
      .toContain('Travelling that week, will rebook');

    const moved = row('UP05OLD')!;
    const link = moved.querySelector<HTMLButtonElement>('[data-testid=rescheduled-link]')!;
    expect(link.textContent, 'the badge names the new time in London (15:00 on Tue 24 Nov)').toMatch(/Tue.*24 Nov.*15:00/);
    expect(moved.querySelector('[data-testid=badge-canceled]'), 'a rescheduled booking is not also labelled canceled').toBeNull();

    const deleted = row('PA03')!;
    expect(deleted.dataset.status, 'deleted wins over active').toBe('deleted');
    expect(deleted.querySelector('[data-testid=badge-deleted]')!.textContent, 'deleted badge text').toBe('Deleted in Calendly');

    expect(row('UP09')!.querySelector('[data-testid=badge-other]')!.textContent, 'unknown statuses are shown verbatim')
      .toBe('pending_review');
    expect(row('UP01')!.querySelector('.badge'), 'an ordinary active meeting has no badge').toBeNull();

    // Following the rescheduled link opens the new meeting.
    fireEvent.click(link);
    await until(() => $('#meeting-detail[data-loaded=true]'), 'detail');
    expect($('#meeting-detail')!.dataset.uri, 'the link opens the new booking').toBe(uriOf('UP05'));
  });

  it('searches in the core with a debounce and shows a no-results state', async () => {
    const { shell } = await renderMeetings('connected');
    await until(() => row('UP01'), 'rows');
    const before = shell.callsOf('list_meetings').length;
    const search = $('#search') as HTMLInputElement;
    for (const text of ['p', 'pe', 'pen', 'pension']) fireEvent.input(search, { target: { value: text } });
    await until(() => $$('[data-testid=meeting-row]').length === 3, 'filtered rows');
    const searches = shell.callsOf('list_meetings').slice(before);
    expect(searches.length, 'typing quickly sends one query after the debounce').toBe(1);
    expect((searches[0].args!.query as { search: string }).search, 'the search text goes to the core').toBe('pension');
    expect($$('[data-testid=meeting-row]').map((element) => element.dataset.uri).sort(),
      'the meetings of the invitee whose answer mentions pension match').toEqual([uriOf('PA05'), uriOf('UP01'), uriOf('UP09')]);

    fireEvent.input(search, { target: { value: 'zebra' } });
    const empty = await until(() => $('#empty-state[data-kind=no-results]'), 'no-results state');
    expect(empty.textContent, 'the empty state repeats the query and says what to do').toContain('zebra');
    fireEvent.click($('#clear-search')!);
    await until(() => $$('[data-testid=meeting-row]').length > 5, 'all rows back');
  });

  it('filters by status through the core', async () => {
    const { shell } = await renderMeetings('connected');
    await until(() => row('UP01'), 'rows');
    fireEvent.change($('#status-filter')!, { target: { value: 'canceled' } });
    await until(() => $$('[data-testid=meeting-row]').every((element) => element.dataset.status === 'canceled')
      && $$('[data-testid=meeting-row]').length > 0, 'canceled rows only');
    const last = shell.callsOf('list_meetings').at(-1)!;
    expect((last.args!.query as { status: string }).status, 'the filter is sent as MeetingQuery.status').toBe('canceled');
  });

  it('loads 10,000 meetings a page at a time and renders only the rows in view', async () => {
    const { shell } = await renderMeetings('many');
    const list = await until(() => $('#meeting-list'), 'list');
    expect(list.dataset.totalRows, 'one page is asked for, never all 10,000 meetings at once')
      .toBe(String(MEETINGS_PAGE_SIZE));
    expect(shell.callsOf('list_meetings').at(-1)?.args, 'the request carries the page size')
      .toMatchObject({ query: { limit: MEETINGS_PAGE_SIZE } });
    expect($('#meeting-count')?.textContent, 'the header still counts every stored meeting')
      .toContain('10,000 meetings on this computer');
    const rendered = $$('[data-testid=meeting-row]').length;
    expect(rendered, 'only a window of rows is in the DOM').toBeGreaterThan(5);
    expect(rendered, 'only a window of rows is in the DOM').toBeLessThan(60);

    fireEvent.click($('#show-more-meetings')!);
    await waitFor(() => expect($('#meeting-list')!.dataset.totalRows, 'Show more asks for the next page')
      .toBe(String(2 * MEETINGS_PAGE_SIZE)));
    expect($$('[data-testid=meeting-row]').length, 'the DOM stays windowed after loading more').toBeLessThan(60);
  });

  it('moves between rows with the arrow keys and opens one with Enter', async () => {
    await renderMeetings('connected');
    await until(() => row('UP01'), 'rows');
    const first = $('[data-index="0"]')!;
    first.focus();
    fireEvent.keyDown(first, { key: 'ArrowDown' });
    await waitFor(() => expect(document.activeElement?.getAttribute('data-index'), 'focus moves to the next row').toBe('1'));
    fireEvent.keyDown(document.activeElement!, { key: 'End' });
    const last = String(Number($('#meeting-list')!.dataset.totalRows) - 1);
    await waitFor(() => expect(document.activeElement?.getAttribute('data-index'), 'End goes to the last row').toBe(last));
  });
});

describe('empty states', () => {
  it('says to connect when no account is connected', async () => {
    await renderApp('disconnected');
    // With no account and no data the app opens on the connect screen.
    await until(() => $('#connect-oauth'), 'connect screen');
    fireEvent.click($('#meetings-tab')!);
    const empty = await until(() => $('#empty-state'), 'empty state');
    expect(empty.dataset.kind, 'not connected → connect').toBe('not-connected');
    fireEvent.click($('#empty-connect')!);
    await until(() => $('#connect-oauth'), 'back on the connect screen');
  });

  it('says to sync when connected but nothing is synced yet', async () => {
    const { shell } = await renderMeetings('connected-empty');
    fireEvent.click($('#meetings-tab')!);
    const empty = await until(() => $('#empty-state'), 'empty state');
    expect(empty.dataset.kind, 'connected, nothing synced → Sync').toBe('not-synced');
    fireEvent.click($('#empty-sync')!);
    await until(() => shell.callsOf('sync_now').length === 1, 'sync_now called');
  });

  it('keeps showing saved meetings when disconnected, with a note', async () => {
    await renderMeetings('disconnected-with-data');
    await until(() => row('UP01'), 'rows');
    expect($('#disconnected-notice'), 'the list explains that no account is connected').not.toBeNull();
  });
});

describe('meeting detail', () => {
  it('shows time, duration, type, location, join button, invitees, answers and no-show', async () => {
    const { shell } = await renderMeetings('connected');
    await until(() => row('UP01'), 'rows');
    fireEvent.click(row('UP01')!.querySelector('.row-main')!);
    const detail = await until(() => $('#meeting-detail[data-loaded=true]'), 'detail');
    expect($('#detail-duration')!.textContent, 'UP01 lasts 45 minutes').toBe('45 min');
    expect($('#detail-event-type')!.textContent, 'the event type by name, never its URI').toBe('Financial review');
    expect($('#detail-event-type [data-testid=event-type] .type-swatch')!.getAttribute('style'), 'in its colour').toContain('#0069ff');
    expect(detail.textContent, 'no URI anywhere in the detail').not.toContain('api.calendly.com');
    expect($('#detail-location')!.textContent, 'location kind in words').toContain('Zoom');
    expect($('#detail-when')!.textContent, 'the time is in the advisor zone').toContain('Europe/London');
    const invitee = detail.querySelector('[data-testid=invitee]')!;
    expect(invitee.querySelector('[data-testid=invitee-email]')!.textContent, 'e-mail').toBe('grace@hopper.example');
    expect(invitee.querySelector('[data-testid=invitee-timezone]')!.textContent, 'time zone').toContain('America/New_York');
    expect(invitee.querySelector('[data-testid=answers]')!.textContent, 'answers').toContain('Pension consolidation');

    fireEvent.click($('#join-meeting')!);
    await until(() => shell.callsOf('open_join_link').length === 1, 'join link opened');
    expect(shell.callsOf('open_join_link')[0].args, 'the shell opens the link by meeting URI').toEqual({ uri: uriOf('UP01') });

    fireEvent.click(row('PA02')!.querySelector('.row-main')!);
    await until(() => $('#meeting-detail[data-loaded=true]')?.dataset.uri === uriOf('PA02') && $('[data-testid=no-show]'), 'no-show');
  });

  it('goes back to the list when the meeting is gone (not_found)', async () => {
    const { shell } = await renderMeetings('connected');
    await until(() => row('UP02'), 'rows');
    shell.failNext('get_meeting', 'not_found', 'That meeting is not stored on this computer.');
    fireEvent.click(row('UP02')!.querySelector('.row-main')!);
    await until(() => $('#detail-notice'), 'notice');
    expect($('#meeting-detail'), 'the detail closes on not_found').toBeNull();
    expect($('#error-banner'), 'not_found is not an error banner').toBeNull();
  });
});

describe('untrusted text', () => {
  it('renders a hostile invitee name, event name and answer as text', async () => {
    await renderMeetings('connected');
    const hostileRow = await until(() => row('UP06'), 'hostile row');
    expect(hostileRow.querySelector('[data-testid=meeting-invitees]')!.textContent, 'the name is shown literally').toBe(HOSTILE_NAME);
    expect(hostileRow.querySelector('[data-testid=meeting-name]')!.textContent, 'the event name is shown literally').toBe(HOSTILE_EVENT_NAME);
    fireEvent.click(hostileRow.querySelector('.row-main')!);
    await until(() => $('#meeting-detail[data-loaded=true]'), 'detail');
    expect($('[data-testid=invitee-name]')!.textContent, 'detail shows the name literally').toBe(HOSTILE_NAME);
    expect($('[data-testid=answers]')!.textContent, 'answers are text too').toContain('<b>bold</b>');
    expect(document.querySelectorAll('img').length, 'no img element may be created from data').toBe(0);
    expect(document.querySelectorAll('script').length, 'no script element may be created from data').toBe(0);
    expect(document.querySelector('b'), 'no markup from answers').toBeNull();
    expect((window as unknown as { __xss?: unknown }).__xss, 'no payload ran').toBeUndefined();
  });
});

