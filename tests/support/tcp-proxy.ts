// A TCP forwarder that can be cut, healed and slowed: the network between the gateway and Redis fails while Redis keeps its data.
import type { Socket } from "bun";

export interface TcpProxy {
  port: number;
  /** Closes every connection and refuses new ones (accepted, then closed at once). */
  cut(): void;
  heal(): void;
  /**
   * Holds every reply (bytes from the target) for `ms` before passing it on, in order: Redis runs each command at
   * once, its answer reaches the client late. 0 restores normal replies (held ones still leave in order).
   */
  delayReplies(ms: number): void;
  stop(): void;
}

interface Pair {
  upstream?: Socket<Pair>;
  client?: Socket<Pair>;
  /** Bytes the client sent before the upstream connection was open. */
  early: Uint8Array[];
  /** When the last held reply leaves: a later one never overtakes it. */
  releaseAt: number;
}

export function startTcpProxy(targetPort: number): TcpProxy {
  let cut = false;
  let delayMs = 0;
  const open = new Set<Socket<Pair>>();
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        if (cut) return void client.end();
        const pair: Pair = { client, early: [], releaseAt: 0 };
        client.data = pair;
        open.add(client);
        Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port: targetPort,
          data: pair,
          socket: {
            open(up) {
              pair.upstream = up;
              open.add(up);
              for (const b of pair.early.splice(0)) up.write(b);
            },
            data(up, bytes) {
              const pair = up.data;
              const at = Math.max(performance.now() + delayMs, pair.releaseAt);
              if (at <= performance.now()) return void pair.client?.write(bytes);
              pair.releaseAt = at;
              const copy = new Uint8Array(bytes);
              setTimeout(() => pair.client?.write(copy), at - performance.now());
            },
            close(up) {
              open.delete(up);
              up.data.client?.end();
            },
            error() {},
          },
        }).catch(() => client.end());
      },
      data(client, bytes) {
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(bytes);
        else pair.early.push(new Uint8Array(bytes));
      },
      close(client) {
        open.delete(client);
        client.data?.upstream?.end();
      },
      error() {},
    },
  });
  return {
    port: server.port,
    cut() {
      cut = true;
      for (const s of [...open]) s.end();
      open.clear();
    },
    heal() {
      cut = false;
    },
    delayReplies(ms) {
      delayMs = ms;
    },
    stop() {
      this.cut();
      server.stop(true);
    },
  };
}
