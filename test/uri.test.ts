/**
 * Tests of the ICE server URI parser: every example in RFC 7064 and RFC 7065, the defaults and
 * SRV names of RFC 8489 §8.1, the edge cases the module comment decides, the RTCIceServer shape
 * (W3C webrtc-pc), and fast-check properties (round trip; only IcekitError on any input).
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalIp } from "../src/bytes/ip";
import { isIcekitError } from "../src/errors";
import type { IceServerScheme, IceServerUri, RTCIceServerLike } from "../src/uri";
import { defaultIceServerPort, formatIceServerUri, parseIceServers, parseIceServerUri, srvServiceName } from "../src/uri";

/** The IcekitError `f` throws, for looking at its code and message. */
function rejection(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isIcekitError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected an IcekitError, but the call returned");
}

/** The INVALID_URI message parseIceServerUri gives for `uri`. */
function uriProblem(uri: string): string {
  const r = rejection(() => parseIceServerUri(uri));
  expect(r.code).toBe("INVALID_URI");
  return r.message;
}

/** A parsed URI with the defaults a plain `stun:` URI has, overridden by `o`. */
function uri(o: Partial<IceServerUri>): IceServerUri {
  return { scheme: "stun", host: "example.org", hostType: "name", port: 3478, explicitPort: false, transport: "udp", secure: false, ...o };
}

describe("RFC 7064 Appendix A: the stun: and stuns: examples", () => {
  it("parses each row of Table 1 with host example.org", () => {
    expect(parseIceServerUri("stun:example.org")).toEqual(uri({}));
    expect(parseIceServerUri("stuns:example.org")).toEqual(uri({ scheme: "stuns", port: 5349, transport: "tls", secure: true }));
    expect(parseIceServerUri("stun:example.org:8000")).toEqual(uri({ port: 8000, explicitPort: true }));
  });

  it("writes each example back as it was", () => {
    for (const s of ["stun:example.org", "stuns:example.org", "stun:example.org:8000"]) {
      expect(formatIceServerUri(parseIceServerUri(s))).toBe(s);
    }
  });
});

describe("RFC 7065 Appendix A: Table 1, <secure>, <port> and <transport> of each turn: example", () => {
  // <port> and <transport> are empty in the RFC where the URI names none; icekit fills in the
  // default port (RFC 7065 §3.2) and the transport the client will use.
  const table: [string, boolean, number | undefined, "udp" | "tcp" | "tls"][] = [
    ["turn:example.org", false, undefined, "udp"],
    ["turns:example.org", true, undefined, "tls"],
    ["turn:example.org:8000", false, 8000, "udp"],
    ["turn:example.org?transport=udp", false, undefined, "udp"],
    ["turn:example.org?transport=tcp", false, undefined, "tcp"],
    ["turns:example.org?transport=tcp", true, undefined, "tls"],
  ];
  for (const [text, secure, port, transport] of table) {
    it(`${text} → secure ${secure}, port ${port ?? "(default)"}, transport ${transport.toUpperCase()}`, () => {
      const u = parseIceServerUri(text);
      expect(u.host).toBe("example.org");
      expect(u.hostType).toBe("name");
      expect(u.secure).toBe(secure);
      expect(u.explicitPort).toBe(port !== undefined);
      expect(u.port).toBe(port ?? (secure ? 5349 : 3478));
      expect(u.transport).toBe(transport);
      expect(u.scheme).toBe(secure ? "turns" : "turn");
    });
  }

  it("writes the defaults out of the canonical text: transport=udp on turn:, transport=tcp on turns:", () => {
    expect(formatIceServerUri(parseIceServerUri("turn:example.org?transport=udp"))).toBe("turn:example.org");
    expect(formatIceServerUri(parseIceServerUri("turn:example.org?transport=tcp"))).toBe("turn:example.org?transport=tcp");
    expect(formatIceServerUri(parseIceServerUri("turns:example.org?transport=tcp"))).toBe("turns:example.org");
  });
});

