// Component tests of the advisor's day against the fake shell: the Today agenda (start screen), the week
// grid (navigation, DST weeks, keyboard), and a client's page with the private note and answers.
import { fireEvent, waitFor } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { $, $$, NOW, renderApp, until } from './helpers';
import { HOSTILE_EVENT_NAME, HOSTILE_NAME, LONG_EVENT_NAME, LONG_NAME, meeting } from '../test-support/fixtures';

const uriOf = (id: string) => `https://api.calendly.com/scheduled_events/${id}`;
const item = (id: string) => $(`[data-testid=agenda-item][data-uri="${uriOf(id)}"]`);
const block = (id: string) => $(`[data-testid=week-block][data-uri="${uriOf(id)}"]`);
const text = (selector: string) => $(selector)?.textContent ?? '';

describe('today', () => {
  it('is the start screen: today’s meetings, the next one with a countdown and Join', async () => {
    const { shell } = await renderApp('connected');
    expect($('#today-tab')!.getAttribute('aria-selected'), 'Today is the first screen').toBe('true');
    await until(() => item('UP01'), 'the agenda');
    const query = shell.callsOf('list_meetings')[0].args!.query as { from: string; to: string; status: string };
    expect([query.from, query.to], 'today and the six days after it, from local midnight').toEqual([
      '2026-11-21T00:00:00.000Z', '2026-11-28T00:00:00.000Z',
    ]);
    const days = $$('[data-testid=agenda-day]').map((day) => day.dataset.day);
    expect(days[0], 'today first').toBe('2026-11-21');
    expect(days, 'days in order').toEqual([...days].sort());
    // UP01 starts at 12:00 UTC = 12:00 in London, two hours after NOW.
    expect(text('#next-meeting-countdown'), 'how long until it starts').toBe('in 2 h');
    expect($('#next-meeting')!.dataset.uri).toBe(uriOf('UP01'));
    expect(item('UP01')!.textContent, 'time, name, client and type').toMatch(/12:00.*12:45.*Financial review.*Grace Hopper/);
    expect(item('UP01')!.querySelector('[data-testid=event-type]')!.textContent).toBe('Financial review');
    expect($('#agenda')!.textContent, 'no URI is shown').not.toContain('api.calendly.com');
    fireEvent.click($('#next-join')!);
    await until(() => shell.callsOf('open_join_link').length === 1, 'join');
    expect(shell.callsOf('open_join_link')[0].args, 'joins by meeting, never by URL').toEqual({ uri: uriOf('UP01') });
  });

  it('strikes canceled meetings, opens the detail, and opens a client from their name', async () => {
    await renderApp('connected', { now: new Date('2026-11-26T07:00:00Z') });
    const canceled = await until(() => item('UP07'), 'the canceled meeting on its day');
    expect(canceled.dataset.status).toBe('canceled');
    expect(canceled.classList.contains('inactive'), 'struck through').toBe(true);
    fireEvent.click(canceled.querySelector('.agenda-open')!);
    await until(() => $(`#meeting-detail[data-loaded=true][data-uri="${uriOf('UP07')}"]`), 'detail');
    fireEvent.click(canceled.querySelector('[data-testid=client-link]')!);
    await until(() => $('#client-detail[data-loaded=true][data-email="edsger@dijkstra.example"]'), 'the client page');
    expect($('#clients-tab')!.getAttribute('aria-selected'), 'on the Clients screen').toBe('true');
  });

  it('shows every day of a busy week once the first screen is painted', async () => {
    // Ten meetings on each of the next six days: more than the first frame lays out.
    await renderApp('connected', {
      prepare: (shell) => {
        for (let day = 1; day <= 6; day++) {
          for (let hour = 0; hour < 10; hour++) {
            shell.meetings.push(meeting({ id: `B${day}${hour}`, start: new Date(Date.UTC(2026, 10, 21 + day, 7 + hour)) }));
          }
        }
      },
    });
    await until(() => item('UP01'), 'the agenda');
    await until(() => item('B69'), 'the last day of the week');
    expect($$('[data-testid=agenda-day]').map((day) => day.dataset.day), 'all seven days').toEqual([
      '2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27',
    ]);
  });

  it('shows 50 meetings in one day, hostile and very long names as text', async () => {
    await renderApp('busy-day');
    await until(() => item('BUSY49'), 'the busy day');
    const today = $('[data-testid=agenda-day][data-day="2026-11-21"]')!;
    expect(today.querySelectorAll('[data-testid=agenda-item]').length, 'every meeting of the day').toBe(50);
    expect(item('BUSY03')!.textContent, 'a script tag as text').toContain(HOSTILE_EVENT_NAME);
    expect(item('BUSY03')!.textContent, 'an img tag as text').toContain(HOSTILE_NAME);
    expect(item('BUSY07')!.textContent).toContain(LONG_EVENT_NAME);
    expect(item('BUSY07')!.textContent).toContain(LONG_NAME);
    expect(document.querySelector('#agenda img, #agenda script'), 'no element was injected').toBeNull();
    expect((window as { __xss?: number }).__xss).toBeUndefined();
  });

  it('explains an empty day', async () => {
    await renderApp('connected', { prepare: (shell) => { shell.meetings = shell.meetings.filter((meeting) => !meeting.uri.endsWith('/UP01')); } });
    await until(() => $('#agenda-none-today'), 'the empty today');
    expect(text('#agenda-none-today')).toContain('No meetings today');
  });
});

