/**
 * The store's two connections to Redis (or a Redis Cluster): commands, bounded by a timeout so that a
 * stalled Redis never holds a caller for long, and pub/sub. Knows nothing of tokens.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { LuaScript } from './redis-token-store.scripts.js';

/** What `client` may be: a single Redis (or Sentinel-managed) connection, or a Cluster. */
export type RedisClient = Redis | Cluster;

export const FAILED = Symbol('redis failed');
export type Failed = typeof FAILED;

export interface RunOptions {
  /**
   * Called with the reply of a command that answered only after it counted as failed: Redis ran it anyway
   * (it was paused or stalled), so the caller can undo what it no longer wants (a lock it took).
   */
  onLate?: (reply: unknown) => void;
}

export interface RedisLinkOptions {
  client?: RedisClient;
  url: string;
  commandTimeoutMs: number;
  channel: string;
  onMessage: (raw: string) => void;
  /** The subscription is (again) in place; `first` on the first time. Missed messages need a catch-up. */
  onSubscribed: (first: boolean) => void;
  /** The command connection went up or down. */
  onReachability: (up: boolean) => void;
}

/** How long the first commands wait for the connections to open, so that a just-started instance shares too. */
const CONNECT_WAIT_MS = 2_000;
/** Reconnect quickly (the store is only degraded meanwhile), at most every 2 s. */
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

/**
 * ioredis ends a socket on disconnect() and destroys it only after `disconnectTimeout` (default 2 s); a
 * socket that already failed never ends, so that timer alone kept a closed store's process alive. Ours are
 * quit (replies drained) before they are dropped, so nothing is lost by destroying them at once.
 */
const DISCONNECT_TIMEOUT_MS = 20;
/** Connections the store opens itself fail fast while disconnected: a caller must never wait on a Redis that is down. */
const OWN_CONNECTION: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  disconnectTimeout: DISCONNECT_TIMEOUT_MS,
  retryStrategy,
};
/**
 * The subscriber only subscribes; it may queue that until it is connected. It subscribes again itself on
 * every `ready` (then catches up), so ioredis's own resubscribe would send each SUBSCRIBE twice.
 */
const SUBSCRIBER: RedisOptions = {
  enableOfflineQueue: true,
  maxRetriesPerRequest: null,
  autoResubscribe: false,
  connectTimeout: 2_000,
  disconnectTimeout: DISCONNECT_TIMEOUT_MS,
  retryStrategy,
};

export class RedisLink {
  readonly client: RedisClient;
  readonly isCluster: boolean;
  private readonly subscriber: RedisClient;
  private readonly ownsClient: boolean;
  private readonly timeoutMs: number;
  private readonly cleanups: (() => void)[] = [];
  /** Pending until the connections first open (or fail, or CONNECT_WAIT_MS passes). */
  private connecting?: Promise<void>;
  private subscribedBefore = false;
  private firstSubscription?: () => void;
  private closed = false;

