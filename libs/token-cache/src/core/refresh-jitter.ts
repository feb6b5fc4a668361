/**
 * Refresh-ahead jitter across instances: with a shared store, each instance starts a token's background
 * refresh at its own point of the refresh window, drawn once per token and uniform over the window, so a
 * fleet does not refresh in step. The first instance to reach its point refreshes (under the store's lock);
 * the others receive its token through the store before they reach theirs.
 */
export class RefreshJitter {
  /** This instance's point in the window, as a fraction in [0, 1), per token (a token object lives as one entry). */
  private readonly points = new WeakMap<object, number>();

  constructor(private readonly random: () => number) {}

  /**
   * Whether `now` has reached this instance's point of the refresh window `[start, end]` for `token`. The end
   * of the window is always due, whatever was drawn, so the refresh still lands before the token stops being usable.
   */
  due(token: object, start: number, end: number, now: number): boolean {
    if (now >= end) return true;
    if (now < start) return false;
    let point = this.points.get(token);
    if (point === undefined) {
      const u = this.random();
      point = Number.isFinite(u) ? Math.min(Math.max(u, 0), 1) : 0;
      this.points.set(token, point);
    }
    return now >= start + point * (end - start);
  }
}

/** The end of a refresh window that starts at `start`: half-way to when the token stops being usable (time left for the refresh). */
export function refreshWindowEnd(start: number, usableUntil: number): number {
  return usableUntil > start ? start + (usableUntil - start) / 2 : start;
}