describe("RFC 8489 §8.1 and RFC 8656 §4.1: default ports and DNS SRV names", () => {
  it("defaults to 3478 for stun: and turn:, 5349 for stuns: and turns:", () => {
    expect(defaultIceServerPort("stun")).toBe(3478);
    expect(defaultIceServerPort("turn")).toBe(3478);
    expect(defaultIceServerPort("stuns")).toBe(5349);
    expect(defaultIceServerPort("turns")).toBe(5349);
    expect(parseIceServerUri("turns:example.org").port).toBe(5349);
  });

  it("names the SRV service after the scheme and the protocol after the transport", () => {
    expect(srvServiceName(parseIceServerUri("stun:example.org"))).toBe("_stun._udp");
    expect(srvServiceName(parseIceServerUri("stuns:example.org"))).toBe("_stuns._tcp");
    expect(srvServiceName(parseIceServerUri("turn:example.org"))).toBe("_turn._udp");
    expect(srvServiceName(parseIceServerUri("turn:example.org?transport=udp"))).toBe("_turn._udp");
    expect(srvServiceName(parseIceServerUri("turn:example.org?transport=tcp"))).toBe("_turn._tcp");
    expect(srvServiceName(parseIceServerUri("turns:example.org"))).toBe("_turns._tcp");
    expect(srvServiceName(parseIceServerUri("turns:example.org?transport=tcp"))).toBe("_turns._tcp");
  });

  it("gives no SRV name for an IP address or an explicit port, which are contacted directly", () => {
    expect(srvServiceName(parseIceServerUri("stun:192.0.2.1"))).toBeUndefined();
    expect(srvServiceName(parseIceServerUri("turn:[2001:db8::1]"))).toBeUndefined();
    expect(srvServiceName(parseIceServerUri("stun:example.org:3478"))).toBeUndefined();
    expect(srvServiceName(parseIceServerUri("turns:example.org:443?transport=tcp"))).toBeUndefined();
  });

  it("keeps an explicit default port explicit, since it turns SRV off", () => {
    const u = parseIceServerUri("stun:example.org:3478");
    expect(u).toEqual(uri({ explicitPort: true }));
    expect(formatIceServerUri(u)).toBe("stun:example.org:3478");
  });

  it("refuses a stuns: URI that names an IP address (RFC 8489 §8.1: MUST be rejected)", () => {
    expect(uriProblem("stuns:192.0.2.1")).toMatch(/stuns: URI must name its server by DNS name.*RFC 8489 §8\.1/);
    expect(uriProblem("stuns:[2001:db8::1]:5349")).toMatch(/RFC 8489 §8\.1/);
  });

  it("accepts a turns: URI that names an IP address, which RFC 8656 does not forbid", () => {
    expect(parseIceServerUri("turns:192.0.2.1")).toEqual(
      uri({ scheme: "turns", host: "192.0.2.1", hostType: "ipv4", port: 5349, transport: "tls", secure: true }),
    );
  });
});

