/**
 * A UDP relay on 127.0.0.1 that holds every datagram for a fixed delay: bench/ice.ts's stand-in
 * for netem, which this kernel lacks (`tc qdisc ... netem` answers "Specified qdisc kind is
 * unknown"). Unlike deferring `dgram.Socket.prototype.send`, it delays any process's datagrams,
 * so the same relay serves icekit and werift-ice (in this process) and aioice (in Python).
 *
 * Every real candidate address X gets a proxy port P(X). Each side is told the other's candidates
 * rewritten to their proxies. A datagram from S arriving at P(X) is sent, `delayMs` later, to X
 * from P(S), so X sees it come from the address it was told (no peer-reflexive candidates), and
 * its answer to P(S) travels back the same way: each direction is delayed once, a round trip
 * costs 2 × `delayMs`. A source with no proxy yet (a socket the peer was not told about) gets
 * one on the spot, as a NAT would map it.
 *
 * @module
 */
import dgram from "node:dgram";

interface Proxy {
  readonly socket: dgram.Socket;
  /** The real address this proxy stands for. */
  readonly address: string;
  readonly port: number;
}

const key = (address: string, port: number): string => `${address}:${port}`;

/** A delay relay; {@link close} it when done. */
export class DelayRelay {
  readonly #delayMs: number;
  readonly #byReal = new Map<string, Proxy>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  /** Datagrams relayed so far. */
  relayed = 0;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
  }

  /** The proxy port on 127.0.0.1 that stands for the real `address:port`, bound on first use. */
  async proxyFor(address: string, port: number): Promise<number> {
    const p = this.#byReal.get(key(address, port)) ?? (await this.#bind(address, port));
    return p.socket.address().port;
  }

  /**
   * A candidate line (`candidate:F C udp PRIO ADDR PORT typ ...`, with or without `a=`) with its
   * address and port replaced by their proxy's.
   */
  async rewrite(line: string): Promise<string> {
    const f = line.split(" ");
    const port = await this.proxyFor(f[4]!, Number(f[5]));
    f[4] = "127.0.0.1";
    f[5] = String(port);
    return f.join(" ");
  }

  /** Stops relaying: pending datagrams are dropped and every proxy socket closes. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const p of this.#byReal.values()) p.socket.close();
    this.#byReal.clear();
  }

  async #bind(address: string, port: number): Promise<Proxy> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const p: Proxy = { socket, address, port };
    // A second bind for the same address may have raced this one: keep the first.
    const existing = this.#byReal.get(key(address, port));
    if (existing !== undefined) {
      socket.close();
      return existing;
    }
    this.#byReal.set(key(address, port), p);
    socket.on("error", () => {});
    socket.on("message", (msg, rinfo) => this.#forward(p, msg, rinfo.address, rinfo.port));
    return p;
  }

  #forward(to: Proxy, msg: Buffer, fromAddress: string, fromPort: number): void {
    if (this.#closed) return;
    const from = this.#byReal.get(key(fromAddress, fromPort));
    const send = (via: Proxy): void => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        if (this.#closed) return;
        this.relayed++;
        via.socket.send(msg, to.port, to.address);
      }, this.#delayMs);
      this.#timers.add(t);
    };
    if (from !== undefined) send(from);
    else void this.#bind(fromAddress, fromPort).then(send, () => {});
  }
}
