import { describe, expect, it } from 'vitest';
import { ERROR_LOG_AFTER_FAILURES, failureLogLevel, SourceStates } from './source-states.js';

describe('SourceStates', () => {
  it('unused until something asks the source; a failure or success marks it used too', () => {
    const states = new SourceStates();
    expect(states.isUsed('a')).toBe(false);
    expect(states.facts('a')).toEqual({ used: false, consecutiveFailures: 0, lastError: undefined });
    states.markUsed('a');
    expect(states.isUsed('a')).toBe(true);
    states.failed('b', { name: 'TokenFetchError', message: 'x' }, new Date(0));
    expect(states.isUsed('b')).toBe(true);
  });

  it('counts failures in a row with the last error; a success resets the count and says how many it ended', () => {
    const states = new SourceStates();
    expect(states.failed('a', { name: 'E', message: 'one' }, new Date(1))).toBe(1);
    expect(states.failed('a', { name: 'E', message: 'two' }, new Date(2))).toBe(2);
    expect(states.facts('a')).toEqual({ used: true, consecutiveFailures: 2, lastError: { name: 'E', message: 'two', at: new Date(2) } });
    expect(states.succeeded('a')).toBe(2);
    expect(states.succeeded('a')).toBe(0);
    // The last error stays for health to show after recovery.
    expect(states.facts('a').consecutiveFailures).toBe(0);
    expect(states.facts('a').lastError?.message).toBe('two');
  });

  it('a failure is logged as a warning until the source failed ERROR_LOG_AFTER_FAILURES times in a row', () => {
    expect(failureLogLevel(1)).toBe('warn');
    expect(failureLogLevel(ERROR_LOG_AFTER_FAILURES - 1)).toBe('warn');
    expect(failureLogLevel(ERROR_LOG_AFTER_FAILURES)).toBe('error');
  });
});
