// Component tests of real time in the UI: the state in words, the demo's "Simulate a booking",
// the notification setting, and a delivery landing in the list without losing the advisor's place.
import { fireEvent } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { $, NOW, renderApp, renderMeetings, until } from './helpers';
import { invitee, meeting } from '../test-support/fixtures';
import { describeRealtime } from '../src/components/SyncPanel';

const text = (selector: string) => $(selector)?.textContent ?? '';

describe('real-time state', () => {
  it.each([
    [{ state: 'live', reason: null }, 'Live'],
    [{ state: 'off', reason: 'Real-time updates are off: your Calendly plan has no webhooks' }, 'Real-time updates are off: your Calendly plan has no webhooks'],
    [{ state: 'degraded', reason: 'The relay cannot be reached; reconnecting in 8 s' }, 'The relay cannot be reached; reconnecting in 8 s'],
    [{ state: 'connecting', reason: null }, 'Connecting to real-time updates…'],
  ] as const)('%o reads as %s', (realtime, words) => {
    // The sync panel says what the status JSON says, in words.
    expect(describeRealtime({ ...realtime, lastDeliveryAt: null, subscription: null })).toBe(words);
  });

  it('the sync panel follows realtime-changed events', async () => {
    const { shell } = await renderApp('connected');
    await until(() => $('#realtime-status'), 'the real-time line');
    expect($('#realtime-status')!.dataset.state).toBe('live');
    expect(text('#realtime-text')).toBe('Live');
    await shell.setRealtime({
      state: 'off', reason: 'Real-time updates are off: your Calendly plan has no webhooks',
      lastDeliveryAt: null, subscription: null,
    });
    await until(() => $('#realtime-status')?.dataset.state === 'off', 'off');
    expect(text('#realtime-text')).toBe('Real-time updates are off: your Calendly plan has no webhooks');
  });

  it('offers "Simulate a booking" in the demo only', async () => {
    const { shell } = await renderApp('demo');
    fireEvent.click(await until(() => $('#simulate-booking'), 'the demo button'));
    await until(() => shell.callsOf('simulate_booking').length === 1, 'the command');
    const real = await renderAppAgain();
    expect(real, 'a real account has no such button').toBeNull();
  });

  it('turns desktop notifications off and on', async () => {
    const { shell } = await renderApp('connected');
    fireEvent.click($('#connection-tab')!);
    const box = await until(() => $('#notifications-enabled') as HTMLInputElement, 'the setting');
    expect(box.checked, 'on by default').toBe(true);
    fireEvent.click(box);
    await until(() => shell.callsOf('set_notifications').length === 1, 'the command');
    expect(shell.callsOf('set_notifications')[0].args).toEqual({ enabled: false });
    await until(() => !($('#notifications-enabled') as HTMLInputElement).checked, 'unchecked');
    // One setting: the switch wrote the settings file's `notifications`, which Settings shows.
    expect(shell.settings.notifications).toBe(false);
    fireEvent.click($('#settings-tab')!);
    const inSettings = await until(() => $('#setting-notifications') as HTMLInputElement, 'the Settings screen');
    expect(inSettings.checked, 'Settings shows what the switch saved').toBe(false);
    expect(text('#setting-notifications-hint')).toContain('Saved in Settings');
  });

  it('says so when an environment variable fixes notifications and the switch cannot change them', async () => {
    const { shell } = await renderApp('connected', {
      prepare: (fake) => {
        fake.settings = {
          ...fake.settings, notifications: false,
          sources: { ...fake.settings.sources, notifications: 'environment' },
          lockedBy: { notifications: 'ADVICLY_NOTIFICATIONS' },
        };
      },
    });
    fireEvent.click($('#connection-tab')!);
    const box = await until(() => $('#notifications-enabled') as HTMLInputElement, 'the setting');
    expect(box.checked, 'the environment turned them off').toBe(false);
    fireEvent.click(box);
    await until(() => $('#notifications-fixed'), 'the explanation');
    expect(text('#notifications-fixed')).toContain('ADVICLY_NOTIFICATIONS');
    expect(shell.callsOf('set_notifications')[0].args).toEqual({ enabled: true });
    await until(() => !($('#notifications-enabled') as HTMLInputElement).checked, 'the switch shows what applies');
  });
});

async function renderAppAgain(): Promise<HTMLElement | null> {
  const { cleanup } = await import('@testing-library/preact');
  cleanup();
  await renderApp('connected');
  return $('#simulate-booking');
}

describe('a delivery landing in the open list', () => {
  it('keeps the search, the selection and the open detail', async () => {
    const { shell } = await renderMeetings('connected');
    const search = await until(() => $('#search') as HTMLInputElement, 'search box');
    fireEvent.input(search, { target: { value: 'review' } });
    await until(() => shell.callsOf('list_meetings').some((call) => (call.args as { query: { search: string } }).query.search === 'review'), 'searched');
    const first = await until(() => $('[data-testid=meeting-row] .row-main'), 'a row');
    const selectedUri = first.closest<HTMLElement>('[data-testid=meeting-row]')!.dataset.uri!;
    fireEvent.click(first);
    await until(() => $('.meeting-row.selected'), 'selected');
    const rowsBefore = Number($('#meeting-list')!.dataset.totalRows);

    await shell.addMeeting(meeting({
      id: 'REALTIME1', name: 'Financial review', start: new Date(NOW.getTime() + 26 * 3600_000),
      invitees: [invitee('New Client', 'new.client@example.com')],
    }));
    await until(() => $('[data-uri$="REALTIME1"]'), 'the new meeting in the list');
    // The advisor's search, selection and detail are where they were.
    expect(($('#search') as HTMLInputElement).value).toBe('review');
    expect($('.meeting-row.selected')!.dataset.uri).toBe(selectedUri);
    expect($('.with-detail'), 'the detail pane stays open').not.toBeNull();
    expect(Number($('#meeting-list')!.dataset.totalRows), 'one more meeting, changed in place').toBe(rowsBefore + 1);
  });
});

describe('scroll anchoring', () => {
  it('a meeting added above the rows in view moves them down by exactly one row', async () => {
    const { anchorAt, layoutGroups, rowTopOf, ROW_HEIGHT } = await import('../src/components/MeetingList');
    const { groupMeetings } = await import('../src/format');
    const { LONDON } = await import('./helpers');
    const day = (offset: number, hour: number) => new Date(Date.UTC(2026, 10, 23 + offset, hour));
    const book = (id: string, start: Date) => meeting({ id, start, invitees: [invitee(id, `${id}@example.com`)] });
    const before = [book('A', day(0, 9)), book('B', day(0, 11)), book('C', day(1, 9)), book('D', day(2, 9))];
    const layoutsBefore = layoutGroups(groupMeetings(before, NOW, LONDON)).layouts;
    // The advisor has scrolled so that C is at the top edge.
    const offset = rowTopOf(layoutsBefore, before[2].uri)!;
    const anchor = anchorAt(layoutsBefore, offset)!;
    expect(anchor.uri, 'the row at the top edge is the anchor').toBe(before[2].uri);
    // A booking for the first day arrives (above C).
    const after = [...before, book('E', day(0, 10))];
    const layoutsAfter = layoutGroups(groupMeetings(after, NOW, LONDON)).layouts;
    expect(rowTopOf(layoutsAfter, anchor.uri)! - anchor.top, 'C moved down by one row').toBe(ROW_HEIGHT);
  });
});
