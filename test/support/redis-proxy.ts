/**
 * A TCP proxy in front of a real Redis, to cut the network between the store and Redis without restarting
 * Redis (its keys and run_id stay): the outage a store sees when a link drops rather than when Redis crashes.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class RedisProxy {
  private readonly sockets = new Set<Socket>();
  private down = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1 port 0 and forwards to `upstreamUrl` (`silent`: accepts and never answers). */
  static async start(upstreamUrl: string, options: { silent?: boolean } = {}): Promise<RedisProxy> {
    const upstream = new URL(upstreamUrl);
    let proxy!: RedisProxy;
    const server = createServer((client) => {
      proxy.track(client);
      if (proxy.down) return void client.destroy();
      if (options.silent) return;
      const target = connect(Number(upstream.port || 6379), upstream.hostname);
      proxy.track(target);
      client.pipe(target).pipe(client);
      client.on('close', () => target.destroy());
      target.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new RedisProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** Drops every connection and refuses new ones (accepted, then closed at once) until `restore()`. */
  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