describe("parseIceServerUri: schemes and hosts", () => {
  it("reads the scheme case-insensitively (RFC 3986 §3.1)", () => {
    expect(parseIceServerUri("STUN:example.org")).toEqual(uri({}));
    expect(parseIceServerUri("Turns:example.org").scheme).toBe("turns");
  });

  it("lower-cases host names", () => {
    expect(parseIceServerUri("stun:Stun.EXAMPLE.org").host).toBe("stun.example.org");
  });

  it("accepts bracketed IPv6 addresses and puts them in RFC 5952 form", () => {
    expect(parseIceServerUri("stun:[2001:db8::1]:3478")).toEqual(uri({ host: "2001:db8::1", hostType: "ipv6", explicitPort: true }));
    expect(parseIceServerUri("stun:[::1]")).toEqual(uri({ host: "::1", hostType: "ipv6" }));
    expect(parseIceServerUri("stun:[2001:DB8:0:0:0:0:0:1]").host).toBe("2001:db8::1");
    expect(parseIceServerUri("stun:[::ffff:192.0.2.1]").host).toBe("::ffff:192.0.2.1");
    expect(formatIceServerUri(parseIceServerUri("stun:[2001:DB8::0001]:99"))).toBe("stun:[2001:db8::1]:99");
  });

  it("accepts IPv4 addresses", () => {
    expect(parseIceServerUri("turn:192.0.2.1:3479?transport=tcp")).toEqual(
      uri({ scheme: "turn", host: "192.0.2.1", hostType: "ipv4", port: 3479, explicitPort: true, transport: "tcp" }),
    );
  });

  it("refuses an unbracketed IPv6 address and shows the bracketed form", () => {
    expect(uriProblem("stun:2001:db8::1")).toMatch(/must be in brackets.*stun:\[2001:db8::1\]/);
    expect(uriProblem("turn:2001:db8::1:3478")).toMatch(/turn:\[2001:db8::1\]:3478/);
    expect(uriProblem("stun:::1")).toMatch(/stun:\[::1\]/);
  });

  it("refuses IPv4 in brackets, IPvFuture, zone identifiers and broken brackets", () => {
    expect(uriProblem("stun:[192.0.2.1]")).toMatch(/without them: 192\.0\.2\.1/);
    expect(uriProblem("stun:[v1.fe]")).toMatch(/IPvFuture/);
    expect(uriProblem("stun:[fe80::1%25eth0]")).toMatch(/zone identifiers/);
    expect(uriProblem("stun:[::1")).toMatch(/no closing '\]'/);
    expect(uriProblem("stun:[]")).toMatch(/brackets are empty/);
    expect(uriProblem("stun:[::1]3478")).toMatch(/only ':port' may follow/);
    expect(uriProblem("stun:[example.org]")).toMatch(/not a valid IPv6 address/);
    expect(uriProblem("stun:[::1.2.3.]")).toMatch(/not a valid IPv6 address/);
  });

  it("refuses an empty host", () => {
    for (const s of ["stun:", "stun::3478", "turn:?transport=udp", "stun:[]:3478"]) {
      expect(uriProblem(s)).toMatch(/empty/);
    }
  });

  it("follows RFC 1123 §2.1 for host names: letters, digits, inner hyphens, 63 per label, 253 in all", () => {
    const label63 = "a".repeat(63);
    expect(parseIceServerUri(`stun:${label63}.example`).host).toBe(`${label63}.example`);
    expect(uriProblem(`stun:a${label63}.example`)).toMatch(/label of 64 characters/);
    const name253 = `${label63}.${label63}.${label63}.${"b".repeat(61)}`;
    expect(name253.length).toBe(253);
    expect(parseIceServerUri(`stun:${name253}`).host).toBe(name253);
    expect(uriProblem(`stun:${name253}c`)).toMatch(/254 characters long/);
    expect(parseIceServerUri("stun:3com.example").host).toBe("3com.example"); // RFC 1123 lets labels start with a digit
    expect(parseIceServerUri("stun:xn--bcher-kva.example").host).toBe("xn--bcher-kva.example");
    expect(uriProblem("stun:-stun.example.org")).toMatch(/starts or ends with '-'/);
    expect(uriProblem("stun:stun-.example.org")).toMatch(/starts or ends with '-'/);
    expect(uriProblem("stun:stun..example.org")).toMatch(/empty label/);
    expect(uriProblem("stun:.example.org")).toMatch(/empty label/);
  });

  it("refuses characters a host name cannot hold, naming the character", () => {
    expect(uriProblem("stun:turn_server")).toMatch(/contains '_'/);
    expect(uriProblem("stun:a!b")).toMatch(/contains '!'/);
    expect(uriProblem("stun:a\\b")).toMatch(/contains '\\'/);
    expect(uriProblem("stun:a\u0000b")).toMatch(/U\+0000/);
    expect(uriProblem("stun:example.org/foo")).toMatch(/has no path/);
    expect(uriProblem("stun:/example.org")).toMatch(/has no path/);
    expect(uriProblem("turn:example.org;transport=tcp")).toMatch(/TURN takes \?transport=/);
    expect(uriProblem("stun:a[b")).toMatch(/brackets go around a whole IPv6 address/);
  });

  it("accepts one trailing dot (an absolute name) and drops it", () => {
    expect(parseIceServerUri("stun:example.org.")).toEqual(uri({}));
    expect(parseIceServerUri("stun:example.org.:8000")).toEqual(uri({ port: 8000, explicitPort: true }));
    expect(uriProblem("stun:example.org..")).toMatch(/empty label/);
    expect(uriProblem("stun:.")).toMatch(/empty label/);
  });

  it("refuses a name ending in an all-digit label: a mistyped IPv4 address (RFC 1123 §2.1)", () => {
    for (const s of ["stun:256.256.256.256", "stun:192.168.0.257", "stun:1.2.3", "stun:01.2.3.4", "stun:10000000000", "stun:1.2.3.4."]) {
      expect(uriProblem(s)).toMatch(/not a valid IPv4 address/);
    }
  });

  it("decodes percent-encoded unreserved characters in a host (RFC 3986 §6.2.2.2) and refuses other encodings", () => {
    expect(parseIceServerUri("stun:ex%61mple.org")).toEqual(uri({}));
    expect(parseIceServerUri("stun:%45XAMPLE%2eorg").host).toBe("example.org");
    expect(parseIceServerUri("stun:%31%39%32.0.2.1")).toEqual(uri({ host: "192.0.2.1", hostType: "ipv4" }));
    expect(uriProblem("stun:ex%2Fample.org")).toMatch(/percent-encoded byte %2F \('\/'\)/);
    expect(uriProblem("stun:hello%00")).toMatch(/percent-encoded byte %00/);
    expect(uriProblem("stun:%zz.example")).toMatch(/does not start a percent-encoded byte/);
    expect(uriProblem("stun:example%")).toMatch(/does not start a percent-encoded byte/);
    expect(uriProblem("stun:%5f.example")).toMatch(/contains '_'/); // decodes, then fails RFC 1123
    expect(uriProblem("stun:%ef%bc%85.example")).toMatch(/non-ASCII byte %ef.*A-label/);
  });

  it("refuses internationalized names and shows the A-label to pass instead", () => {
    expect(uriProblem("stun:bücher.example")).toMatch(/internationalized name; pass its A-label \(punycode\) form, xn--bcher-kva\.example/);
    expect(uriProblem("stun:你好你好")).toMatch(/A-label \(punycode\) form, xn--/);
    expect(uriProblem("stun:\ud800.example")).toMatch(/internationalized name/);
  });
});