  constructor(private readonly options: RedisLinkOptions) {
    const { client, url, commandTimeoutMs } = options;
    this.timeoutMs = commandTimeoutMs;
    if (client !== undefined) {
      this.client = client;
      this.ownsClient = false;
      // A lazy client of the user's would never connect: the store only sends commands to a ready one.
      if (client.status === 'wait') client.connect().catch(() => undefined);
    } else {
      this.client = new Redis(url, OWN_CONNECTION);
      this.ownsClient = true;
      // Errors surface as `reachable: false` and local fallbacks; without a listener ioredis would print each one.
      this.client.on('error', () => undefined);
    }
    this.isCluster = (this.client as { isCluster?: boolean }).isCluster === true;
    this.subscriber = this.isCluster
      ? // A Cluster resubscribes on its own when its subscriber node changes; a second SUBSCRIBE is harmless there.
        (this.client as Cluster).duplicate([], { enableOfflineQueue: true, redisOptions: { disconnectTimeout: DISCONNECT_TIMEOUT_MS } })
      : (this.client as Redis).duplicate(SUBSCRIBER);
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === options.channel && !this.closed) options.onMessage(message);
    });
    this.subscriber.on('ready', () => this.subscribe());
    this.trackReachability();

    // Subscribed before the first call goes on: a token taken before that could miss its invalidation.
    const subscribed = new Promise<void>((resolve) => (this.firstSubscription = resolve));
    // Their one-shot listeners go in close() if no event came by then: the client may be the user's.
    const subscriberFailed = firstOf(this.subscriber, ['error', 'end']);
    const clientSettled = settled(this.client);
    this.cleanups.push(subscriberFailed.cancel, clientSettled.cancel);
    const connecting = Promise.race([
      Promise.all([clientSettled.promise, Promise.race([subscribed, subscriberFailed.promise])]),
      delay(CONNECT_WAIT_MS),
    ]).then(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    this.connecting = connecting;
  }

  get ready(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  /**
   * Runs one Redis operation, or gives FAILED at once when Redis is not connected, and after the command
   * timeout when it does not answer (a user's client may queue commands while offline).
   */
  async run<T>(operation: (client: RedisClient) => Promise<T>, options?: RunOptions): Promise<T | Failed> {
    if (this.connecting !== undefined) await this.connecting;
    if (!this.ready) return FAILED;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<Failed>((resolve) => {
      // setImmediate: after an event-loop stall the reply may already be waiting; let I/O run before giving up.
      timer = setTimeout(() => setImmediate(() => ((timedOut = true), resolve(FAILED))), this.timeoutMs);
      timer.unref();
    });
    const pending = operation(this.client);
    try {
      return await Promise.race([pending, timeout]);
    } catch {
      return FAILED;
    } finally {
      clearTimeout(timer);
      if (timedOut && options?.onLate !== undefined) pending.then(options.onLate, () => undefined);
    }
  }

  /** EVALSHA, falling back to EVAL when Redis doesn't know the script (first use, a restart, another Cluster node). */
  eval(script: LuaScript, keys: string[], args: (string | number)[], options?: RunOptions): Promise<unknown> {
    return this.run(async (client) => {
      try {
        return await client.evalsha(script.sha, script.keys, ...keys, ...args);
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
        return client.eval(script.lua, script.keys, ...keys, ...args);
      }
    }, options);
  }

  /** GET of many keys, one command each: on a Cluster they live in different slots, where MGET is refused. */
  getMany(keys: string[]): Promise<(string | null)[] | Failed> {
    return this.run((client) => Promise.all(keys.map((key) => client.get(key))));
  }

  /** Redis's run id(s): a new value means Redis restarted (and lost its keys). On a Cluster, every master's. */
  async runId(): Promise<string | Failed> {
    const nodes: Redis[] = this.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    const infos = await this.run(() => Promise.all(nodes.map((node) => node.info('server'))));
    if (infos === FAILED) return FAILED;
    return infos
      .map((info) => /run_id:(\w+)/.exec(String(info))?.[1] ?? '')
      .sort()
      .join(',');
  }

  /** Resolves once the command connection is ready again (or after CONNECT_WAIT_MS). */
  async settled(): Promise<void> {
    if (this.client.status === 'ready') return;
    const ready = settled(this.client);
    await Promise.race([ready.promise, delay(CONNECT_WAIT_MS)]);
    ready.cancel();
  }

  /** Closes the pub/sub connection, and the command connection when the store opened it (never a `client` passed in). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.firstSubscription?.();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.options.onReachability(false);
    await Promise.all([quit(this.subscriber, this.timeoutMs), this.ownsClient ? quit(this.client, this.timeoutMs) : undefined]);
  }

  private subscribe(): void {
    this.subscriber.subscribe(this.options.channel).then(
      () => {
        if (this.closed) return;
        const first = !this.subscribedBefore;
        this.subscribedBefore = true;
        this.firstSubscription?.();
        this.options.onSubscribed(first);
      },
      () => undefined,
    );
  }

  /** Reachability follows the command connection's events. Listeners on a user's client are removed again in close(). */
  private trackReachability(): void {
    const update = () => {
      if (!this.closed) this.options.onReachability(this.client.status === 'ready');
    };
    for (const event of ['ready', 'close', 'end', 'reconnecting'] as const) {
      this.client.on(event, update);
      this.cleanups.push(() => this.client.off(event, update));
    }
    update();
  }
}

interface Pending {
  promise: Promise<void>;
  /** Removes the listeners without resolving. */
  cancel: () => void;
}

/** Resolves when the connection is ready, or has failed once (the store then starts degraded). */
function settled(client: RedisClient): Pending {
  if (client.status === 'ready') return { promise: Promise.resolve(), cancel: () => undefined };
  return firstOf(client, ['ready', 'error', 'end']);
}

function firstOf(client: RedisClient, events: string[]): Pending {
  let cancel!: () => void;
  const promise = new Promise<void>((resolve) => {
    cancel = () => {
      for (const event of events) client.off(event, done);
    };
    const done = () => {
      cancel();
      resolve();
    };
    for (const event of events) client.once(event, done);
  });
  return { promise, cancel };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * QUIT when connected (pending replies first, bounded), else just drop the socket: `disconnect()` also
 * cancels ioredis's reconnect timer, so a store closed while Redis is down lets the process exit at once.
 */
async function quit(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') await Promise.race([client.quit().catch(() => undefined), delay(timeoutMs)]);
  client.disconnect();
}
