// The UI reacts to error codes only (never to messages), and any rejection becomes an IpcError.
import { describe, expect, it } from 'vitest';
import { reactionFor, describeSyncFailure } from '../src/errors';
import { ERROR_CODES, toIpcError, type ErrorCode } from '../src/ipc';

describe('reactionFor', () => {
  it.each<[ErrorCode, string]>([
    ['not_connected', 'show-connect'],
    ['needs_reconnect', 'show-reconnect'],
    ['offline', 'offline'],
    ['keychain_unavailable', 'banner'],
    ['oauth_denied', 'connect-message'],
    ['oauth_failed', 'connect-message'],
    ['invalid_token', 'token-message'],
    ['invalid_input', 'input-message'],
    ['not_found', 'back-to-list'],
    ['internal', 'banner'],
  ])('%s → %s', (code, reaction) => {
    expect(reactionFor(code), 'each code has the reaction docs/ipc.md prescribes').toBe(reaction);
  });

  it('covers every code of the contract', () => {
    for (const code of ERROR_CODES) {
      expect(reactionFor(code), `code ${code} must have a reaction`).toBeTruthy();
    }
  });
});

describe('toIpcError', () => {
  it.each([
    [{ code: 'offline', message: 'No network' }, { code: 'offline', message: 'No network' }],
    [{ code: 'brand_new_code', message: 'From a newer shell' }, { code: 'internal', message: 'From a newer shell' }],
    [{ code: 'invalid_token' }, { code: 'invalid_token', message: 'Something went wrong.' }],
    ['plain string rejection', { code: 'internal', message: 'plain string rejection' }],
    [new Error('thrown error'), { code: 'internal', message: 'thrown error' }],
    [undefined, { code: 'internal', message: 'Something went wrong.' }],
  ])('normalises %j', (rejection, expected) => {
    expect(toIpcError(rejection), 'unknown shapes and codes fall back to internal so the UI can still branch').toEqual(expected);
  });
});

describe('describeSyncFailure', () => {
  it('puts plain words before the shell message', () => {
    expect(describeSyncFailure({ code: 'offline', message: 'dns error' }), 'offline failures explain the network')
      .toBe('Calendly could not be reached. Check your internet connection. dns error');
  });
});
