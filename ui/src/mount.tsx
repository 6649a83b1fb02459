// The app itself, loaded by main.tsx once the first read is on its way.
import { render } from 'preact';
import { App } from './components/App';

export function mount(root: HTMLElement): void {
  render(<App />, root);
}