describe("parseIceServerUri: what the RFC 7064/7065 grammar leaves out", () => {
  it("refuses '//' after the scheme, since these URIs have no authority, and shows the fix", () => {
    expect(uriProblem("stun://stun.example.org")).toMatch(/no '\/\/' after the scheme.*write stun:stun\.example\.org/);
    expect(uriProblem("turn://example.org/foo?x=y")).toMatch(/no '\/\/'/);
  });

  it("refuses user information (RFC 7064 §3.1; RFC 7065 Appendix B)", () => {
    expect(uriProblem("turn:alice@turn.example.org")).toMatch(/user information.*pass the username and credential separately/);
    expect(uriProblem("stun:@example.org")).toMatch(/user information/);
    expect(uriProblem("turn:alice:secret@turn.example.org:3478")).toMatch(/user information/);
  });

  it("refuses any query on stun: and stuns:", () => {
    expect(uriProblem("stun:example.org?transport=udp")).toMatch(/stun: URI takes no query/);
    expect(uriProblem("stuns:example.org?transport=tcp")).toMatch(/stuns: URI takes no query/);
    expect(uriProblem("stun:example.org?")).toMatch(/takes no query/);
  });

  it("takes ?transport=udp or tcp on turn:, in any case (RFC 5234 §2.3)", () => {
    expect(parseIceServerUri("turn:example.org?TRANSPORT=TCP").transport).toBe("tcp");
    expect(parseIceServerUri("TURN:example.org:3478?Transport=Udp")).toEqual(
      uri({ scheme: "turn", port: 3478, explicitPort: true, transport: "udp" }),
    );
  });

  it("refuses other transports, other keys, extra parameters and empty queries", () => {
    expect(uriProblem("turn:example.org?transport=sctp")).toMatch(/transport 'sctp' is not one icekit supports/);
    expect(uriProblem("turn:example.org?transport=tls")).toMatch(/transport 'tls'/);
    expect(uriProblem("turn:example.org?transport=")).toMatch(/not \?transport=udp or \?transport=tcp/);
    expect(uriProblem("turn:example.org?transport")).toMatch(/needs a value/);
    expect(uriProblem("turn:example.org?proto=udp")).toMatch(/not \?transport=…, the only parameter/);
    expect(uriProblem("turn:example.org?transport=udp&foo=1")).toMatch(/more than one parameter/);
    expect(uriProblem("turn:example.org?")).toMatch(/followed by nothing/);
    expect(uriProblem("turn:example.org?transport=udp?")).toMatch(/not \?transport=udp/);
  });

  it("refuses turns: with transport=udp, which would be DTLS, rather than silently using TLS", () => {
    expect(uriProblem("turns:example.org?transport=udp")).toMatch(/DTLS.*icekit does not support/);
  });

  it("refuses fragments", () => {
    expect(uriProblem("stun:example.org#foo")).toMatch(/fragment/);
  });

  it("takes ports 1 to 65535, leading zeros allowed (RFC 3986 *DIGIT)", () => {
    expect(parseIceServerUri("stun:example.org:1").port).toBe(1);
    expect(parseIceServerUri("stun:example.org:65535").port).toBe(65535);
    expect(parseIceServerUri("stun:example.org:03478")).toEqual(uri({ explicitPort: true }));
    expect(formatIceServerUri(parseIceServerUri("stun:example.org:0000080"))).toBe("stun:example.org:80");
  });

  it("refuses port 0, ports past 65535, non-digits and an empty port, quoting what was given", () => {
    expect(uriProblem("stun:example.org:0")).toMatch(/port 0 is out of range/);
    expect(uriProblem("stun:example.org:000")).toMatch(/port 0 is out of range/);
    expect(uriProblem("stun:example.org:65536")).toMatch(/port 65536 is out of range/);
    expect(uriProblem("stun:example.org:99999999999999999999999999")).toMatch(/port 99999999999999999999… is out of range/);
    expect(uriProblem("stun:example.org:b")).toMatch(/the port 'b' is not a number/);
    expect(uriProblem("stun:example.org:-21")).toMatch(/not a number/);
    expect(uriProblem("stun:example.org:+21")).toMatch(/not a number/);
    expect(uriProblem("stun:example.org: 21")).toMatch(/not a number/);
    expect(uriProblem("stun:example.org:3478/")).toMatch(/not a number/);
    expect(uriProblem("stun:example.org:")).toMatch(/port after ':' is empty/);
    expect(uriProblem("stun:example.org:3478:1")).toMatch(/more than one ':'/);
  });

  it("gives the message the brief promises: the input, the problem and what a valid URI looks like", () => {
    expect(uriProblem("stun:example.org:99999")).toBe(
      "'stun:example.org:99999': port 99999 is out of range (1-65535); a STUN URI looks like stun:host[:port] (RFC 7064), e.g. stun:stun.example.org:3478",
    );
    expect(uriProblem("turn:example.org?transport=sctp")).toMatch(/a TURN URI looks like turn:host\[:port\]\[\?transport=udp\|tcp\] \(RFC 7065\)/);
  });

  it("refuses other schemes and text without one, guessing stun: when that would parse", () => {
    expect(uriProblem("http://example.com")).toMatch(/does not start with stun:, stuns:, turn: or turns:; an ICE server URI looks like/);
    expect(uriProblem("relative-url")).toMatch(/did you mean stun:relative-url\?/);
    expect(uriProblem("stun.example.org:3478")).toMatch(/did you mean stun:stun\.example\.org:3478\?/);
    expect(uriProblem("stunx:example.org")).toMatch(/does not start with/);
    expect(uriProblem("")).toMatch(/the URI is empty/);
    expect(uriProblem("   ")).toMatch(/the URI is empty/);
  });

  it("trims surrounding ASCII whitespace, as the WHATWG URL parser browsers use does, but refuses it inside", () => {
    expect(parseIceServerUri("  stun:example.org\r\n")).toEqual(uri({}));
    expect(parseIceServerUri("\tturn:example.org?transport=tcp ").transport).toBe("tcp");
    expect(uriProblem("stun:example .org")).toMatch(/U\+0020.*remove the whitespace/);
    expect(uriProblem("stun:example.org :3478")).toMatch(/U\+0020/);
    expect(uriProblem("stun:exa\tmple.org")).toMatch(/U\+0009/);
  });

  it("escapes control characters and cuts long input when quoting it", () => {
    expect(uriProblem("stun:a\nb")).toMatch(/^'stun:a\\nb'/);
    const long = `stun:${"a".repeat(500)}`;
    const m = uriProblem(long);
    expect(m.length).toBeLessThan(450);
    expect(m).toMatch(/^'stun:a+…'/);
  });

  it("refuses a non-string with INVALID_URI, not a TypeError", () => {
    for (const v of [undefined, null, 42, {}, ["stun:example.org"]]) {
      expect(rejection(() => parseIceServerUri(v as unknown as string)).code).toBe("INVALID_URI");
    }
  });
});