describe('week', () => {
  it('shows the week of today with blocks in their days, and moves between weeks', async () => {
    const { shell } = await renderApp('connected', { tab: 'week' });
    await until(() => $('#week[data-loaded=true]') && block('UP01'), 'the week');
    expect($('#week')!.dataset.weekStart, 'weeks start on Monday in en-GB').toBe('2026-11-16');
    expect($$('[data-testid=week-day-header]').map((header) => header.textContent)).toEqual([
      'Mon 16', 'Tue 17', 'Wed 18', 'Thu 19', 'Fri 20', 'Sat 21', 'Sun 22',
    ]);
    expect(block('UP01')!.dataset.day, 'in Saturday’s column').toBe('2026-11-21');
    expect(block('UP01')!.getAttribute('style'), 'coloured by its type').toContain('#0069ff');
    expect(block('UP01')!.textContent, 'a full sentence for screen readers').toMatch(/12:00 to 12:45, Financial review.*with Grace Hopper/);
    fireEvent.click($('#week-next')!);
    await until(() => $('#week[data-loaded=true][data-week-start="2026-11-23"]') && block('UP07'), 'next week');
    expect(block('UP07')!.dataset.status, 'canceled').toBe('canceled');
    expect(block('UP07')!.classList.contains('inactive'), 'struck').toBe(true);
    const query = shell.callsOf('list_meetings').at(-1)!.args!.query as { from: string; to: string };
    expect([query.from, query.to]).toEqual(['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z']);
    fireEvent.keyDown(block('UP07')!, { key: 'PageUp' });
    await until(() => $('#week[data-week-start="2026-11-16"]'), 'Page Up goes back a week');
    fireEvent.click($('#week-prev')!);
    await until(() => $('#week[data-week-start="2026-11-09"]'), 'the week before');
    fireEvent.click($('#week-today')!);
    await until(() => $('#week[data-week-start="2026-11-16"]'), 'back to this week');
  });

  it('asks for the right hours in the autumn clock-change week and places every meeting on its local day', async () => {
    const { shell } = await renderApp('dst-week', { tab: 'week', now: new Date('2026-10-21T10:00:00Z') });
    await until(() => $('#week[data-loaded=true]') && block('DSTLATE'), 'the DST week');
    expect($('#week')!.dataset.weekStart).toBe('2026-10-19');
    const query = shell.callsOf('list_meetings').at(-1)!.args!.query as { from: string; to: string };
    // Monday 19 October 00:00 BST to Monday 26 October 00:00 GMT: 169 hours, not 168.
    expect([query.from, query.to]).toEqual(['2026-10-18T23:00:00.000Z', '2026-10-26T00:00:00.000Z']);
    expect(block('DSTLATE')!.dataset.day, '23:30 GMT on Sunday stays on Sunday').toBe('2026-10-25');
    expect(block('DSTNEXT'), 'Monday 00:15 belongs to the next week').toBeNull();
    expect([block('DSTBST')!.dataset.startMinute, block('DSTGMT')!.dataset.startMinute], 'both 01:30s').toEqual(['90', '90']);
    expect(block('DSTBST')!.getAttribute('style'), 'side by side').toContain('50%');
    expect(block('DSTSUN9')!.dataset.startMinute, '09:00 GMT on Sunday at 09:00').toBe('540');
    expect(block('DSTMON')!.dataset.startMinute, '09:00 BST on Monday at 09:00').toBe('540');
  });

  it('asks for a 167-hour week in spring', async () => {
    const { shell } = await renderApp('connected', { tab: 'week', now: new Date('2027-03-24T10:00:00Z') });
    await until(() => $('#week[data-loaded=true]'), 'the spring week');
    const query = shell.callsOf('list_meetings').at(-1)!.args!.query as { from: string; to: string };
    expect([query.from, query.to]).toEqual(['2027-03-22T00:00:00.000Z', '2027-03-28T23:00:00.000Z']);
  });

  it('moves between blocks with the arrow keys and opens one with Enter', async () => {
    await renderApp('connected', { tab: 'week', now: new Date('2026-11-25T07:00:00Z') });
    await until(() => $('#week[data-loaded=true]') && block('UP04'), 'the week');
    // Thursday 26 has UP02 (09:30) and UP03 (14:00); Friday 27 has UP04 (10:00) and UP05OLD (15:00).
    const first = block('UP02')!;
    first.focus();
    fireEvent.keyDown(first, { key: 'ArrowDown' });
    expect(document.activeElement, 'down: the next meeting of the day').toBe(block('UP03'));
    fireEvent.keyDown(block('UP03')!, { key: 'ArrowRight' });
    expect(document.activeElement, 'right: the nearest meeting of the next day').toBe(block('UP05OLD'));
    fireEvent.keyDown(block('UP05OLD')!, { key: 'ArrowLeft' });
    expect(document.activeElement, 'left: back').toBe(block('UP03'));
    fireEvent.click(block('UP03')!);
    await until(() => $(`#meeting-detail[data-loaded=true][data-uri="${uriOf('UP03')}"]`), 'the detail');
    fireEvent.keyDown($('#meeting-detail')!, { key: 'Escape' });
    await until(() => !$('#meeting-detail'), 'Escape closes it');
  });
});

