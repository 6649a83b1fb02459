// How the UI reacts to each IPC error code (docs/ipc.md); the UI never looks at the message to decide.
import type { ErrorCode, IpcError } from './ipc';

export type ErrorReaction =
  /** Go to the connect screen. */
  | 'show-connect'
  /** Refresh the connection and offer Reconnect with the message. */
  | 'show-reconnect'
  /** Mark the app offline; the list stays, Sync explains why it is disabled. */
  | 'offline'
  /** Show the message on the connect screen. */
  | 'connect-message'
  /** Show the message under the token field. */
  | 'token-message'
  /** Show the message next to the control that sent the bad input. */
  | 'input-message'
  /** Close the detail and go back to the list. */
  | 'back-to-list'
  /** Show the message in the error banner. */
  | 'banner';

export function reactionFor(code: ErrorCode): ErrorReaction {
  switch (code) {
    case 'not_connected':
      return 'show-connect';
    case 'needs_reconnect':
      return 'show-reconnect';
    case 'offline':
      return 'offline';
    case 'oauth_denied':
    case 'oauth_failed':
      return 'connect-message';
    case 'invalid_token':
      return 'token-message';
    case 'invalid_input':
      return 'input-message';
    case 'not_found':
      return 'back-to-list';
    case 'keychain_unavailable':
    case 'internal':
      return 'banner';
  }
}

/** A sentence for a failed sync, in plain words, followed by the shell's own message. */
export function describeSyncFailure(error: IpcError): string {
  const lead: Record<ErrorCode, string> = {
    not_connected: 'No Calendly account is connected.',
    needs_reconnect: 'Sign in to Calendly again to keep syncing (Reconnect tries the saved sign-in first).',
    offline: 'Calendly could not be reached. Check your internet connection.',
    keychain_unavailable: 'The system keychain is not available, so the app cannot read its Calendly access.',
    oauth_denied: 'Access to Calendly was denied.',
    oauth_failed: 'Connecting to Calendly failed.',
    invalid_token: 'Calendly rejected the access token.',
    invalid_input: 'The sync was asked for with invalid settings.',
    not_found: 'Something the sync needed no longer exists.',
    internal: 'The sync stopped because of an unexpected problem.',
  };
  return `${lead[error.code]} ${error.message}`.trim();
}

/** Title for the error banner. */
export function bannerTitle(code: ErrorCode): string {
  return code === 'keychain_unavailable' ? 'Keychain unavailable' : 'Something went wrong';
}
