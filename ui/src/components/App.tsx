// The application shell: loads the overview, subscribes to shell events, routes errors and tabs.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ipc, listenAll, type IpcError, type Overview } from '../ipc';
import { reactionFor } from '../errors';
import { markStartup, takeStartupOverview } from '../startup';
import { systemZone, type Zone } from '../format';
import { AppContext, normalizeEmail, syncBlockedReason, useApp, type AppApi, type Tab } from '../context';
import { MeetingsView } from './MeetingsView';
import { TodayView } from './TodayView';
import { WeekView } from './WeekView';
import { ClientsView } from './ClientsView';
import { ConnectionView } from './ConnectionView';
import { SettingsView } from './SettingsView';
import { SyncPanel } from './SyncPanel';
import { ErrorBanner, Notices } from './Notices';

type AppProps = {
  /** Defaults to the system zone; tests pass a fixed one. */
  zone?: Zone;
  /** Defaults to the system clock; tests pass a fixed one. */
  clock?: () => Date;
};

const TABS: { tab: Tab; id: string; label: string }[] = [
  { tab: 'today', id: 'today-tab', label: 'Today' },
  { tab: 'week', id: 'week-tab', label: 'Week' },
  { tab: 'meetings', id: 'meetings-tab', label: 'All meetings' },
  { tab: 'clients', id: 'clients-tab', label: 'Clients' },
  { tab: 'connection', id: 'connection-tab', label: 'Account & sync' },
  { tab: 'settings', id: 'settings-tab', label: 'Settings' },
];