describe('client page', () => {
  async function openGrace() {
    const rendered = await renderApp('connected', { tab: 'clients' });
    fireEvent.click((await until(() => $('[data-testid=client-row][data-email="grace@hopper.example"] .row-main'), 'clients')));
    await until(() => $('#client-detail[data-loaded=true]'), 'Grace’s page');
    return rendered;
  }

  it('has the name, e-mails, every meeting newest first and every answer, searchable', async () => {
    await openGrace();
    expect(text('#client-detail-name')).toBe('Grace Hopper');
    expect(text('#client-emails')).toBe('grace@hopper.example');
    const entries = $$('[data-testid=timeline-entry]').map((entry) => entry.dataset.uri);
    expect(entries, 'upcoming, then past, newest first').toEqual([uriOf('UP09'), uriOf('UP01'), uriOf('PA05')]);
    expect($('.timeline-divider'), 'a "now" line between upcoming and past').not.toBeNull();
    expect($$('[data-testid=client-answer]').length, 'every answer').toBe(6);
    fireEvent.input($('#answer-search')!, { target: { value: 'ISA' } });
    await until(() => $$('[data-testid=client-answer]').length === 3, 'answers filtered');
    expect($$('[data-testid=client-answer]').every((answer) => answer.textContent!.includes('ISA allowance'))).toBe(true);
    fireEvent.input($('#answer-search')!, { target: { value: 'zzz' } });
    await until(() => $('#answers-none'), 'no match');
  });

  it('shows a reschedule as one chain', async () => {
    await renderApp('connected', { tab: 'clients' });
    fireEvent.click((await until(() => $('[data-testid=client-row][data-email="rosalind@franklin.example"] .row-main'), 'clients')));
    await until(() => $('#client-detail[data-loaded=true]'), 'Rosalind’s page');
    expect($$('[data-testid=timeline-entry]').map((entry) => entry.dataset.uri), 'the new booking stands for the chain')
      .toEqual([uriOf('UP05')]);
    const link = $('[data-testid=reschedule-chain] [data-testid=chain-link]')!;
    expect(link.dataset.uri).toBe(uriOf('UP05OLD'));
    expect(link.textContent).toMatch(/^Moved from /);
  });

  it('saves a private note that search finds and that survives reopening the page', async () => {
    const { shell } = await openGrace();
    const note = $('#client-note') as HTMLTextAreaElement;
    expect(($('#save-note') as HTMLButtonElement).disabled, 'nothing to save yet').toBe(true);
    fireEvent.input(note, { target: { value: 'Widowed in 2024; prefers <mornings>' } });
    expect(text('#note-status')).toContain('Unsaved');
    fireEvent.keyDown(note, { key: 'Enter', ctrlKey: true });
    await until(() => $('#note-status[data-state=saved]'), 'saved');
    expect(shell.callsOf('set_client_note')[0].args).toEqual({ email: 'grace@hopper.example', note: 'Widowed in 2024; prefers <mornings>' });
    fireEvent.click($('#close-client')!);
    fireEvent.click(await until(() => $('[data-testid=client-row][data-email="grace@hopper.example"] .row-main'), 'the list'));
    await until(() => ($('#client-note') as HTMLTextAreaElement | null)?.value === 'Widowed in 2024; prefers <mornings>', 'the note again');
    expect($('[data-testid=client-row][data-email="grace@hopper.example"] [data-testid=client-has-note]'), 'marked in the list').not.toBeNull();
    fireEvent.input($('#client-search')!, { target: { value: 'widowed' } });
    await until(() => $$('[data-testid=client-row]').length === 1, 'the client filter searches notes');

    fireEvent.click($('#meetings-tab')!);
    fireEvent.input(await until(() => $('#search'), 'search box'), { target: { value: 'widowed' } });
    await waitFor(() => expect($$('[data-testid=meeting-row]').map((row) => row.dataset.uri).sort(), 'the note finds her meetings')
      .toEqual([uriOf('PA05'), uriOf('UP01'), uriOf('UP09')]), { timeout: 3000 });
  });

  it('shows why a note could not be saved', async () => {
    const { shell } = await openGrace();
    shell.failNext('set_client_note', 'invalid_input', 'A note can hold up to 20000 characters; this one has 20001.');
    fireEvent.input($('#client-note')!, { target: { value: 'x' } });
    fireEvent.click($('#save-note')!);
    await until(() => $('#note-status[data-state=error]'), 'the error');
    expect(text('#note-status')).toContain('20000 characters');
    expect($('#error-banner'), 'next to the note, not in a banner').toBeNull();
  });

  it('renders a hostile answer as text', async () => {
    await renderApp('connected', { tab: 'clients' });
    fireEvent.click((await until(() => $('[data-testid=client-row][data-email="mallory@evil.example"] .row-main'), 'clients')));
    await until(() => $('#client-detail[data-loaded=true]'), 'the page');
    expect(text('#client-detail-name')).toBe(HOSTILE_NAME);
    expect(text('#client-answers')).toContain('<b>bold</b><img src=y onerror="window.__xss=3">');
    expect(document.querySelector('#client-detail img, #client-detail b'), 'nothing injected').toBeNull();
  });

  it('is reachable from a name in the meeting detail', async () => {
    await renderApp('connected', { tab: 'meetings' });
    fireEvent.click((await until(() => $(`[data-testid=meeting-row][data-uri="${uriOf('UP02')}"] .row-main`), 'rows')));
    await until(() => $('#meeting-detail[data-loaded=true]'), 'detail');
    fireEvent.click($('#meeting-detail [data-testid=invitee-name] [data-testid=client-link]')!);
    await until(() => $('#client-detail[data-loaded=true][data-email="alan@turing.example"]'), 'Alan’s page');
    expect(NOW.getTime()).toBeGreaterThan(0);
  });
});

