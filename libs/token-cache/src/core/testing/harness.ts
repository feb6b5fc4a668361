/** Builds a TokenCache on a fake clock with scripted sources, and records its events. */
import { TokenCache } from '../token-cache.js';
import type { TokenCacheOptions } from '../token-cache.options.js';
import type { TokenCacheEvent } from '../token-cache.types.js';
import { FakeClock } from './fake-clock.js';
import { ScriptedSource } from './scripted-source.js';

export function harness(options: Partial<TokenCacheOptions> = {}, sourceNames: string[] = ['api']) {
  const clock = new FakeClock();
  const sources: Record<string, ScriptedSource> = {};
  for (const name of sourceNames) sources[name] = new ScriptedSource();
  const cache = new TokenCache({ clock, random: () => 0.5, sources, ...options });
  const events: TokenCacheEvent[] = [];
  cache.events$.subscribe((e) => events.push(e));
  return { clock, cache, events, source: sources[sourceNames[0]!]!, sources };
}
