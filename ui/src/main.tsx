// Entry point of the Advicly UI: asks for the first data at once, then mounts the app into #app.
import { render } from 'preact';
import { App } from './components/App';
import { markStartup, prefetchStartup } from './startup';
import './styles.css';

markStartup('advicly:script');
prefetchStartup();
const root = document.getElementById('app');
if (root) render(<App />, root);
