/**
 * A local 3-master Redis Cluster for tests: three `redis-server --cluster-enabled yes` on free ports (and
 * their bus ports, +10000), joined with `redis-cli --cluster create`, every file in a temp dir. With
 * `replicas: 1`, each master gets a replica (six nodes), so a master can be killed and its replica take over.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 9_000);
    if (ports.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

export class LocalRedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly children: ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start(options: { replicas?: 0 | 1 } = {}): Promise<LocalRedisCluster> {
    const replicas = options.replicas ?? 0;
    const dir = mkdtempSync(join(tmpdir(), 'tc-cluster-'));
    const ports = await freePorts(3 * (1 + replicas));
    const children = await Promise.all(
      ports.map(
        (port) =>
          new Promise<ChildProcess>((resolve, reject) => {
            const child = spawn(
              'redis-server',
              ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
                '--dir', dir, '--save', '', '--appendonly', 'no', '--cluster-node-timeout', '2000'],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            );
            let out = '';
            child.stdout!.on('data', (chunk: Buffer) => {
              out += chunk.toString();
              if (out.includes('Ready to accept connections')) resolve(child);
            });
            child.once('exit', (code) => reject(new Error(`redis-server ${port} exited (${code}): ${out.slice(-500)}`)));
          }),
      ),
    );
    const cluster = new LocalRedisCluster(ports, children, dir);
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (create.status !== 0) {
      await cluster.stop();
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    }
    // Wait until every node agrees the cluster is up.
    for (let i = 0; i < 100; i++) {
      const states = ports.map((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout);
      const synced = replicas === 0 || cluster.replicasInSync();
      if (states.every((s) => s.includes('cluster_state:ok')) && synced) return cluster;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster.stop();
    throw new Error('the local Redis Cluster did not reach cluster_state:ok');
  }

  /** The ports of the nodes that are masters now, as the live nodes see it. */
  masterPorts(): number[] {
    const live = this.ports.filter((_, i) => this.children[i]!.exitCode === null && this.children[i]!.signalCode === null);
    const out = spawnSync('redis-cli', ['-p', String(live[0]), 'cluster', 'nodes'], { encoding: 'utf8' }).stdout;
    return out
      .split('\n')
      .filter((line) => /[ ,]master /.test(line) && !/fail/.test(line))
      .map((line) => Number(/:(\d+)@/.exec(line)?.[1]))
      .filter((port) => port > 0);
  }

  /** Kills one node (SIGKILL, like a crash). */
  async kill(port: number): Promise<void> {
    const child = this.children[this.ports.indexOf(port)]!;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Every live node says cluster_state:ok and three masters serve all slots. */
  async untilHealthy(timeoutMs: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      const live = this.ports.filter((_, i) => this.children[i]!.exitCode === null && this.children[i]!.signalCode === null);
      const states = live.map((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout);
      if (states.every((s) => s.includes('cluster_state:ok')) && this.masterPorts().length === 3) return;
      if (Date.now() - started > timeoutMs) throw new Error(`the Redis Cluster did not recover within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private replicasInSync(): boolean {
    return this.ports.every((p) => {
      const info = spawnSync('redis-cli', ['-p', String(p), 'info', 'replication'], { encoding: 'utf8' }).stdout;
      return info.includes('role:master') || info.includes('master_link_status:up');
    });
  }

  /** A new ioredis Cluster client for it (the caller closes it). */
  client(): Cluster {
    return new Cluster(this.ports.map((port) => ({ host: '127.0.0.1', port })));
  }

  async stop(): Promise<void> {
    await killAndRemove(this.children, this.dir);
  }
}

/** Kills every process (SIGKILL, nothing saved), waits for each to exit, then removes their directory. */
export async function killAndRemove(children: readonly ChildProcess[], dir: string): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
}