describe("formatIceServerUri", () => {
  it("writes canonical text: lower case, brackets around IPv6, default port left out", () => {
    expect(formatIceServerUri(parseIceServerUri("STUNS:Stun.Example.ORG.:5349"))).toBe("stuns:stun.example.org:5349");
    expect(formatIceServerUri(uri({ host: "2001:db8::1", hostType: "ipv6" }))).toBe("stun:[2001:db8::1]");
    expect(formatIceServerUri(uri({ scheme: "turn", transport: "tcp", port: 443, explicitPort: true }))).toBe(
      "turn:example.org:443?transport=tcp",
    );
  });

  it("canonicalizes a hand-built host", () => {
    expect(formatIceServerUri(uri({ host: "Example.ORG." }))).toBe("stun:example.org");
    expect(formatIceServerUri(uri({ host: "2001:DB8:0::1", hostType: "ipv6" }))).toBe("stun:[2001:db8::1]");
  });

  it("writes a non-default port even when explicitPort is false, so no information is lost", () => {
    expect(formatIceServerUri(uri({ port: 8000 }))).toBe("stun:example.org:8000");
  });

  it("refuses fields that no URI can say or that disagree", () => {
    expect(rejection(() => formatIceServerUri(uri({ transport: "tcp" }))).message).toMatch(/transport tcp does not fit 'stun:example\.org'/);
    expect(rejection(() => formatIceServerUri(uri({ scheme: "turns", port: 5349, secure: true, transport: "udp" }))).code).toBe(
      "INVALID_URI",
    );
    expect(rejection(() => formatIceServerUri(uri({ secure: true }))).message).toMatch(/secure true/);
    expect(rejection(() => formatIceServerUri(uri({ host: "192.0.2.1" }))).message).toMatch(/hostType name does not fit/);
    expect(rejection(() => formatIceServerUri(uri({ host: "example.org", hostType: "ipv4" }))).code).toBe("INVALID_URI");
    expect(rejection(() => formatIceServerUri(uri({ host: "example.org:99" }))).message).toMatch(/host 'example\.org:99' is not a host name alone/);
    expect(rejection(() => formatIceServerUri(uri({ scheme: "turn", host: "example.org?transport=tcp" }))).code).toBe("INVALID_URI");
    expect(rejection(() => formatIceServerUri(uri({ host: "a b" }))).code).toBe("INVALID_URI");
    expect(rejection(() => formatIceServerUri(uri({ port: 70000, explicitPort: true }))).message).toMatch(/out of range/);
    expect(rejection(() => formatIceServerUri(uri({ port: 3478.5, explicitPort: true }))).code).toBe("INVALID_URI");
    expect(rejection(() => formatIceServerUri(uri({ scheme: "ftp" as IceServerScheme }))).code).toBe("INVALID_URI");
    expect(rejection(() => formatIceServerUri(null as unknown as IceServerUri)).code).toBe("INVALID_URI");
  });
});

