// Test-only entry injected into the built UI by the Chromium tests: installs the fake shell (mockIPC)
// before the app's own script runs. The scenario comes from the page URL, e.g. `?scenario=offline`.
import { FakeShell, SCENARIOS, type Scenario } from '../test-support/fakeShell';

declare global {
  interface Window {
    __fakeShell?: FakeShell;
  }
}

const requested = new URLSearchParams(window.location.search).get('scenario') ?? 'connected';
const scenario: Scenario = (SCENARIOS as string[]).includes(requested) ? (requested as Scenario) : 'connected';
const shell = new FakeShell(scenario, new Date());
// Browser tests drive the demo flow step by step when asked to.
if (new URLSearchParams(window.location.search).get('manualDemo') === '1') shell.autoCompleteDemo = false;
shell.install();
window.__fakeShell = shell;
