/** How each source's fetches went, for health (source-status.ts) and the log level of a failure. */
import type { SourceStatusFacts } from './source-status.js';

/** After this many consecutive failures of a source, failures are logged at error instead of warn. */
export const ERROR_LOG_AFTER_FAILURES = 3;

interface SourceState {
  consecutiveFailures: number;
  lastError?: { name: string; message: string; at: Date };
}

export class SourceStates {
  private readonly bySource = new Map<string, SourceState>();

  /** Something asked this source for a token (a caller, a refresh, a preload). */
  markUsed(source: string): void {
    if (!this.bySource.has(source)) this.bySource.set(source, { consecutiveFailures: 0 });
  }

  isUsed(source: string): boolean {
    return this.bySource.has(source);
  }

  /** A fetch of the source succeeded. Returns how many failed in a row before it (0: nothing to report). */
  succeeded(source: string): number {
    const state = this.stateOf(source);
    const before = state.consecutiveFailures;
    state.consecutiveFailures = 0;
    return before;
  }

  /** A fetch of the source failed with `error` at `at`. Returns how many failed in a row, this one included. */
  failed(source: string, error: { name: string; message: string }, at: Date): number {
    const state = this.stateOf(source);
    state.lastError = { name: error.name, message: error.message, at };
    return ++state.consecutiveFailures;
  }

  /** The facts of the source that `sourceStatusOf` reads besides its entries and waiting callers. */
  facts(source: string): Pick<SourceStatusFacts, 'used' | 'consecutiveFailures' | 'lastError'> {
    const state = this.bySource.get(source);
    return { used: state !== undefined, consecutiveFailures: state?.consecutiveFailures ?? 0, lastError: state?.lastError };
  }

  private stateOf(source: string): SourceState {
    let state = this.bySource.get(source);
    if (state === undefined) {
      state = { consecutiveFailures: 0 };
      this.bySource.set(source, state);
    }
    return state;
  }
}

/** Failures are warnings until a source has failed `ERROR_LOG_AFTER_FAILURES` times in a row. */
export function failureLogLevel(consecutiveFailures: number): 'warn' | 'error' {
  return consecutiveFailures >= ERROR_LOG_AFTER_FAILURES ? 'error' : 'warn';
}
