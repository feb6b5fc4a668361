/**
 * What Redis missed while this instance could not reach it: invalidations (by fingerprint of the token
 * dropped) and tokens it could not share. Both are bounded like the memory tier, oldest first out.
 */
const MAX_PENDING = 10_000;

export class OutageLedger {
  /**
   * Invalidations Redis missed, by key: the fingerprint of the token dropped here. Until they are replayed
   * after the reconnect, that token in Redis is treated as gone, so a revoked token can't come back.
   */
  private readonly deletes = new Map<string, string>();
  /** Keys whose last write to Redis failed: their token is shared after the reconnect if Redis has none. */
  private readonly unshared = new Set<string>();

  get pendingDeletes(): number {
    return this.deletes.size;
  }

  /** The token with `fingerprint` was invalidated here while Redis could not hear it. */
  revoked(key: string, fingerprint: string): boolean {
    return this.deletes.get(key) === fingerprint;
  }

  rememberDelete(key: string, fingerprint: string): void {
    this.deletes.delete(key);
    this.deletes.set(key, fingerprint);
    if (this.deletes.size > MAX_PENDING) this.deletes.delete(this.deletes.keys().next().value!);
  }

  /** The invalidation of `fingerprint` reached Redis. */
  deleteDone(key: string, fingerprint: string): void {
    if (this.deletes.get(key) === fingerprint) this.deletes.delete(key);
  }

  pendingDeleteEntries(): [string, string][] {
    return [...this.deletes];
  }

  writeFailed(key: string): void {
    this.unshared.add(key);
    if (this.unshared.size > MAX_PENDING) this.unshared.delete(this.unshared.values().next().value!);
  }

  /** Forgets the key; true if its last write had failed. */
  writeDone(key: string): boolean {
    return this.unshared.delete(key);
  }
}
