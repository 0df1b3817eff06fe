/**
 * SSDP (UDA 1.1 §1.3): the M-SEARCH request byte for byte, miniupnpd's real answer, strict
 * limits on answers (size, header count, line length), missing or repeated LOCATION, the
 * LOCATION-versus-responder check that stops a spoofed answer steering requests elsewhere, and
 * fast-check properties: random and mutated datagrams throw only UpnpError.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SsdpSearchTarget, checkSsdpLocation, encodeSsdpSearch, isUpnpError, parseSsdpResponse } from "../../src/nat/index";
import { MINIUPNPD_SSDP_RESPONSE } from "./upnp-fixtures";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => String.fromCharCode(...b);

function upnpCode(f: () => unknown): string {
  try {
    f();
    return "none";
  } catch (e) {
    if (!isUpnpError(e)) throw new Error(`threw ${String(e)}, not an UpnpError`);
    return e.code;
  }
}

function onlyUpnpErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isUpnpError(e)) throw new Error(`threw ${String(e)}, not an UpnpError`);
  }
}

describe("M-SEARCH (UDA 1.1 §1.3.2)", () => {
  it("encodes a multicast search for IGD:2 with HOST, MAN, MX and ST", () => {
    expect(text(encodeSsdpSearch({ searchTarget: SsdpSearchTarget.InternetGatewayDeviceV2 }))).toBe(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\n\r\n',
    );
  });

  it("encodes a unicast search to a gateway, with MX only when asked, and a USER-AGENT", () => {
    expect(text(encodeSsdpSearch({ searchTarget: SsdpSearchTarget.WanIpConnectionV1, host: "192.168.1.1:1900" }))).toBe(
      'M-SEARCH * HTTP/1.1\r\nHOST: 192.168.1.1:1900\r\nMAN: "ssdp:discover"\r\nST: urn:schemas-upnp-org:service:WANIPConnection:1\r\n\r\n',
    );
    const s = text(encodeSsdpSearch({ searchTarget: "ssdp:all", host: "192.168.1.1:1900", mx: 1, userAgent: "Linux/6 UPnP/1.1 icekit/0.1" }));
    expect(s).toContain("\r\nMX: 1\r\n");
    expect(s).toContain("\r\nUSER-AGENT: Linux/6 UPnP/1.1 icekit/0.1\r\n");
  });

  it("has every search target a gateway client needs", () => {
    expect(Object.values(SsdpSearchTarget)).toEqual([
      "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
      "urn:schemas-upnp-org:service:WANIPConnection:1",
      "urn:schemas-upnp-org:service:WANIPConnection:2",
      "urn:schemas-upnp-org:service:WANPPPConnection:1",
    ]);
  });

  it("refuses an MX outside 1-5 and header injection, as API misuse", () => {
    for (const mx of [0, 6, 1.5]) expect(() => encodeSsdpSearch({ searchTarget: "ssdp:all", mx })).toThrow(expect.objectContaining({ name: "IcekitError" }));
    expect(() => encodeSsdpSearch({ searchTarget: "ssdp:all\r\nX-Evil: 1" })).toThrow(expect.objectContaining({ name: "IcekitError" }));
    expect(() => encodeSsdpSearch({ searchTarget: "" })).toThrow(expect.objectContaining({ name: "IcekitError" }));
  });
});

describe("SSDP search responses (UDA 1.1 §1.3.3)", () => {
  it("parses miniupnpd 2.3.1's answer", () => {
    const r = parseSsdpResponse(bytes(MINIUPNPD_SSDP_RESPONSE));
    expect(r).toMatchObject({
      location: "http://10.88.0.1:5000/rootDesc.xml",
      searchTarget: "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      usn: "uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b::urn:schemas-upnp-org:device:InternetGatewayDevice:1",
      maxAge: 120,
      server: "Debian/6.18.44-fc-v782 UPnP/1.1 MiniUPnPd/2.3.1",
    });
    expect(r.headers.get("bootid.upnp.org")).toBe("1795673883");
    expect(r.headers.get("ext")).toBe("");
  });

  it("reads header names case-insensitively, bare LF line ends, HTTP/1.0, and no final empty line", () => {
    const r = parseSsdpResponse(bytes("HTTP/1.0 200 OK\nlocation:http://192.168.0.1:1780/desc.xml\nSt:  upnp:rootdevice \ncache-control: no-cache, max-age = 1800"));
    expect(r).toMatchObject({ location: "http://192.168.0.1:1780/desc.xml", searchTarget: "upnp:rootdevice", maxAge: 1800, usn: undefined });
  });

  it("treats a missing or malformed max-age as unknown, not as an error", () => {
    const base = "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/d.xml\r\nST: upnp:rootdevice\r\n";
    expect(parseSsdpResponse(bytes(base + "\r\n")).maxAge).toBeUndefined();
    expect(parseSsdpResponse(bytes(base + "CACHE-CONTROL: max-age=abc\r\n\r\n")).maxAge).toBeUndefined();
    expect(parseSsdpResponse(bytes(base + "CACHE-CONTROL: max-age=99999999999\r\n\r\n")).maxAge).toBeUndefined();
  });

  it("refuses answers without LOCATION or ST, with two LOCATIONs, or that are not 200 responses", () => {
    const cases = [
      "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n",
      "HTTP/1.1 200 OK\r\nLOCATION: \r\nST: upnp:rootdevice\r\n\r\n",
      "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/\r\n\r\n",
      "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/\r\nLocation: http://8.8.8.8/\r\nST: x\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\nLOCATION: http://10.0.0.1/\r\nST: x\r\n\r\n",
      "HTTP/1.1 2000 OK\r\nLOCATION: http://10.0.0.1/\r\nST: x\r\n\r\n",
      'NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nLOCATION: http://10.0.0.1/\r\n\r\n',
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nST: ssdp:all\r\n\r\n',
      "",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
      "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/\u0000\r\nST: x\r\n\r\n",
    ];
    for (const c of cases) expect(upnpCode(() => parseSsdpResponse(bytes(c))), JSON.stringify(c)).toBe("SSDP_MALFORMED");
  });

  it("enforces the size, header-count and line-length limits while reading", () => {
    const ok = "HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/\r\nST: x\r\n";
    expect(upnpCode(() => parseSsdpResponse(new Uint8Array(65_000).fill(0x41)))).toBe("SSDP_MALFORMED");
    expect(upnpCode(() => parseSsdpResponse(bytes(ok + `X-BIG: ${"a".repeat(2000)}\r\n\r\n`)))).toBe("SSDP_MALFORMED");
    expect(upnpCode(() => parseSsdpResponse(bytes(ok + "X-H: 1\r\n".repeat(40) + "\r\n")))).toBe("SSDP_MALFORMED");
    expect(upnpCode(() => parseSsdpResponse(bytes(ok + "X-H: 1\r\n".repeat(29) + "\r\n")))).toBe("none");
    expect(upnpCode(() => parseSsdpResponse(bytes(ok + "\r\n"), { maxBytes: 20 }))).toBe("SSDP_MALFORMED");
    expect(upnpCode(() => parseSsdpResponse(bytes(ok + "X: 1\r\n\r\n"), { maxHeaders: 2 }))).toBe("SSDP_MALFORMED");
  });

  it("ignores what follows the empty line", () => {
    expect(parseSsdpResponse(bytes("HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/\r\nST: x\r\n\r\n\u0001garbage")).location).toBe("http://10.0.0.1/");
  });
});

describe("LOCATION check against the responder (SSRF and spoofing)", () => {
  it("accepts an http:// LOCATION on the responder's own address and normalises it", () => {
    expect(checkSsdpLocation("http://10.0.0.1:5000/rootDesc.xml", "10.0.0.1")).toBe("http://10.0.0.1:5000/rootDesc.xml");
    expect(checkSsdpLocation("HTTP://10.0.0.1/a/../desc.xml", "::ffff:10.0.0.1")).toBe("http://10.0.0.1/desc.xml");
    expect(checkSsdpLocation("http://[fe80::0:1]:49000/igd.xml", "fe80::1")).toBe("http://[fe80::1]:49000/igd.xml");
  });

  it("refuses a LOCATION on another host than the responder: 10.0.0.1 pointing at 8.8.8.8", () => {
    expect(upnpCode(() => checkSsdpLocation("http://8.8.8.8/rootDesc.xml", "10.0.0.1"))).toBe("FOREIGN_LOCATION");
    expect(upnpCode(() => checkSsdpLocation("http://127.0.0.1:8080/admin", "10.0.0.1"))).toBe("FOREIGN_LOCATION");
    expect(upnpCode(() => checkSsdpLocation("http://10.0.0.2/", "10.0.0.1"))).toBe("FOREIGN_LOCATION");
  });

  it("refuses other schemes, host names, credentials and junk", () => {
    for (const loc of ["https://10.0.0.1/d.xml", "file:///etc/passwd", "ftp://10.0.0.1/", "http://router.local/d.xml", "http://user:pw@10.0.0.1/", "/rootDesc.xml", "not a url", "http://"]) {
      expect(upnpCode(() => checkSsdpLocation(loc, "10.0.0.1")), loc).toBe("FOREIGN_LOCATION");
    }
    expect(upnpCode(() => checkSsdpLocation("http://10.0.0.1/", "not-an-ip"))).toBe("FOREIGN_LOCATION");
  });

  it("sees through alternative spellings of a foreign IPv4 address", () => {
    // WHATWG URL parsing turns 0x08.8.8.8 and 134744072 into 8.8.8.8: still foreign.
    expect(upnpCode(() => checkSsdpLocation("http://0x08.8.8.8/", "10.0.0.1"))).toBe("FOREIGN_LOCATION");
    expect(upnpCode(() => checkSsdpLocation("http://134744072/", "10.0.0.1"))).toBe("FOREIGN_LOCATION");
    expect(checkSsdpLocation("http://167772161/d.xml", "10.0.0.1")).toBe("http://10.0.0.1/d.xml");
  });
});

describe("SSDP parser: properties", () => {
  it("throws only UpnpError on random datagrams", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyUpnpErrors(() => parseSsdpResponse(b))), { numRuns: 1000 });
    const lines = fc.array(fc.constantFrom("HTTP/1.1 200 OK", "LOCATION: http://10.0.0.1/", "ST: x", "Cache-Control: max-age=5", "", ":", "X", "\u0000", "a: b"), { maxLength: 10 });
    fc.assert(fc.property(lines, fc.constantFrom("\r\n", "\n"), (ls, eol) => onlyUpnpErrors(() => parseSsdpResponse(bytes(ls.join(eol))))), { numRuns: 1000 });
  });

  it("throws only UpnpError on mutated real answers", () => {
    const base = Array.from(bytes(MINIUPNPD_SSDP_RESPONSE));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.boolean()), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = base.slice();
        for (const [pos, v, insert] of edits) {
          const i = pos % (b.length + 1);
          if (insert) b.splice(i, 0, v);
          else if (i < b.length) b[i] = v;
        }
        onlyUpnpErrors(() => {
          const r = parseSsdpResponse(Uint8Array.from(b));
          checkSsdpLocation(r.location, "10.88.0.1");
        });
      }),
      { numRuns: 1000 },
    );
  });
});
