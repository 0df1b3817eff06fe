import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TransportAddress } from "../../src/bytes/ip";
import { XorPeerAddress, XorRelayedAddress } from "../../src/stun/attributes/address";
import { ChannelNumber, IpProtocol, Lifetime, RequestedAddressFamily, RequestedTransport } from "../../src/stun/attributes/turn";
import type { AttributeCodec } from "../../src/stun/attribute";
import { attr } from "../../src/stun/client";
import { Method } from "../../src/stun/constants";
import { encodeChannelData } from "../../src/turn/channel-data";
import { turnRestCredentials } from "../../src/turn/rest-credentials";
import { restQuotaKey, restSecretPassword, restSecretUsers, restUsernameExpiry } from "../../src/turn/server-rest";
import { CLIENT, CLIENT2, Harness, SERVER, TestClient } from "./server-harness";

const UDP = attr(RequestedTransport, IpProtocol.UDP);

/** Peers the default policy refuses: RFC 8656 §21.1.4, §21.4 and coturn's CVE history. */
const FORBIDDEN_PEERS: readonly string[] = [
  "127.0.0.1",
  "127.255.255.254",
  "0.0.0.0",
  "0.1.2.3",
  "10.0.0.1",
  "10.255.255.255",
  "172.16.0.1",
  "172.31.255.254",
  "192.168.1.1",
  "169.254.169.254",
  "224.0.0.1",
  "239.255.255.250",
  "255.255.255.255",
  "100.64.0.1",
  "100.127.255.254",
  "198.18.0.1",
  "::",
  "::1",
  "fe80::1",
  "fc00::1",
  "fd12:3456::1",
  "ff02::1",
  "fec0::1",
  "::ffff:127.0.0.1",
  "::ffff:10.0.0.1",
  "::ffff:0.0.0.0",
  "::ffff:169.254.169.254",
  "::127.0.0.1",
  "::ffff:0:127.0.0.1",
  "64:ff9b::7f00:1",
  "64:ff9b::a9fe:a9fe",
  "2001::1",
  "2002:7f00:1::1",
  "64:ff9b:1::1",
];

function allocate(h: Harness, family: "IPv4" | "IPv6", from: TransportAddress = CLIENT): { c: TestClient; relayed: TransportAddress } {
  const c = new TestClient(h, "alice", "alice-pw", from);
  const o = c.request(Method.Allocate, [UDP, attr(RequestedAddressFamily, family)]);
  expect(o.event.type).toBe("success");
  return { c, relayed: o.response!.get(XorRelayedAddress)! };
}

function familyOf(ip: string): "IPv4" | "IPv6" {
  return ip.includes(":") ? "IPv6" : "IPv4";
}

describe("TurnServer refuses internal peers by default (RFC 8656 §21)", () => {
  const h = new Harness({ userQuota: 4 });
  const v4 = allocate(h, "IPv4", CLIENT);
  const v6 = allocate(h, "IPv6", CLIENT2);

  it.each(FORBIDDEN_PEERS)("CreatePermission and ChannelBind to %s: 403", (ip) => {
    const c = familyOf(ip) === "IPv4" ? v4.c : v6.c;
    const peer: TransportAddress = { family: familyOf(ip), address: ip, port: 5000 };
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, peer)]).code).toBe(403);
    expect(c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4000), attr(XorPeerAddress, peer)]).code).toBe(403);
  });

  it("installed nothing, so nothing reaches those peers", () => {
    expect(h.server.stats()).toMatchObject({ permissions: 0, channels: 0 });
    for (const ip of FORBIDDEN_PEERS) {
      const relayed = familyOf(ip) === "IPv4" ? v4.relayed : v6.relayed;
      expect(h.fromPeer(relayed, { family: familyOf(ip), address: ip, port: 5000 }, new Uint8Array(4))).toHaveLength(0);
    }
    v4.c.raw(encodeChannelData(0x4000, new Uint8Array(4)));
    expect(h.toPeers).toHaveLength(0);
  });
});

