// The shared state every screen reads: overview from the shell, the clock, the zone and app-wide actions.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { IpcError, Overview } from './ipc';
import type { Zone } from './format';

export type Tab = 'today' | 'week' | 'meetings' | 'clients' | 'connection' | 'settings';

export type AppApi = {
  zone: Zone;
  now: Date;
  overview: Overview;
  /** Bumped on `meetings-changed`; views re-query when it changes. */
  meetingsVersion: number;
  /** The failure of the last sync, from `sync-failed` (cleared by the next `sync-started`). */
  syncFailure: IpcError | null;
  /** True between `connect_oauth`/`start_demo` resolving and the `connection-changed` that ends the flow. */
  waitingForBrowser: 'oauth' | 'demo' | null;
  goTo: (tab: Tab) => void;
  /** Opens a client's page (from wherever the client's name appears). */
  openClient: (email: string) => void;
  /** The client whose page is open on the Clients screen (normalised e-mail), if any. */
  openClientEmail: string | null;
  setOpenClientEmail: (email: string | null) => void;
  /** The app-wide reaction to an error a screen did not handle itself. */
  reportError: (error: IpcError) => void;
  syncNow: () => void;
  /** Why Sync cannot run right now, as a sentence; null when it can. */
  syncBlockedReason: string | null;
  setOverview: (update: (previous: Overview) => Overview) => void;
  setWaitingForBrowser: (flow: 'oauth' | 'demo' | null) => void;
  refreshOverview: () => Promise<void>;
};

export const AppContext = createContext<AppApi | null>(null);

export function useApp(): AppApi {
  const api = useContext(AppContext);
  if (!api) throw new Error('useApp must be used inside <App>.');
  return api;
}

/** Why Sync is disabled, in words the advisor can act on; null when it may run. */
export function syncBlockedReason(overview: Overview): string | null {
  if (!overview.online) return 'You are offline. Sync will be available again when the network is back.';
  switch (overview.connection.state) {
    case 'disconnected':
      return 'Connect a Calendly account to sync your meetings.';
    case 'connecting':
      return 'Finish connecting to Calendly first.';
    case 'needs_reconnect':
      return 'Reconnect your Calendly account to sync again.';
    case 'connected':
      return null;
  }
}

/** Clients are one per e-mail address, compared trimmed and lower-cased (as the core does). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
