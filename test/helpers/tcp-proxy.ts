import net from 'node:net';

/**
 * A TCP proxy in front of a node's RPC port that a test can cut: `drop()` closes every open
 * connection and refuses new ones until `restore()`. It stands for a flaky network between the
 * relayer and its RPC provider. `pause()` stands for a node that stopped (SIGSTOP, a hung
 * process): connections are accepted and kept, but nothing is forwarded either way until
 * `resume()`, so a client sees timeouts rather than refusals.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const sockets = new Set<net.Socket>();
  /** Client/upstream pairs, to hold and release their traffic on pause/resume. */
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let down = false;
  let paused = false;
  const hold = (pair: { client: net.Socket; upstream: net.Socket }) => {
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
  };
  const release = (pair: { client: net.Socket; upstream: net.Socket }) => {
    pair.client.pipe(pair.upstream);
    pair.upstream.pipe(pair.client);
  };
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    sockets.add(client);
    sockets.add(upstream);
    pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    if (paused) hold(pair);
    else release(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    drop() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
      pairs.clear();
    },
    restore() {
      down = false;
    },
    /** Holds every connection's traffic, open and new, until `resume()`. */
    pause() {
      if (paused) return;
      paused = true;
      for (const pair of pairs) hold(pair);
    },
    resume() {
      if (!paused) return;
      paused = false;
      for (const pair of pairs) release(pair);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