describe("TurnServer --allow-peer opens exactly what it says", () => {
  it("127.0.0.0/8 opens loopback, in IPv4-mapped form on an IPv6 relay too, and not 10/8 or ::1", () => {
    const h = new Harness({ allowPeer: ["127.0.0.0/8"] });
    const { c, relayed } = allocate(h, "IPv4");
    const peer = (address: string): TransportAddress => ({ family: familyOf(address), address, port: 5000 });
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, peer("127.0.0.1"))]).code).toBeUndefined();
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, peer("127.255.255.254"))]).code).toBeUndefined();
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, peer("10.0.0.1"))]).code).toBe(403);
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, peer("128.0.0.1"))]).code).toBeUndefined();
    expect(h.fromPeer(relayed, peer("127.0.0.1"), new Uint8Array(1))).toHaveLength(1);
    const v6 = allocate(h, "IPv6", CLIENT2);
    expect(v6.c.request(Method.CreatePermission, [attr(XorPeerAddress, peer("::ffff:127.0.0.1"))]).code).toBeUndefined();
    expect(v6.c.request(Method.CreatePermission, [attr(XorPeerAddress, peer("::1"))]).code).toBe(403);
  });

  it("an operator deny list adds to the defaults", () => {
    const h = new Harness({ denyPeer: ["203.0.113.0/24"] });
    const { c } = allocate(h, "IPv4");
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, { family: "IPv4", address: "203.0.113.9", port: 1 })]).code).toBe(403);
    expect(c.request(Method.CreatePermission, [attr(XorPeerAddress, { family: "IPv4", address: "198.51.100.9", port: 1 })]).code).toBeUndefined();
  });
});

describe("TURN REST API shared secret (coturn --use-auth-secret)", () => {
  const BASE = 1_700_000_000;
  const unixTime = (now: number) => BASE + now / 1000;

  it("derives base64(HMAC-SHA1(secret, username)) as coturn does", () => {
    const username = "1700003600:alice";
    const want = createHmac("sha1", "north").update(username).digest("base64");
    expect(restSecretPassword("north", username)).toBe(want);
    expect(restUsernameExpiry(username)).toBe(1700003600);
    expect(restUsernameExpiry("1700003600")).toBe(1700003600);
    expect(restUsernameExpiry("alice:1700003600")).toBeUndefined();
    expect(restQuotaKey(username)).toBe("alice");
    const users = restSecretUsers("north", () => 1700003599);
    expect(users(username)).toBe(want);
    expect(users("1700003598:alice")).toBeUndefined();
    expect(users("alice")).toBeUndefined();
  });

  it("allocates with a username that has not expired; an expired one gets 401", () => {
    const h = new Harness({ users: {}, secret: "north", unixTime });
    const now = unixTime(h.now);
    const valid = `${Math.floor(now) + 3600}:alice`;
    const c = new TestClient(h, valid, restSecretPassword("north", valid));
    expect(c.request(Method.Allocate, [UDP]).event.type).toBe("success");
    const expired = `${Math.floor(now) - 1}:alice`;
    expect(new TestClient(h, expired, restSecretPassword("north", expired), CLIENT2).request(Method.Allocate, [UDP]).code).toBe(401);
    const forged = `${Math.floor(now) + 3600}:mallory`;
    expect(new TestClient(h, forged, "guess", CLIENT2).request(Method.Allocate, [UDP]).code).toBe(401);
    // Once its time passes, the username authenticates nothing more, not even a Refresh.
    h.advance(3601_000);
    expect(c.request(Method.Refresh, [attr(Lifetime, 600)]).code).toBe(401);
  });

  it("takes coturn's --rest-api-separator", () => {
    const h = new Harness({ users: {}, secret: "north", unixTime, restSeparator: "-" });
    const username = `${Math.floor(unixTime(h.now)) + 60}-erin`;
    expect(new TestClient(h, username, restSecretPassword("north", username)).request(Method.Allocate, [UDP]).event.type).toBe("success");
    expect(() => new Harness({ secret: "north", unixTime, restSeparator: "::" })).toThrow(/one character/);
  });

  it("accepts what icekit's credential generator hands out", () => {
    const h = new Harness({ users: {}, secret: "north", unixTime });
    const { username, password } = turnRestCredentials("north", "dave", 600, Math.floor(unixTime(h.now)));
    expect(new TestClient(h, username, password).request(Method.Allocate, [UDP]).event.type).toBe("success");
  });

  it("works beside a user table, and counts quota by the user after the colon", () => {
    const h = new Harness({ secret: "north", unixTime, userQuota: 1 });
    const exp = Math.floor(unixTime(h.now)) + 600;
    const a = new TestClient(h, `${exp}:carol`, restSecretPassword("north", `${exp}:carol`), CLIENT);
    expect(a.request(Method.Allocate, [UDP]).event.type).toBe("success");
    const b = new TestClient(h, `${exp + 1}:carol`, restSecretPassword("north", `${exp + 1}:carol`), CLIENT2);
    expect(b.request(Method.Allocate, [UDP]).code).toBe(486);
    expect(new TestClient(h, "alice", "alice-pw", CLIENT2).request(Method.Allocate, [UDP]).event.type).toBe("success");
  });
});

