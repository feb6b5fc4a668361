/**
 * A local 3-master Redis Cluster for tests: three `redis-server --cluster-enabled yes` on free ports (and
 * their bus ports, +10000), joined with `redis-cli --cluster create`, every file in a temp dir.
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

  static async start(): Promise<LocalRedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'tc-cluster-'));
    const ports = await freePorts(3);
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
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
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
      if (states.every((s) => s.includes('cluster_state:ok'))) return cluster;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster.stop();
    throw new Error('the local Redis Cluster did not reach cluster_state:ok');
  }

  /** A new ioredis Cluster client for it (the caller closes it). */
  client(): Cluster {
    return new Cluster(this.ports.map((port) => ({ host: '127.0.0.1', port })));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
