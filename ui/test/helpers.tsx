// Shared helpers for the component tests: render <App> against a FakeShell at a fixed time and zone.
import { cleanup, fireEvent, render, waitFor } from '@testing-library/preact';
import { afterEach } from 'vitest';
import { App } from '../src/components/App';
import { FakeShell, type Scenario } from '../test-support/fakeShell';
import type { Zone } from '../src/format';

/** Saturday 21 November 2026, 10:00 UTC — a fixed "now" so day labels and sections are deterministic. */
export const NOW = new Date('2026-11-21T10:00:00Z');
export const LONDON: Zone = { timeZone: 'Europe/London', locale: 'en-GB' };

let installed: FakeShell | null = null;
afterEach(() => {
  cleanup();
  installed?.uninstall();
  installed = null;
});

export type RenderOptions = { zone?: Zone; prepare?: (shell: FakeShell) => void; waitForApp?: boolean; now?: Date; tab?: string };

export async function renderApp(scenario: Scenario, options: RenderOptions = {}) {
  const now = options.now ?? NOW;
  const shell = new FakeShell(scenario, now);
  options.prepare?.(shell);
  shell.install();
  installed = shell;
  const view = render(<App zone={options.zone ?? LONDON} clock={() => now} />);
  // The app is ready once the overview is in and the shell markup is there.
  if (options.waitForApp === false) return { shell, ...view };
  await waitFor(() => {
    if (!document.querySelector('.app')) throw new Error('app not loaded yet');
    // The overview is read again once the app listens to the shell's events: from then on no event is missed.
    if (shell.callsOf('get_overview').length < 2) throw new Error('not subscribed to events yet');
  });
  if (options.tab) fireEvent.click(document.getElementById(`${options.tab}-tab`)!);
  return { shell, ...view };
}

/** The app opened on "All meetings" (the screens start on Today). */
export function renderMeetings(scenario: Scenario, options: RenderOptions = {}) {
  return renderApp(scenario, { ...options, tab: 'meetings' });
}

export function $(selector: string): HTMLElement | null {
  return document.querySelector<HTMLElement>(selector);
}

export function $$(selector: string): HTMLElement[] {
  return [...document.querySelectorAll<HTMLElement>(selector)];
}

export async function until<T>(probe: () => T | null | undefined | false, what: string): Promise<T> {
  let value: T | null | undefined | false = null;
  await waitFor(() => {
    value = probe();
    if (!value) throw new Error(`still waiting for ${what}`);
  });
  return value as unknown as T;
}