describe('the sync’s words on the day’s screens', () => {
  const reason = 'Calendly refused the request: Permission Denied.';
  const prepare = (shell: { meetings: { uri: string; rescheduleNote?: string | null; movedInvitees?: number; inviteeCount?: number; readError?: string | null }[] }) => {
    for (const stored of shell.meetings) {
      if (stored.uri === uriOf('UP01')) Object.assign(stored, { movedInvitees: 1, inviteeCount: 3, rescheduleNote: '1 of 3 moved' });
      if (stored.uri === uriOf('UP09')) stored.readError = reason;
    }
  };

  it('Today says "1 of 3 moved" on a group that goes ahead', async () => {
    await renderApp('connected', { prepare });
    const today = await until(() => item('UP01'), 'the agenda');
    expect(today.querySelector('[data-testid=badge-some-moved]')?.textContent).toBe('1 of 3 moved');
    expect(today.querySelector('[data-testid=badge-rescheduled]'), 'the group is not "rescheduled"').toBeNull();
  });

  it('the Week shows "1 of 3 moved" and an unreadable invitee list on the blocks', async () => {
    // UP01 (Saturday of this week) both lost one of its three invitees and could not be re-read.
    const both: typeof prepare = (shell) => {
      prepare(shell);
      for (const stored of shell.meetings) if (stored.uri === uriOf('UP01')) stored.readError = reason;
    };
    await renderApp('connected', { tab: 'week', prepare: both });
    await until(() => $('#week[data-loaded=true]') && block('UP01'), 'the week');
    expect(block('UP01')!.querySelector('[data-testid=week-block-moved]')?.textContent).toBe(', 1 of 3 moved');
    expect(block('UP01')!.title, 'in the block’s name too').toContain('1 of 3 moved');
    const note = block('UP01')!.querySelector<HTMLElement>('[data-testid=week-block-read-error]')!;
    expect(note.textContent).toBe(', Invitees could not be read');
    expect(note.title, 'the reason on hover').toBe(reason);
  });

  it('the client page marks the meeting whose invitees could not be read, with the reason', async () => {
    await renderApp('connected', { tab: 'clients', prepare });
    fireEvent.click((await until(() => $('[data-testid=client-row][data-email="grace@hopper.example"] .row-main'), 'clients')));
    await until(() => $('#client-detail[data-loaded=true]'), 'Grace’s page');
    const entry = (id: string) => $(`[data-testid=timeline-entry][data-uri="${uriOf(id)}"]`)!;
    expect(entry('UP01').querySelector('[data-testid=badge-some-moved]')?.textContent).toBe('1 of 3 moved');
    const unreadable = entry('UP09').querySelector<HTMLElement>('[data-testid=badge-read-error]')!;
    expect(unreadable.textContent).toBe('Invitees could not be read');
    expect(unreadable.title).toBe(reason);
  });
});
