/**
 * How long each source's recent fetches took: the refresh window (token-timing.ts) leaves room for a p95 of
 * them, so a slow IdP gets its refresh started early enough that no caller waits.
 */

/** Fetches remembered per source: enough for a p95, few enough that an IdP that got faster is seen soon. */
export const FETCH_DURATIONS_KEPT = 20;

export class FetchDurations {
  private readonly bySource = new Map<string, number[]>();

  /**
   * Records a successful fetch of `source` that took `ms`, and returns the p95 (nearest rank) of the source's
   * last FETCH_DURATIONS_KEPT fetches, this one included: the largest of up to 19, the second largest of 20.
   * A value that is not a finite duration is not recorded.
   */
  record(source: string, ms: number): number {
    let recent = this.bySource.get(source);
    if (recent === undefined) this.bySource.set(source, (recent = []));
    if (Number.isFinite(ms) && ms >= 0) {
      recent.push(ms);
      if (recent.length > FETCH_DURATIONS_KEPT) recent.shift();
    }
    return p95(recent);
  }
}

/** The nearest-rank 95th percentile (0 for none). */
export function p95(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.95 * sorted.length) - 1]!;
}