describe("parseIceServers: the RTCIceServer shape (W3C webrtc-pc)", () => {
  it("takes urls as one string or an array, and one server or an array of them", () => {
    expect(parseIceServers({ urls: "stun:stun1.example.net" })).toEqual([{ uri: uri({ host: "stun1.example.net" }) }]);
    const entries = parseIceServers([
      { urls: ["stun:stun1.example.net", "stun:stun2.example.net"] },
      { urls: ["turns:turn.example.org", "turn:turn.example.net?transport=tcp"], username: "user", credential: "cred" },
    ]);
    expect(entries.map((e) => formatIceServerUri(e.uri))).toEqual([
      "stun:stun1.example.net",
      "stun:stun2.example.net",
      "turns:turn.example.org",
      "turn:turn.example.net?transport=tcp",
    ]);
    expect(entries[0]).not.toHaveProperty("username");
    expect(entries[2]).toMatchObject({ username: "user", credential: "cred" });
    expect(entries[3]).toMatchObject({ username: "user", credential: "cred" });
  });

  it("gives no entries for no servers, as RTCConfiguration's default iceServers = [] does", () => {
    expect(parseIceServers([])).toEqual([]);
  });

  it("keeps credentials given with a stun: URI, for STUN servers that use them", () => {
    expect(parseIceServers({ urls: "stun:example.org", username: "u", credential: "p" })).toEqual([
      { uri: uri({}), username: "u", credential: "p" },
    ]);
  });

  it("throws MISSING_CREDENTIAL for turn: and turns: without username and credential, as browsers throw InvalidAccessError", () => {
    const cases: [RTCIceServerLike, RegExp][] = [
      [{ urls: "turn:turn.example.net" }, /username and credential are missing/],
      [{ urls: "turn:turn.example.net", username: "user" }, /credential is missing/],
      [{ urls: "turns:turn.example.net", credential: "cred" }, /username is missing/],
      [{ urls: ["stun:example.org", "turn:[2001:db8::1]:3478"] }, /iceServer\.urls\[1\]: turn:\[2001:db8::1\]:3478 is a TURN server/],
    ];
    for (const [server, message] of cases) {
      const r = rejection(() => parseIceServers(server));
      expect(r.code).toBe("MISSING_CREDENTIAL");
      expect(r.message).toMatch(message);
      expect(r.message).toMatch(/pass username and credential/);
    }
  });

  it("also refuses empty TURN credentials, which browsers accept but no TURN server does", () => {
    const r = rejection(() => parseIceServers({ urls: "turn:turn.example.org", username: "", credential: "" }));
    expect(r.code).toBe("MISSING_CREDENTIAL");
    expect(r.message).toMatch(/username and credential are empty/);
    expect(rejection(() => parseIceServers({ urls: "turn:turn.example.org", username: "u", credential: "" })).message).toMatch(
      /credential is empty/,
    );
  });

  it("limits a TURN username to 509 bytes of UTF-8 (RFC 8489 §14.3), as browsers do", () => {
    expect(parseIceServers({ urls: "turn:example.org", username: "a".repeat(509), credential: "p" })).toHaveLength(1);
    const r = rejection(() => parseIceServers({ urls: "turn:example.org", username: "a".repeat(510), credential: "p" }));
    expect(r.code).toBe("INVALID_ARGUMENT");
    expect(r.message).toMatch(/510 bytes/);
    expect(rejection(() => parseIceServers({ urls: "turn:example.org", username: "é".repeat(255), credential: "p" })).message).toMatch(
      /510 bytes/,
    );
  });

  it("says where a bad URI is", () => {
    const r = rejection(() => parseIceServers([{ urls: "stun:a.example" }, { urls: ["stun:b.example", "stun://c.example"] }]));
    expect(r.code).toBe("INVALID_URI");
    expect(r.message).toMatch(/^iceServers\[1\]\.urls\[1\]: 'stun:\/\/c\.example': there is no '\/\/'/);
    expect(rejection(() => parseIceServers({ urls: "" })).message).toMatch(/^iceServer\.urls: '': the URI is empty/);
  });

  it("refuses empty urls, a missing urls and malformed objects with IcekitError, not TypeError", () => {
    expect(rejection(() => parseIceServers({ urls: [] })).message).toMatch(/urls is empty/);
    const bad: unknown[] = [{}, { urls: 42 }, { urls: null }, null, undefined, "stun:example.org", [null], [{}], [[]], { urls: [1] }];
    for (const v of bad) {
      const r = rejection(() => parseIceServers(v as RTCIceServerLike));
      expect(["INVALID_URI", "INVALID_ARGUMENT"]).toContain(r.code);
    }
    expect(rejection(() => parseIceServers({ urls: "stun:example.org", username: 5 } as unknown as RTCIceServerLike)).message).toMatch(
      /iceServer\.username must be a string/,
    );
  });

  it("treats a null username or credential as absent, as JSON configs often write it", () => {
    const server = { urls: "stun:example.org", username: null, credential: null } as unknown as RTCIceServerLike;
    expect(parseIceServers(server)).toEqual([{ uri: uri({}) }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Changes the case of some ASCII letters, as a user might write them. */
const mixCase = (s: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(""));

const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
const topLabelArb = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,12}[a-z0-9])?$/);

/** A host as written in a URI, with the host parseIceServerUri should give for it. */
interface HostCase {
  readonly text: string;
  readonly host: string;
  readonly hostType: IceServerUri["hostType"];
}

const nameArb: fc.Arbitrary<HostCase> = fc
  .tuple(fc.array(labelArb, { maxLength: 4 }), topLabelArb, fc.boolean())
  .map(([labels, top, dot]) => [...labels, top].join(".") + (dot ? "." : ""))
  .filter((s) => s.replace(/\.$/, "").length <= 253)
  .chain((s) => mixCase(s).map((text) => ({ text, host: s.replace(/\.$/, ""), hostType: "name" as const })));

const ipv4Arb: fc.Arbitrary<HostCase> = fc.ipV4().map((a) => ({ text: a, host: canonicalIp(a), hostType: "ipv4" as const }));
const ipv6Arb: fc.Arbitrary<HostCase> = fc.ipV6().map((a) => ({ text: `[${a}]`, host: canonicalIp(a), hostType: "ipv6" as const }));
const hostArb = fc.oneof(nameArb, ipv4Arb, ipv6Arb);

/** A valid URI and the object it should parse to. */
const validUriArb: fc.Arbitrary<{ text: string; expected: IceServerUri }> = fc
  .record({
    scheme: fc.constantFrom<IceServerScheme>("stun", "stuns", "turn", "turns"),
    host: hostArb,
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    zeros: fc.nat({ max: 2 }),
    query: fc.constantFrom(undefined, "udp", "tcp"),
  })
  .filter((r) => !(r.scheme === "stuns" && r.host.hostType !== "name"))
  .filter((r) => r.query === undefined || r.scheme === "turn" || (r.scheme === "turns" && r.query === "tcp"))
  .chain((r) =>
    fc
      .tuple(mixCase(r.scheme), mixCase(`?transport=${r.query ?? ""}`))
      .map(([scheme, query]) => {
        const secure = r.scheme === "stuns" || r.scheme === "turns";
        const text = `${scheme}:${r.host.text}${r.port === undefined ? "" : `:${"0".repeat(r.zeros)}${r.port}`}${r.query === undefined ? "" : query}`;
        const expected: IceServerUri = {
          scheme: r.scheme,
          host: r.host.host,
          hostType: r.host.hostType,
          port: r.port ?? (secure ? 5349 : 3478),
          explicitPort: r.port !== undefined,
          transport: secure ? "tls" : r.query === "tcp" ? "tcp" : "udp",
          secure,
        };
        return { text, expected };
      }),
  );

/** Runs `f`, requiring that it return or throw an IcekitError and nothing else. */
function onlyIcekitErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!isIcekitError(e)) throw e;
    return undefined;
  }
}