describe("TurnServer never throws on network input and stays bounded", () => {
  /** Captured valid messages of an allocated client, to mutate. */
  function corpus() {
    const h = new Harness({ allowPeer: ["127.0.0.0/8"] });
    const c = new TestClient(h, "alice", "alice-pw");
    const relayed = c.request(Method.Allocate, [UDP]).response!.get(XorRelayedAddress)!;
    c.request(Method.CreatePermission, [attr(XorPeerAddress, { family: "IPv4", address: "203.0.113.5", port: 1 })]);
    c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4001), attr(XorPeerAddress, { family: "IPv4", address: "203.0.113.5", port: 9 })]);
    c.request(Method.Refresh, [attr(Lifetime, 700)]);
    return { messages: [...c.sent, encodeChannelData(0x4001, new Uint8Array(10))], relayed };
  }
  const { messages, relayed } = corpus();

  const where = fc.constantFrom<"client" | "relay" | "tcp">("client", "relay", "tcp");

  it("random bytes, and mutations of valid TURN messages, from clients and peers", () => {
    const h = new Harness({ allowPeer: ["127.0.0.0/8"], maxAllocations: 3, userQuota: 2 });
    const mutated = fc.tuple(fc.constantFrom(...messages), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(80)).map(([m, edits, cut]) => {
      const b = m.slice();
      for (const [i, v] of edits) b[i % b.length] = v;
      return cut > 60 ? b.subarray(0, b.length - (cut % b.length)) : b;
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), where, fc.integer({ min: 0, max: 7 })), { maxLength: 40 }), (inputs) => {
        for (const [data, to, port] of inputs) {
          const remote = { ...CLIENT, port: CLIENT.port + port };
          if (to === "relay") h.deliver({ local: relayed, remote, transport: "udp", data });
          else h.deliver({ local: SERVER, remote, transport: to === "tcp" ? "tcp" : "udp", data });
          h.advance(997);
        }
        const s = h.server.stats();
        return s.allocations + s.pendingAllocations <= 3 && s.stun.handlerErrors === 0;
      }),
      { numRuns: 300 },
    );
    const s = h.server.stats();
    // The inputs reached every layer: STUN decoding, authentication, the relay paths.
    expect(s.stun.received).toBeGreaterThan(1000);
    expect(s.stun.authFailures.challenge + s.stun.authFailures["stale-nonce"] + s.stun.authFailures.integrity).toBeGreaterThan(0);
    expect(s.dropped["no-relay"] + s.dropped["no-allocation"]).toBeGreaterThan(0);
  });

  it("authenticated requests with random TURN attributes never get a 500", () => {
    const h = new Harness({ allowPeer: ["127.0.0.0/8"], maxAllocations: 4, userQuota: 4 });
    const raw = (type: number): AttributeCodec<Uint8Array> => ({
      type,
      name: `raw-${type}`,
      decode: (m, o, l) => m.subarray(o, o + l),
      encodedLength: (v) => v.length,
      encode: (v, out, o) => out.set(v, o),
    });
    const types = [0x000c, 0x000d, 0x0012, 0x0013, 0x0017, 0x0018, 0x0019, 0x001a, 0x0022, 0x8000, 0x8001, 0x8004, 0x002a, 0x0010, 0x7fff, 0xc001];
    const attribute = fc.tuple(fc.constantFrom(...types), fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.constantFrom(new Uint8Array([17, 0, 0, 0]), new Uint8Array([0x80]), new Uint8Array([0, 1, 0x12, 0xa4 ^ 0x7f, 0x5e, 0xa4, 0x12, 0x40]), new Uint8Array([0x40, 0x01, 0, 0]))));
    const request = fc.tuple(fc.constantFrom(Method.Allocate, Method.Refresh, Method.CreatePermission, Method.ChannelBind, Method.Send, 0x00a, 0x00b), fc.array(attribute, { maxLength: 5 }), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(fc.array(request, { maxLength: 12 }), (requests) => {
        for (const [method, attrs, port] of requests) {
          const c = new TestClient(h, "alice", "alice-pw", { ...CLIENT, port: CLIENT.port + port });
          const withTransport = method === Method.Allocate ? [UDP, ...attrs.map(([t, v]) => attr(raw(t), v))] : attrs.map(([t, v]) => attr(raw(t), v));
          try {
            c.request(method, withTransport);
          } catch (e) {
            if (!(e as Error).message.includes("did not complete")) throw e;
          }
          h.advance(5000);
        }
        return h.server.stats().stun.handlerErrors === 0 && (h.server.stats().stun.errorResponses[500] ?? 0) === 0;
      }),
      { numRuns: 200 },
    );
    expect(h.server.stats().allocationsCreated).toBeGreaterThan(0);
  });

  it("many clients allocating, binding and leaving: counts stay within the caps, and all is freed on expiry", () => {
    const h = new Harness({ maxAllocations: 20, userQuota: 20, maxPermissions: 4, maxChannels: 4, defaultLifetime: 60, maxLifetime: 120 });
    const op = fc.tuple(fc.integer({ min: 0, max: 29 }), fc.constantFrom("allocate", "perm", "bind", "refresh0", "data", "wait"), fc.integer({ min: 0, max: 40 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        for (const [who, what, n] of ops) {
          const c = new TestClient(h, who % 2 ? "alice" : "bob", who % 2 ? "alice-pw" : "bob-pw", { ...CLIENT, port: 41000 + who });
          const peer: TransportAddress = { family: "IPv4", address: `203.0.113.${n}`, port: 1000 + n };
          if (what === "allocate") c.request(Method.Allocate, [UDP, attr(Lifetime, n * 3)]);
          else if (what === "perm") c.request(Method.CreatePermission, [attr(XorPeerAddress, peer)]);
          else if (what === "bind") c.request(Method.ChannelBind, [attr(ChannelNumber, 0x4000 + n), attr(XorPeerAddress, peer)]);
          else if (what === "refresh0") c.request(Method.Refresh, [attr(Lifetime, 0)]);
          else if (what === "data") c.raw(encodeChannelData(0x4000 + n, new Uint8Array(n)));
          else h.advance(n * 1000);
        }
        const s = h.server.stats();
        return s.allocations <= 20 && s.permissions <= 20 * 4 && s.channels <= 20 * 4 && h.open.size === s.relays + s.reservations;
      }),
      { numRuns: 100 },
    );
    const busy = h.server.stats();
    expect(busy.allocationsCreated).toBeGreaterThan(20);
    expect(busy.allocationsEnded.refresh).toBeGreaterThan(0);
    expect(busy.stun.errorResponses[486] ?? 0).toBe(0);
    expect((busy.stun.errorResponses[508] ?? 0) + (busy.stun.errorResponses[437] ?? 0)).toBeGreaterThan(0);
    h.advance(121_000);
    h.advance(1_000);
    expect(h.server.stats()).toMatchObject({ allocations: 0, relays: 0, permissions: 0, channels: 0, users: 0 });
    expect(h.open.size).toBe(0);
    expect(h.server.pollTimeout()).toBeUndefined();
  });
});
