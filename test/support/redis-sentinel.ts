/**
 * A local Redis Sentinel set-up for tests: a master, a replica and `sentinels` `redis-server --sentinel`
 * processes on free loopback ports, with passwords on the data nodes (`requirepass`, `masterauth`) and on
 * the sentinels, every file in a temp dir. `failover()` sends `SENTINEL FAILOVER` and waits for the switch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { killAndRemove } from './redis-cluster.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startServer(args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (ready.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server ${args.join(' ')} exited (${code}): ${out.slice(-500)}`)));
  });
}

export const SENTINEL_MASTER_NAME = 'mymaster';

export class LocalRedisSentinel {
  private constructor(
    /** [master, replica] at start; `SENTINEL FAILOVER` swaps their roles. */
    readonly dataPorts: number[],
    readonly sentinelPorts: number[],
    readonly password: string,
    readonly sentinelPassword: string,
    private readonly children: ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start(sentinels = 1): Promise<LocalRedisSentinel> {
    const dir = mkdtempSync(join(tmpdir(), 'tc-sentinel-'));
    const password = 'data-pw';
    const sentinelPassword = 'sentinel-pw';
    const [master, replica] = [await freePort(), await freePort()];
    const sentinelPorts: number[] = [];
    for (let i = 0; i < sentinels; i++) sentinelPorts.push(await freePort());
    const children: ChildProcess[] = [];
    const set = new LocalRedisSentinel([master!, replica!], sentinelPorts, password, sentinelPassword, children, dir);
    try {
      const data = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--requirepass', password, '--masterauth', password];
      children.push(await startServer(data(master!), /Ready to accept connections/));
      children.push(await startServer([...data(replica!), '--replicaof', '127.0.0.1', String(master)], /Ready to accept connections/));
      for (const port of sentinelPorts) {
        // Sentinel rewrites its config file: each gets its own, in the temp dir.
        const conf = join(dir, `sentinel-${port}.conf`);
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${dir}`,
            `requirepass ${sentinelPassword}`,
            `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master} 1`,
            `sentinel auth-pass ${SENTINEL_MASTER_NAME} ${password}`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
            `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
            '',
          ].join('\n'),
        );
        children.push(await startServer([conf, '--sentinel'], /Sentinel ID is|monitor master/));
      }
      await set.until(async () => (await set.replicasSeen()) >= 1 && (await set.role(replica!)) === 'slave', 15_000);
      return set;
    } catch (error) {
      await set.stop();
      throw error;
    }
  }

  /** The data node's port Sentinel names as master now. */
  async masterPort(): Promise<number> {
    const sentinel = this.sentinelClient();
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as [string, string];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  }

  /** A plain connection to one data node (for looking at its keys). */
  node(port: number): Redis {
    return new Redis({ host: '127.0.0.1', port, password: this.password, maxRetriesPerRequest: 1 });
  }

  /** `SENTINEL FAILOVER`, then waits until Sentinel names the other node master and that node says so. */
  async failover(): Promise<{ from: number; to: number }> {
    const from = await this.masterPort();
    const to = this.dataPorts.find((p) => p !== from)!;
    const sentinel = this.sentinelClient();
    try {
      await sentinel.call('SENTINEL', 'FAILOVER', SENTINEL_MASTER_NAME);
    } finally {
      sentinel.disconnect();
    }
    await this.until(async () => (await this.masterPort()) === to && (await this.role(to)) === 'master', 15_000);
    return { from, to };
  }

  async stop(): Promise<void> {
    await killAndRemove(this.children, this.dir);
  }

  private sentinelClient(): Redis {
    return new Redis({ host: '127.0.0.1', port: this.sentinelPorts[0], password: this.sentinelPassword, maxRetriesPerRequest: 1 });
  }

  private async replicasSeen(): Promise<number> {
    const sentinel = this.sentinelClient();
    try {
      const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as unknown[];
      return replicas.length;
    } catch {
      return 0;
    } finally {
      sentinel.disconnect();
    }
  }

  private async role(port: number): Promise<string> {
    const node = this.node(port);
    try {
      return String(((await node.call('ROLE')) as unknown[])[0]);
    } catch {
      return 'unknown';
    } finally {
      node.disconnect();
    }
  }

  private async until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > timeoutMs) throw new Error(`the Sentinel set-up did not get there within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
