// Entry point of the Advicly UI. This small first script only asks for the first data; the app's
// code (Preact and the screens, most of the bundle) loads while that round trip is under way, so
// the first screen no longer waits for the whole bundle to be parsed before the request starts.
import { markStartup, prefetchStartup } from './startup';
import './styles.css';

markStartup('advicly:script');
prefetchStartup();
const root = document.getElementById('app');
if (root) {
  import('./mount').then(({ mount }) => mount(root), (error: unknown) => {
    root.textContent = `Advicly could not load: ${String(error)}`;
  });
}
