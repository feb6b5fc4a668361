/**
 * The configured sources, as the cache looks them up: per source its parameterless key (escaped once, so the
 * hot path never builds it), the memo of its keys with parameters, and its counts (plain increments behind
 * stats() and the OpenTelemetry counters), found with one lookup.
 */
import { KeyMemo, sourceKey } from './cache-key.js';
import { dpopKeyOf } from './source-run.js';
import type { TokenSource } from './sources/token-source.interface.js';
import { UnknownTokenSourceError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import { createCounters, type TokenCacheCounters } from './token-cache.metrics.js';
import type { TokenParams } from './token-cache.types.js';
import { checkedKey } from './token-request.js';
import { describeValue } from './validate.js';

export interface PerSource {
  name: string;
  source: TokenSource;
  /** The parameterless key; every key with parameters starts with `${key}|`. */
  key: string;
  keys: KeyMemo;
  counters: TokenCacheCounters;
}

export class SourceRegistry {
  private readonly byName = new Map<string, PerSource>();
  private lastName: string | undefined;
  private lastFound: PerSource | undefined;

  /** @param maxKeys how many subject keys each source's memo remembers (the cache's `maxEntries`) */
  constructor(sources: Record<string, TokenSource>, maxKeys: number) {
    for (const [name, source] of Object.entries(sources)) {
      // A DPoP source's key holds its key's thumbprint: tokens bound to another key are never shared.
      const key = sourceKey(name, dpopKeyOf(source)?.thumbprint);
      this.byName.set(name, { name, source, key, keys: new KeyMemo(key, maxKeys, checkedKey), counters: createCounters() });
    }
  }

  /**
   * The per-source record, with the last one found remembered: most processes ask for one or two sources,
   * and comparing the name is cheaper than hashing it (the warm path with parameters is a few such steps).
   */
  find(name: string): PerSource | undefined {
    if (name === this.lastName) return this.lastFound;
    const own = this.byName.get(name);
    if (own !== undefined) {
      this.lastName = name;
      this.lastFound = own;
    }
    return own;
  }

  /** @throws UnknownTokenSourceError listing the configured names */
  get(name: string): PerSource {
    const own = this.byName.get(name);
    if (own === undefined) throw this.unknown(name);
    return own;
  }

  /** The cache key of `(name, params)`; parameters are checked on a memo miss. @throws UnknownTokenSourceError, TokenCacheConfigError */
  keyOf(name: string, params: TokenParams | undefined): string {
    const own = this.get(name);
    return params === undefined ? own.key : own.keys.keyOf(params);
  }

  /** Whether `key` belongs to the source whose parameterless key is `prefix`. */
  static owns(prefix: string, key: string): boolean {
    return key === prefix || key.startsWith(`${prefix}|`);
  }

  unknown(name: string): UnknownTokenSourceError {
    // Not String(name): an object without toString (Object.create(null)) would throw, and getToken never throws.
    const shown = typeof name === 'string' ? name : describeValue(name);
    return new UnknownTokenSourceError(shown, messages.unknownSource(shown, this.names()));
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): IterableIterator<PerSource> {
    return this.byName.values();
  }

  count(name: string, counter: keyof TokenCacheCounters): void {
    const own = this.byName.get(name);
    if (own !== undefined) own.counters[counter]++;
  }

  /** Every source's counts added up. */
  totals(): TokenCacheCounters {
    const totals = createCounters();
    for (const { counters } of this.byName.values()) {
      for (const field of Object.keys(totals) as (keyof TokenCacheCounters)[]) totals[field] += counters[field];
    }
    return totals;
  }
}