describe("properties", () => {
  it("parses any valid URI to the expected fields, and format → parse gives it back", () => {
    fc.assert(
      fc.property(validUriArb, ({ text, expected }) => {
        const u = parseIceServerUri(text);
        expect(u).toEqual(expected);
        const canonical = formatIceServerUri(u);
        expect(parseIceServerUri(canonical)).toEqual(u);
        expect(formatIceServerUri(parseIceServerUri(canonical))).toBe(canonical);
        expect(canonical).toBe(canonical.toLowerCase());
        expect(srvServiceName(u) === undefined).toBe(u.hostType !== "name" || u.explicitPort);
      }),
      { numRuns: 2000 },
    );
  });

  it("throws only IcekitError INVALID_URI on any string, and whatever it accepts round-trips", () => {
    const check = (s: string): void => {
      let u: IceServerUri | undefined;
      try {
        u = parseIceServerUri(s);
      } catch (e) {
        expect(isIcekitError(e)).toBe(true);
        if (isIcekitError(e)) {
          expect(e.code).toBe("INVALID_URI");
          expect(e.message).toMatch(/looks like .*, e\.g\. (stun|stuns|turn|turns):/);
        }
        return;
      }
      expect(parseIceServerUri(formatIceServerUri(u))).toEqual(u);
    };
    const uriChars = fc.constantFrom(..."[]:?=@/.%-_~#&; \t\nazAZ09fFxü\u0000\u00a0".split(""), "\ud83d\ude00", "\ud800");
    const prefix = fc.constantFrom("", "stun:", "STUNS:", "turn:", "turns:", "turn:example.org", "stun:[");
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 80 }), check), { numRuns: 1000 });
    fc.assert(
      fc.property(prefix, fc.string({ unit: uriChars, maxLength: 40 }), (p, s) => check(p + s)),
      { numRuns: 3000 },
    );
  });

  it("throws only IcekitError on valid URIs with one character inserted, deleted or replaced", () => {
    const mutated = fc
      .tuple(validUriArb, fc.nat(), fc.constantFrom("delete", "insert", "replace"), fc.constantFrom(..."[]:?=@/.%-_~#0aZ ü".split("")))
      .map(([{ text }, n, op, ch]) => {
        const i = n % (text.length + 1);
        if (op === "insert") return text.slice(0, i) + ch + text.slice(i);
        if (op === "delete") return text.slice(0, i) + text.slice(i + 1);
        return text.slice(0, i) + ch + text.slice(i + 1);
      });
    fc.assert(
      fc.property(mutated, (s) => {
        const u = onlyIcekitErrors(() => parseIceServerUri(s));
        if (u !== undefined) expect(parseIceServerUri(formatIceServerUri(u))).toEqual(u);
      }),
      { numRuns: 3000 },
    );
  });

  it("parseIceServers throws only IcekitError on anything, and gives one entry per URI otherwise", () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBoxedValues: true }), (v) => {
        const entries = onlyIcekitErrors(() => parseIceServers(v as RTCIceServerLike));
        if (entries !== undefined) expect(Array.isArray(entries)).toBe(true);
      }),
      { numRuns: 1000 },
    );
    const serverArb = fc.record(
      {
        urls: fc.oneof(validUriArb.map((u) => u.text), fc.array(validUriArb.map((u) => u.text), { maxLength: 3 })),
        username: fc.string({ maxLength: 3 }),
        credential: fc.string({ maxLength: 3 }),
      },
      { requiredKeys: ["urls"] },
    );
    fc.assert(
      fc.property(fc.array(serverArb, { maxLength: 3 }), (servers) => {
        const entries = onlyIcekitErrors(() => parseIceServers(servers));
        const urls = servers.flatMap((s) => (typeof s.urls === "string" ? [s.urls] : s.urls));
        const needsCredential = servers.some((s) => {
          const list = typeof s.urls === "string" ? [s.urls] : s.urls;
          return list.length === 0 || (list.some((t) => /^turns?:/i.test(t)) && !(s.username && s.credential));
        });
        expect(entries === undefined).toBe(needsCredential);
        if (entries !== undefined) expect(entries.map((e) => e.uri)).toEqual(urls.map((t) => parseIceServerUri(t)));
      }),
      { numRuns: 500 },
    );
  });
});
