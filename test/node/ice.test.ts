import { afterEach, describe, expect, it } from "vitest";
import type { IceAgentEvent } from "../../src/ice/agent";
import { createIceAgent, localHostAddresses, type NodeIceAgent } from "../../src/node/ice";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("localHostAddresses", () => {
  it("leaves loopback out unless asked, and filters by family and interface", () => {
    expect(localHostAddresses()).not.toContain("127.0.0.1");
    expect(localHostAddresses()).not.toContain("::1");
    const withLo = localHostAddresses({ loopback: true, family: "IPv4" });
    expect(withLo).toContain("127.0.0.1");
    for (const a of withLo) expect(a).not.toContain(":");
    expect(localHostAddresses({ loopback: true, interfaces: ["no-such-interface0"] })).toEqual([]);
    for (const a of localHostAddresses({ family: "IPv6" })) expect(a.toLowerCase().startsWith("fe80")).toBe(false);
  });
});

describe("createIceAgent: an agent on real sockets", () => {
  const agents: NodeIceAgent[] = [];
  afterEach(() => {
    for (const a of agents.splice(0)) a.close();
  });

  it("two agents on loopback connect through trickled candidates and exchange data both ways", async () => {
    const got = { a: [] as string[], b: [] as string[] };
    let a!: NodeIceAgent;
    let b!: NodeIceAgent;
    const relay = (to: () => NodeIceAgent, mine: string[]) => (e: IceAgentEvent) => {
      if (e.type === "local-candidate") to().addRemoteCandidate(e.line);
      else if (e.type === "gathering" && e.state === "complete") to().endOfRemoteCandidates();
      else if (e.type === "data") mine.push(dec.decode(e.data));
    };
    a = await createIceAgent({ role: "controlling", hosts: ["127.0.0.1"], onEvent: relay(() => b, got.a) });
    b = await createIceAgent({ role: "controlled", hosts: ["127.0.0.1"], onEvent: relay(() => a, got.b) });
    agents.push(a, b);
    expect(a.sockets).toHaveLength(1);
    expect(a.sockets[0]!.address).toBe("127.0.0.1");
    a.setRemoteCredentials(b.localUfrag, b.localPwd);
    b.setRemoteCredentials(a.localUfrag, a.localPwd);
    a.startGathering();
    b.startGathering();
    const [pa, pb] = await Promise.all([a.selected(), b.selected()]);
    expect(pa.local.port).toBe(a.sockets[0]!.port);
    expect(pa.remote.port).toBe(b.sockets[0]!.port);
    expect(pb.remote.port).toBe(a.sockets[0]!.port);
    expect(a.selectedPair()).toEqual(pa);
    // Each side sends until it hears the other (a datagram sent before the peer selected may be dropped).
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (got.a.includes("from-b") && got.b.includes("from-a")) {
          clearInterval(timer);
          resolve();
          return;
        }
        a.send(enc.encode("from-a"));
        b.send(enc.encode("from-b"));
      };
      const timer = setInterval(tick, 50);
      tick();
    });
    expect(new Set(got.a)).toEqual(new Set(["from-b"]));
    expect(new Set(got.b)).toEqual(new Set(["from-a"]));
  });

  it("rejects selected() when the agent is closed first, and refuses a host that is not an IP", async () => {
    const a = await createIceAgent({ role: "controlling", hosts: ["127.0.0.1"] });
    const p = a.selected();
    a.close();
    await expect(p).rejects.toThrow(/closed/);
    await expect(createIceAgent({ role: "controlling", hosts: ["localhost"] })).rejects.toThrow(/not an IP address/);
  });
});