export function App({ zone: zoneProp, clock = () => new Date() }: AppProps) {
  const zone = useMemo(() => zoneProp ?? systemZone(), [zoneProp]);
  const clockRef = useRef(clock);
  clockRef.current = clock;
  const [now, setNow] = useState(() => clock());
  const [overview, setOverviewState] = useState<Overview | null>(null);
  const [loadError, setLoadError] = useState<IpcError | null>(null);
  const [tab, setTab] = useState<Tab>('today');
  const [openClientEmail, setOpenClientEmail] = useState<string | null>(null);
  const openClient = useCallback((email: string) => {
    setOpenClientEmail(normalizeEmail(email));
    setTab('clients');
  }, []);
  const [banner, setBanner] = useState<IpcError | null>(null);
  const [meetingsVersion, setMeetingsVersion] = useState(0);
  const [syncFailure, setSyncFailure] = useState<IpcError | null>(null);
  const [waitingForBrowser, setWaitingForBrowser] = useState<'oauth' | 'demo' | null>(null);

  const setOverview = useCallback((update: (previous: Overview) => Overview) => {
    setOverviewState((previous) => (previous ? update(previous) : previous));
  }, []);

  // With nothing stored and no account, the connect screen is the useful first screen. Decided with the
  // first overview, in the same render, so no other screen (and its query) comes first.
  const firstLoad = useRef(true);
  const applyOverview = useCallback((fresh: Overview) => {
    if (firstLoad.current) {
      firstLoad.current = false;
      if (fresh.connection.state !== 'connected' && fresh.meetingCount === 0) setTab('connection');
      markStartup('advicly:overview');
    }
    // An unchanged overview keeps its identity: re-rendering every screen for nothing costs frames.
    setOverviewState((previous) => (previous && JSON.stringify(previous) === JSON.stringify(fresh) ? previous : fresh));
    setLoadError(null);
  }, []);

  const refreshOverview = useCallback(async () => {
    try {
      applyOverview(await ipc.getOverview());
    } catch (error) {
      setLoadError(error as IpcError);
    }
  }, [applyOverview]);

  const reportError = useCallback((error: IpcError) => {
    switch (reactionFor(error.code)) {
      case 'show-connect':
        setOverview((previous) => ({ ...previous, connection: { ...previous.connection, state: 'disconnected' } }));
        setTab('connection');
        void refreshOverview();
        return;
      case 'show-reconnect':
        setOverview((previous) => ({
          ...previous,
          connection: { ...previous.connection, state: 'needs_reconnect', reason: error.message },
        }));
        void refreshOverview();
        return;
      case 'offline':
        setOverview((previous) => ({ ...previous, online: false }));
        return;
      case 'back-to-list':
        // The screen that asked for the missing item closes it itself; nothing app-wide to do.
        return;
      case 'connect-message':
      case 'token-message':
      case 'input-message':
      case 'banner':
        // Screens handle their own messages; anything that reaches here goes to the banner.
        setBanner(error);
        return;
    }
  }, [refreshOverview, setOverview]);

  const syncNow = useCallback(() => {
    ipc.syncNow().catch((error: IpcError) => {
      setSyncFailure(error);
      reportError(error);
    });
  }, [reportError]);

  // The first overview (asked for as the script started) comes first; the eight event subscriptions
  // (one IPC round trip each) wait until the first screen is painted, so they do not compete with it.
  // Once subscribed, the overview is read again and the screens re-query if a sync ended meanwhile, so
  // nothing that happened before the subscription is lost.
  // A layout effect, because Preact runs plain effects only after the next frame: waiting for the
  // overview would otherwise start after a frame (and a paint of "Loading…") instead of at once.
  useLayoutEffect(() => {
    let stop: (() => void) | null = null;
    let cancelled = false;
    let firstSync: string | null | undefined;
    const first = takeStartupOverview().then((fresh) => {
      firstSync = fresh.sync.lastSync?.finishedAt ?? null;
      applyOverview(fresh);
    }, (error: IpcError) => setLoadError(error));
    const afterFirstPaint = first.then(() => new Promise<void>((done) => {
      if (typeof requestAnimationFrame !== 'function') return done();
      requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0)));
    }));
    afterFirstPaint.then(() => (cancelled ? null : listenAll({
      'meetings-changed': () => {
        setMeetingsVersion((version) => version + 1);
        void ipc.getOverview().then((fresh) => setOverview((previous) => ({ ...previous, meetingCount: fresh.meetingCount })), () => undefined);
      },
      'sync-started': () => {
        setSyncFailure(null);
        setOverview((previous) => ({ ...previous, sync: { ...previous.sync, running: true, progress: null } }));
      },
      'sync-progress': (progress) => {
        setOverview((previous) => ({ ...previous, sync: { ...previous.sync, running: true, progress } }));
      },
      'sync-finished': (sync) => {
        setSyncFailure(null);
        // A finished sync has just talked to Calendly, so the network is back even if no event said so.
        setOverview((previous) => ({ ...previous, sync, online: true }));
      },
      'sync-failed': ({ code, message, sync }) => {
        setSyncFailure({ code, message });
        setOverview((previous) => ({ ...previous, sync }));
        if (code === 'needs_reconnect' || code === 'not_connected') void refreshOverview();
        // An outage of Calendly's sign-in service is not the network being down: say which it is.
        if (code === 'offline') {
          void ipc.getOverview().then((fresh) => setOverviewState(fresh.connection.signInRetryAt ? fresh : { ...fresh, online: false }),
            () => setOverview((previous) => ({ ...previous, online: false })));
        }
      },
      'connection-changed': (connection) => {
        setOverview((previous) => ({ ...previous, connection }));
        if (connection.state !== 'connecting') setWaitingForBrowser(null);
        if (connection.state === 'connected') {
          setTab((current) => (current === 'connection' ? 'today' : current));
        }
        void refreshOverview();
      },
      'network-changed': ({ online }) => setOverview((previous) => ({ ...previous, online })),
      'realtime-changed': (realtime) => setOverview((previous) => ({ ...previous, realtime })),
    }))).then(async (unlisten) => {
      if (!unlisten) return;
      if (cancelled) {
        unlisten();
        return;
      }
      stop = unlisten;
      const fresh = await ipc.getOverview();
      applyOverview(fresh);
      if (firstSync !== undefined && (fresh.sync.lastSync?.finishedAt ?? null) !== firstSync) {
        setMeetingsVersion((version) => version + 1);
      }
    }).catch((error) => setLoadError(error as IpcError));
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [applyOverview, refreshOverview, setOverview]);

  // Relative times ("5 min ago") and the upcoming/past split move with the clock; the overview is re-read
  // too (a local call), so a missed event cannot leave the screen stale for long.
  useEffect(() => {
    const timer = setInterval(() => {
      setNow(clockRef.current());
      void refreshOverview();
    }, 30_000);
    return () => clearInterval(timer);
  }, [refreshOverview]);

  if (!overview) {
    return (
      <div class="app-loading" id="app-loading">
        {loadError ? (
          <div class="error-banner" id="error-banner" role="alert" data-code={loadError.code}>
            <strong>Advicly could not load.</strong> <span>{loadError.message}</span>
            <button type="button" id="retry-overview" onClick={() => void refreshOverview()}>Try again</button>
          </div>
        ) : <p>Loading…</p>}
      </div>
    );
  }

  const api: AppApi = {
    zone, now, overview, meetingsVersion, syncFailure, waitingForBrowser,
    goTo: setTab, openClient, openClientEmail, setOpenClientEmail, reportError, syncNow, syncBlockedReason: syncBlockedReason(overview),
    setOverview, setWaitingForBrowser, refreshOverview,
  };

  const onTabKeyDown = (event: KeyboardEvent) => {
    // Arrows move from the focused tab (which need not be the selected one).
    const focused = TABS.findIndex((entry) => entry.id === (event.target as HTMLElement | null)?.id);
    const index = focused >= 0 ? focused : TABS.findIndex((entry) => entry.tab === tab);
    const step = event.key === 'ArrowDown' || event.key === 'ArrowRight' ? 1
      : event.key === 'ArrowUp' || event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length];
    setTab(next.tab);
    document.getElementById(next.id)?.focus();
  };

  return (
    <AppContext.Provider value={api}>
      <div class="app" data-connection={overview.connection.state} data-online={String(overview.online)}>
        <aside class="sidebar">
          <div class="brand">
            <span class="brand-mark" aria-hidden="true">A</span>
            <span class="brand-name">Advicly</span>
          </div>
          <nav class="tabs" role="tablist" aria-label="Screens" aria-orientation="vertical" onKeyDown={onTabKeyDown}>
            {TABS.map((entry) => (
              <button type="button" role="tab" id={entry.id} key={entry.tab} aria-selected={tab === entry.tab}
                aria-controls={`${entry.tab}-panel`} tabIndex={tab === entry.tab ? 0 : -1}
                class={`tab${tab === entry.tab ? ' active' : ''}`} onClick={() => setTab(entry.tab)}>
                {entry.label}
                {entry.tab === 'connection' && overview.connection.state === 'needs_reconnect'
                  ? <span class="tab-alert" aria-label="needs attention">!</span> : null}
              </button>
            ))}
          </nav>
          <SyncPanel />
          <AccountFooter />
        </aside>
        <main class="main">
          <ErrorBanner error={banner} onDismiss={() => setBanner(null)} />
          <Notices onConnectionScreen={tab === 'connection'} />
          <div class="panel" role="tabpanel" id={`${tab}-panel`} aria-labelledby={`${tab}-tab`}>
            {tab === 'today' ? <TodayView />
              : tab === 'week' ? <WeekView />
                : tab === 'meetings' ? <MeetingsView />
                  : tab === 'clients' ? <ClientsView />
                    : tab === 'settings' ? <SettingsView /> : <ConnectionView />}
          </div>
        </main>
      </div>
    </AppContext.Provider>
  );
}

function AccountFooter() {
  const { overview } = useApp();
  const { connection } = overview;
  if (!connection.account) return null;
  return (
    <div class="account-footer">
      <span class="account-footer-name">{connection.account.name}</span>
      {connection.demo ? <span class="demo-pill">Demo</span> : null}
    </div>
  );
}
