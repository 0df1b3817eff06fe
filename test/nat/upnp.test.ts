/**
 * UPnP IGD control, pure: finding the WAN connection service in real-looking descriptions
 * (miniupnpd's IGDv2, a consumer router's IGDv1 with URLBase and PPP + IP devices, a PPP-only
 * one with prefixes), control URLs pointing elsewhere, SOAP requests (headers, argument order,
 * escaping), SOAP responses and faults (718, 725, 606, 402, 501, 714), and the lease logic of
 * UpnpMappingClient against a scripted gateway: AddAnyPortMapping with fallback to
 * AddPortMapping on 401, 718 conflicts, 725 permanent leases, renewal at half the lease,
 * expiry, deletion. Properties: the response parsers and the engine throw nothing but
 * UpnpError (parsers) or nothing at all (engine) on random bodies.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  UpnpErrorCodes,
  UpnpMappingClient,
  encodeAddAnyPortMapping,
  encodeAddPortMapping,
  encodeDeletePortMapping,
  encodeGetExternalIpAddress,
  encodeGetSpecificPortMappingEntry,
  encodeGetStatusInfo,
  encodeSoapRequest,
  isUpnpError,
  parseAddAnyPortMappingResponse,
  parseAddPortMappingResponse,
  parseDeviceDescription,
  parseGetExternalIpAddressResponse,
  parseGetSpecificPortMappingEntryResponse,
  parseGetStatusInfoResponse,
  parseServiceType,
  parseSoapResponse,
  parseXml,
  selectWanConnectionService,
  xmlChild,
  xmlDescendant,
} from "../../src/nat/index";
import type { SoapRequest, UpnpMappingEvent, UpnpMappingOptions, UpnpError } from "../../src/nat/index";
import { CONSUMER_ROUTER_DESCRIPTION, MINIUPNPD_DESCRIPTION, PPP_ONLY_DESCRIPTION, soapFault, soapOk } from "./upnp-fixtures";

const V2 = { serviceType: "urn:schemas-upnp-org:service:WANIPConnection:2", controlUrl: "http://10.88.0.1:5000/ctl/IPConn", version: 2 };
const V1 = { serviceType: "urn:schemas-upnp-org:service:WANIPConnection:1", controlUrl: "http://192.168.1.1:49000/upnp/control/wanipconnection1", version: 1 };

function caught(f: () => unknown): UpnpError {
  try {
    f();
  } catch (e) {
    if (isUpnpError(e)) return e;
    throw new Error(`threw ${String(e)}, not an UpnpError`);
  }
  throw new Error("did not throw");
}

describe("device descriptions (UDA 1.1 §2.3)", () => {
  it("finds WANIPConnection:2 three devices deep in miniupnpd's description", () => {
    const d = parseDeviceDescription(MINIUPNPD_DESCRIPTION, "http://10.88.0.1:5000/rootDesc.xml");
    expect(d).toMatchObject({ deviceType: "urn:schemas-upnp-org:device:InternetGatewayDevice:2", friendlyName: "icekit test router", udn: "uuid:3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b", servicesRefused: 0 });
    expect(d.services.map((s) => s.serviceType.split(":")[3])).toEqual(["Layer3Forwarding", "DeviceProtection", "WANCommonInterfaceConfig", "WANIPConnection", "WANIPv6FirewallControl"]);
    expect(selectWanConnectionService(d)).toEqual({
      serviceType: "urn:schemas-upnp-org:service:WANIPConnection:2",
      serviceId: "urn:upnp-org:serviceId:WANIPConn1",
      controlUrl: "http://10.88.0.1:5000/ctl/IPConn",
      eventSubUrl: "http://10.88.0.1:5000/evt/IPConn",
      scpdUrl: "http://10.88.0.1:5000/WANIPCn.xml",
      deviceType: "urn:schemas-upnp-org:device:WANConnectionDevice:2",
      kind: "WANIPConnection",
      version: 2,
    });
  });

  it("prefers WANIPConnection:1 over an earlier WANPPPConnection:1, resolving against URLBase", () => {
    const d = parseDeviceDescription(CONSUMER_ROUTER_DESCRIPTION, "http://192.168.1.1:49000/igddesc.xml");
    expect(d.friendlyName).toBe("HomeBox 7590 & Co");
    expect(d.baseUrl).toBe("http://192.168.1.1:49000/");
    const wan = selectWanConnectionService(d)!;
    expect(wan).toMatchObject({ kind: "WANIPConnection", version: 1, controlUrl: "http://192.168.1.1:49000/upnp/control/wanipconnection1", scpdUrl: "http://192.168.1.1:49000/igdconnSCPD.xml" });
    expect(d.services.find((s) => s.serviceType.endsWith("WANPPPConnection:1"))!.controlUrl).toBe("http://192.168.1.1:49000/upnp/control/wanpppconn1");
  });

  it("falls back to WANPPPConnection:1, reading prefixed elements by local name, relative to the location", () => {
    const wan = selectWanConnectionService(parseDeviceDescription(PPP_ONLY_DESCRIPTION, "http://192.168.0.1:2800/desc.xml"))!;
    expect(wan).toMatchObject({ kind: "WANPPPConnection", version: 1, controlUrl: "http://192.168.0.1:2800/ppp/ctl", eventSubUrl: undefined, scpdUrl: undefined });
  });

  it("refuses control URLs on another host or scheme, and a URLBase on another host", () => {
    const evil = MINIUPNPD_DESCRIPTION.replace("<controlURL>/ctl/IPConn</controlURL>", "<controlURL>http://8.8.8.8/ctl/IPConn</controlURL>");
    const d = parseDeviceDescription(evil, "http://10.88.0.1:5000/rootDesc.xml");
    expect(d.servicesRefused).toBe(1);
    expect(selectWanConnectionService(d)).toBeUndefined();
    const https = MINIUPNPD_DESCRIPTION.replace("<controlURL>/ctl/IPConn</controlURL>", "<controlURL>https://10.88.0.1/ctl/IPConn</controlURL>");
    expect(selectWanConnectionService(parseDeviceDescription(https, "http://10.88.0.1:5000/rootDesc.xml"))).toBeUndefined();
    // URLBase elsewhere is ignored: relative URLs resolve against the location instead.
    const base = CONSUMER_ROUTER_DESCRIPTION.replace("http://192.168.1.1:49000/", "http://203.0.113.9/");
    const wan = selectWanConnectionService(parseDeviceDescription(base, "http://192.168.1.1:49000/igddesc.xml"))!;
    expect(wan.controlUrl).toBe("http://192.168.1.1:49000/upnp/control/wanipconnection1");
  });

  it("reports no WAN service for a device that is not a gateway, and malformed documents as typed errors", () => {
    const tv = '<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType><serviceList><service><serviceType>urn:schemas-upnp-org:service:AVTransport:1</serviceType><controlURL>/avt</controlURL></service></serviceList></device></root>';
    expect(selectWanConnectionService(parseDeviceDescription(tv, "http://10.0.0.5/"))).toBeUndefined();
    expect(caught(() => parseDeviceDescription("<root><device>", "http://10.0.0.1/")).code).toBe("DESCRIPTION_MALFORMED");
    expect(caught(() => parseDeviceDescription("<html/>", "http://10.0.0.1/")).code).toBe("DESCRIPTION_MALFORMED");
    expect(caught(() => parseDeviceDescription("<root/>", "http://10.0.0.1/")).code).toBe("DESCRIPTION_MALFORMED");
    const lol = '<!DOCTYPE r [<!ENTITY a "aaaa">]><root><device>&a;</device></root>';
    const e = caught(() => parseDeviceDescription(lol, "http://10.0.0.1/"));
    expect(e.code).toBe("DESCRIPTION_MALFORMED");
    expect((e.cause as { code: string }).code).toBe("DOCTYPE");
  });

  it("parses service types into kind and version", () => {
    expect(parseServiceType("urn:schemas-upnp-org:service:WANIPConnection:2")).toEqual({ kind: "WANIPConnection", version: 2 });
    expect(parseServiceType("urn:schemas-upnp-org:service:WANPPPConnection:1")).toEqual({ kind: "WANPPPConnection", version: 1 });
    for (const t of ["urn:schemas-upnp-org:service:WANIPConnection:", "urn:schemas-upnp-org:service:WANIPConnection:0", "urn:schemas-upnp-org:service:Layer3Forwarding:1", "urn:other:service:WANIPConnection:1", "urn:schemas-upnp-org:service:WANIPConnection:x"]) {
      expect(parseServiceType(t), t).toBeUndefined();
    }
  });
});

describe("SOAP requests (UDA 1.1 §3.2.1)", () => {
  it("builds AddPortMapping with the headers, the envelope and the arguments in the specification's order", () => {
    const req = encodeAddPortMapping(V1, { externalPort: 5000, protocol: "udp", internalPort: 5001, internalClient: "192.168.1.20", leaseDuration: 3600, description: "game <&> \"server\"" });
    expect(req).toMatchObject({ method: "POST", host: "192.168.1.1", port: 49000, path: "/upnp/control/wanipconnection1", action: "AddPortMapping", url: V1.controlUrl });
    expect(req.headers).toEqual({
      "Content-Type": 'text/xml; charset="utf-8"',
      SOAPAction: '"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"',
      "Content-Length": String(new TextEncoder().encode(req.body).length),
      Connection: "close",
    });
    const action = xmlChild(xmlChild(parseXml(req.body), "Body")!, "AddPortMapping")!;
    expect(action.name).toBe("u:AddPortMapping");
    expect(action.attributes.get("xmlns:u")).toBe(V1.serviceType);
    expect(action.children.map((c) => [c.name, c.text])).toEqual([
      ["NewRemoteHost", ""],
      ["NewExternalPort", "5000"],
      ["NewProtocol", "UDP"],
      ["NewInternalPort", "5001"],
      ["NewInternalClient", "192.168.1.20"],
      ["NewEnabled", "1"],
      ["NewPortMappingDescription", 'game <&> "server"'],
      ["NewLeaseDuration", "3600"],
    ]);
    expect(req.body).toContain("<NewPortMappingDescription>game &lt;&amp;&gt; &quot;server&quot;</NewPortMappingDescription>");
  });

  it("counts Content-Length in UTF-8 bytes", () => {
    const req = encodeAddAnyPortMapping(V2, { externalPort: 0, protocol: "tcp", internalPort: 80, internalClient: "10.88.0.2", leaseDuration: 0, description: "Bücher 📚" });
    expect(Number(req.headers["Content-Length"])).toBe(Buffer.byteLength(req.body, "utf8"));
    expect(req.headers.SOAPAction).toBe('"urn:schemas-upnp-org:service:WANIPConnection:2#AddAnyPortMapping"');
  });

  it("builds the other actions with their arguments", () => {
    const names = (r: SoapRequest) => xmlDescendant(parseXml(r.body), r.action)!.children.map((c) => `${c.name}=${c.text}`);
    expect(names(encodeDeletePortMapping(V2, { externalPort: 5000, protocol: "tcp" }))).toEqual(["NewRemoteHost=", "NewExternalPort=5000", "NewProtocol=TCP"]);
    expect(names(encodeGetSpecificPortMappingEntry(V2, { externalPort: 7, protocol: "udp", remoteHost: "198.51.100.1" }))).toEqual(["NewRemoteHost=198.51.100.1", "NewExternalPort=7", "NewProtocol=UDP"]);
    expect(names(encodeGetExternalIpAddress(V2))).toEqual([]);
    expect(encodeGetStatusInfo(V2).headers.SOAPAction).toBe('"urn:schemas-upnp-org:service:WANIPConnection:2#GetStatusInfo"');
  });

  it("splits IPv6 and default-port control URLs for the HTTP client", () => {
    const r = encodeGetExternalIpAddress({ serviceType: V2.serviceType, controlUrl: "http://[fe80::1]/ctl?x=1" });
    expect(r).toMatchObject({ host: "fe80::1", port: 80, path: "/ctl?x=1" });
  });

  it("refuses bad arguments as API misuse", () => {
    const misuse = expect.objectContaining({ name: "IcekitError" });
    const base = { externalPort: 1, protocol: "udp" as const, internalPort: 1, internalClient: "10.0.0.2", leaseDuration: 60 };
    expect(() => encodeAddPortMapping(V1, { ...base, externalPort: 70000 })).toThrow(misuse);
    expect(() => encodeAddPortMapping(V1, { ...base, internalPort: 0 })).toThrow(misuse);
    expect(() => encodeAddPortMapping(V1, { ...base, internalClient: "router.local" })).toThrow(misuse);
    expect(() => encodeAddPortMapping(V1, { ...base, leaseDuration: -1 })).toThrow(misuse);
    expect(() => encodeAddPortMapping(V1, { ...base, protocol: "sctp" as "udp" })).toThrow(misuse);
    expect(() => encodeAddPortMapping(V1, { ...base, description: "nul\u0000" })).toThrow(misuse);
    expect(() => encodeSoapRequest({ ...V1, controlUrl: "https://10.0.0.1/" }, "X", [])).toThrow(misuse);
    expect(() => encodeSoapRequest(V1, "X><evil", [])).toThrow(misuse);
    expect(() => encodeSoapRequest({ ...V1, serviceType: 'a"\r\nX: y' }, "X", [])).toThrow(misuse);
  });
});

describe("SOAP responses and faults (UDA 1.1 §3.2.2)", () => {
  it("reads out arguments of successful responses", () => {
    expect(parseGetExternalIpAddressResponse(200, soapOk("GetExternalIPAddress", { NewExternalIPAddress: "11.88.0.1" }))).toBe("11.88.0.1");
    expect(parseGetExternalIpAddressResponse(200, soapOk("GetExternalIPAddress", { NewExternalIPAddress: "" }))).toBe("");
    expect(parseAddAnyPortMappingResponse(200, soapOk("AddAnyPortMapping", { NewReservedPort: "5001" }))).toBe(5001);
    expect(parseAddPortMappingResponse(200, soapOk("AddPortMapping"))).toBeUndefined();
    expect(parseGetSpecificPortMappingEntryResponse(200, soapOk("GetSpecificPortMappingEntry", { NewInternalPort: "5300", NewInternalClient: "10.88.0.2", NewEnabled: "1", NewPortMappingDescription: "a &amp; b", NewLeaseDuration: "598" }))).toEqual({
      internalPort: 5300,
      internalClient: "10.88.0.2",
      enabled: true,
      description: "a & b",
      leaseDuration: 598,
    });
    expect(parseGetStatusInfoResponse(200, soapOk("GetStatusInfo", { NewConnectionStatus: "Connected", NewLastConnectionError: "ERROR_NONE", NewUptime: "10902" }))).toEqual({ connectionStatus: "Connected", lastConnectionError: "ERROR_NONE", uptime: 10902 });
  });

  it("turns UPnPError faults into SOAP_FAULT errors carrying the code", () => {
    for (const [code, text] of [
      [718, "ConflictInMappingEntry"],
      [725, "OnlyPermanentLeasesSupported"],
      [606, "Action not authorized"],
      [402, "Invalid Args"],
      [501, "Action Failed"],
      [401, "Invalid Action"],
    ] as const) {
      const e = caught(() => parseAddPortMappingResponse(500, soapFault(code, text)));
      expect(e).toMatchObject({ code: "SOAP_FAULT", errorCode: code, errorDescription: text });
      expect(e.message).toContain(String(code));
    }
    expect(UpnpErrorCodes.ConflictInMappingEntry).toBe(718);
    // A fault sent with status 200 is still a fault.
    expect(caught(() => parseAddPortMappingResponse(200, soapFault(718, "ConflictInMappingEntry"))).errorCode).toBe(718);
  });

  it("reports other failures by status, and 200s without the response element as malformed", () => {
    expect(caught(() => parseAddPortMappingResponse(500, ""))).toMatchObject({ code: "HTTP_STATUS", errorCode: 500 });
    expect(caught(() => parseAddPortMappingResponse(404, "<html>not found</html>"))).toMatchObject({ code: "HTTP_STATUS", errorCode: 404 });
    expect(caught(() => parseAddPortMappingResponse(500, "<s:Envelope xmlns:s='x'><s:Body><s:Fault><faultstring>oops</faultstring></s:Fault></s:Body></s:Envelope>"))).toMatchObject({ code: "HTTP_STATUS" });
    expect(caught(() => parseAddPortMappingResponse(200, "not xml")).code).toBe("SOAP_MALFORMED");
    expect(caught(() => parseAddPortMappingResponse(200, soapOk("DeletePortMapping"))).code).toBe("SOAP_MALFORMED");
    expect(caught(() => parseAddPortMappingResponse(200, soapFault(NaN, "x"))).code).toBe("SOAP_MALFORMED");
    expect(caught(() => parseAddAnyPortMappingResponse(200, soapOk("AddAnyPortMapping", { NewReservedPort: "70000" }))).code).toBe("SOAP_MALFORMED");
    expect(caught(() => parseGetExternalIpAddressResponse(200, soapOk("GetExternalIPAddress", { NewExternalIPAddress: "<script>" .replace("<", "&lt;") }))).code).toBe("SOAP_MALFORMED");
    expect(caught(() => parseGetSpecificPortMappingEntryResponse(200, soapOk("GetSpecificPortMappingEntry", { NewInternalPort: "x" }))).code).toBe("SOAP_MALFORMED");
    expect(caught(() => parseSoapResponse("X", 200, '<!DOCTYPE x [<!ENTITY a "b">]><x/>')).code).toBe("SOAP_MALFORMED");
  });

  it("throws only UpnpError on random and mutated bodies with any status", () => {
    const real = soapOk("GetSpecificPortMappingEntry", { NewInternalPort: "5300", NewInternalClient: "10.88.0.2", NewEnabled: "1", NewPortMappingDescription: "x", NewLeaseDuration: "598" });
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.nat(real.length), fc.string({ maxLength: 5 })).map(([i, s]) => real.slice(0, i) + s + real.slice(i + 1)),
      fc.constantFrom(soapFault(718, "x"), real),
    );
    fc.assert(
      fc.property(fc.constantFrom(200, 500, 404), body, (status, b) => {
        for (const parse of [parseGetSpecificPortMappingEntryResponse, parseGetExternalIpAddressResponse, parseAddAnyPortMappingResponse, parseGetStatusInfoResponse, parseAddPortMappingResponse]) {
          try {
            parse(status, b);
          } catch (e) {
            if (!isUpnpError(e)) throw e;
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** A scripted gateway: answers each request the engine hands out, recording what it was asked. */
function drive(client: UpnpMappingClient, now: number, answer: (req: SoapRequest, args: Map<string, string>) => { status: number; body: string } | Error): { asked: string[]; events: UpnpMappingEvent[] } {
  const asked: string[] = [];
  const events: UpnpMappingEvent[] = [];
  for (let req; (req = client.pollRequest()); ) {
    const args = new Map(xmlDescendant(parseXml(req.body), req.action)!.children.map((c) => [c.localName, c.text] as const));
    asked.push(req.action + (args.has("NewExternalPort") ? ` ${args.get("NewExternalPort")}` : "") + (args.has("NewLeaseDuration") ? ` lease=${args.get("NewLeaseDuration")}` : ""));
    const a = answer(req, args);
    if (a instanceof Error) client.handleError(now, a);
    else client.handleResponse(now, a.status, a.body);
  }
  for (let e; (e = client.pollEvent()); ) events.push(e);
  return { asked, events };
}

/** miniupnpd-like answers: external address 11.88.0.1; `faults` maps "Action port" to a fault code, used once each. */
function gateway(faults: Record<string, number[]> = {}) {
  const left = new Map(Object.entries(faults).map(([k, v]) => [k, [...v]]));
  return (req: SoapRequest, args: Map<string, string>) => {
    const key = `${req.action}${args.has("NewExternalPort") ? ` ${args.get("NewExternalPort")}` : ""}`;
    const list = left.get(key) ?? left.get(req.action);
    const code = list?.shift();
    if (code !== undefined) return { status: 500, body: soapFault(code, "scripted") };
    if (req.action === "GetExternalIPAddress") return { status: 200, body: soapOk(req.action, { NewExternalIPAddress: "11.88.0.1" }) };
    if (req.action === "AddAnyPortMapping") return { status: 200, body: soapOk(req.action, { NewReservedPort: args.get("NewExternalPort") === "5000" ? "5001" : args.get("NewExternalPort")! }) };
    return { status: 200, body: soapOk(req.action) };
  };
}

/** A deterministic random source: counts up. */
function counter(): (out: Uint8Array) => void {
  let n = 0;
  return (out) => {
    for (let i = 0; i < out.length; i++) out[i] = (n++ * 37) & 0xff;
  };
}

const base = (service: UpnpMappingOptions["service"], more: Partial<UpnpMappingOptions> = {}): UpnpMappingOptions => ({ service, protocol: "udp", internalPort: 5000, internalClient: "10.88.0.2", lifetime: 600, random: counter(), ...more });

describe("UpnpMappingClient: the lease logic", () => {
  it("on IGDv2 asks the external address, then AddAnyPortMapping, and reports the reserved port", () => {
    const c = new UpnpMappingClient(base(V2));
    c.map(0);
    const r = drive(c, 0, gateway());
    expect(r.asked).toEqual(["GetExternalIPAddress", "AddAnyPortMapping 5000 lease=600"]);
    expect(r.events).toEqual([{ type: "mapped", protocol: "udp", internalPort: 5000, external: { family: "IPv4", address: "11.88.0.1", port: 5001 }, lifetime: 600, permanent: false, renewal: false }]);
    expect(c.state).toBe("active");
    expect(c.pollTimeout()).toBe(300_000);
  });

  it("renews at half the lease with AddPortMapping of the granted port", () => {
    const c = new UpnpMappingClient(base(V2));
    c.map(0);
    drive(c, 0, gateway());
    c.handleTimeout(299_999); // early: nothing
    expect(c.pollRequest()).toBeUndefined();
    c.handleTimeout(300_000);
    const r = drive(c, 300_000, gateway());
    expect(r.asked).toEqual(["GetExternalIPAddress", "AddPortMapping 5001 lease=600"]);
    expect(r.events).toMatchObject([{ type: "mapped", renewal: true, external: { port: 5001 } }]);
    expect(c.pollTimeout()).toBe(600_000);
  });

  it("falls back to AddPortMapping when the gateway answers AddAnyPortMapping with 401 Invalid Action, and remembers", () => {
    const c = new UpnpMappingClient(base(V2));
    c.map(0);
    const r = drive(c, 0, gateway({ AddAnyPortMapping: [UpnpErrorCodes.InvalidAction] }));
    expect(r.asked).toEqual(["GetExternalIPAddress", "AddAnyPortMapping 5000 lease=600", "AddPortMapping 5000 lease=600"]);
    expect(r.events).toMatchObject([{ type: "mapped", external: { port: 5000 } }]);
    expect(c.stats().faults).toBe(1);
  });

  it("falls back to AddPortMapping on an HTTP error without a UPnP fault too", () => {
    const c = new UpnpMappingClient(base(V2));
    c.map(0);
    const g = gateway();
    const r = drive(c, 0, (req, args) => (req.action === "AddAnyPortMapping" ? { status: 404, body: "" } : g(req, args)));
    expect(r.asked.slice(-1)).toEqual(["AddPortMapping 5000 lease=600"]);
    expect(r.events).toMatchObject([{ type: "mapped" }]);
  });

  it("on 718 ConflictInMappingEntry tries other external ports, a bounded number of times", () => {
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    const r = drive(c, 0, gateway({ AddPortMapping: [718, 718] }));
    expect(r.asked).toHaveLength(4);
    const ports = r.asked.slice(1).map((a) => Number(a.split(" ")[1]));
    expect(ports[0]).toBe(5000);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports.slice(1)) expect(p).toBeGreaterThanOrEqual(1024);
    expect(r.events).toMatchObject([{ type: "mapped", external: { port: ports[2] } }]);
    expect(c.stats().conflicts).toBe(2);

    const d = new UpnpMappingClient(base(V1, { maxPortAttempts: 3 }));
    d.map(0);
    const s = drive(d, 0, gateway({ AddPortMapping: [718, 718, 718, 718] }));
    expect(s.asked).toHaveLength(4); // GetExternalIPAddress + 3 attempts
    expect(s.events).toMatchObject([{ type: "failed", operation: "map", errorCode: 718, renewal: false }]);
    expect(d.state).toBe("failed");
    expect(d.pollTimeout()).toBeUndefined();
  });

  it("on 725 OnlyPermanentLeasesSupported retries with lease 0, never renews, and deletes on unmap", () => {
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    const r = drive(c, 0, gateway({ AddPortMapping: [725] }));
    expect(r.asked).toEqual(["GetExternalIPAddress", "AddPortMapping 5000 lease=600", "AddPortMapping 5000 lease=0"]);
    expect(r.events).toMatchObject([{ type: "mapped", lifetime: 0, permanent: true }]);
    expect(c.permanent).toBe(true);
    expect(c.pollTimeout()).toBeUndefined();
    c.unmap(1000);
    const u = drive(c, 1000, gateway());
    expect(u.asked).toEqual(["DeletePortMapping 5000"]);
    expect(u.events).toEqual([{ type: "unmapped", protocol: "udp", internalPort: 5000, externalPort: 5000 }]);
    expect(c.state).toBe("closed");
  });

  it("on 724 SamePortValuesRequired retries once with the internal port", () => {
    const c = new UpnpMappingClient(base(V1, { externalPort: 6000 }));
    c.map(0);
    const r = drive(c, 0, gateway({ AddPortMapping: [724] }));
    expect(r.asked.slice(1)).toEqual(["AddPortMapping 6000 lease=600", "AddPortMapping 5000 lease=600"]);
    expect(r.events).toMatchObject([{ type: "mapped", external: { port: 5000 } }]);
  });

  it("fails at once on 606 Action not authorized and 402 Invalid Args, with the code", () => {
    for (const code of [606, 402, 501]) {
      const c = new UpnpMappingClient(base(V2));
      c.map(0);
      const r = drive(c, 0, gateway({ AddAnyPortMapping: [code] }));
      expect(r.events).toHaveLength(1);
      expect(r.events[0]).toMatchObject({ type: "failed", operation: "map", errorCode: code });
      expect((r.events[0] as { error: UpnpError }).error.code).toBe("SOAP_FAULT");
    }
  });

  it("fails when the gateway has no external address (WAN down) or cannot be reached", () => {
    const c = new UpnpMappingClient(base(V2));
    c.map(0);
    const r = drive(c, 0, (req) => ({ status: 200, body: soapOk(req.action, { NewExternalIPAddress: "" }) }));
    expect(r.asked).toEqual(["GetExternalIPAddress"]);
    expect(r.events).toMatchObject([{ type: "failed", operation: "map" }]);
    const d = new UpnpMappingClient(base(V2));
    d.map(0);
    const s = drive(d, 0, () => new Error("ECONNREFUSED"));
    expect(s.events).toMatchObject([{ type: "failed", operation: "map", errorCode: undefined, error: { code: "TRANSPORT" } }]);
  });

  it("retries a failed renewal halfway to expiry, then reports the mapping lost when the lease runs out", () => {
    const c = new UpnpMappingClient(base(V1, { lifetime: 100 }));
    c.map(0);
    drive(c, 0, gateway());
    c.handleTimeout(50_000);
    const r = drive(c, 50_000, () => new Error("timeout"));
    expect(r.events).toMatchObject([{ type: "failed", operation: "map", renewal: true }]);
    expect(c.state).toBe("active");
    expect(c.pollTimeout()).toBe(75_000);
    c.handleTimeout(75_000);
    drive(c, 75_000, () => new Error("timeout"));
    expect(c.pollTimeout()).toBe(87_500);
    c.handleTimeout(87_500);
    drive(c, 87_500, () => new Error("timeout")); // 12.5 s left: one more try at 93 750
    c.handleTimeout(93_750);
    drive(c, 93_750, () => new Error("timeout")); // 6.25 s left: no more tries
    expect(c.pollTimeout()).toBe(100_000);
    c.handleTimeout(100_000);
    expect(c.pollEvent()).toEqual({ type: "lost", protocol: "udp", internalPort: 5000, reason: "expired" });
    expect(c.state).toBe("lost");
    expect(c.pollTimeout()).toBeUndefined();
  });

  it("reports lost and maps another port when a renewal meets 718", () => {
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    drive(c, 0, gateway());
    c.handleTimeout(300_000);
    const r = drive(c, 300_000, gateway({ "AddPortMapping 5000": [718] }));
    expect(r.events[0]).toEqual({ type: "lost", protocol: "udp", internalPort: 5000, reason: "conflict" });
    expect(r.events[1]).toMatchObject({ type: "mapped", renewal: true });
    expect((r.events[1] as { external: { port: number } }).external.port).not.toBe(5000);
  });

  it("cuts IGDv2 leases to 604800 s", () => {
    const c = new UpnpMappingClient(base(V2, { lifetime: 10 ** 6 }));
    c.map(0);
    expect(drive(c, 0, gateway()).events).toMatchObject([{ type: "mapped", lifetime: 604800 }]);
  });

  it("deletes a mapping whose AddPortMapping was in flight when unmap() came, and takes 714 as deleted", () => {
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    const g = gateway({ DeletePortMapping: [UpnpErrorCodes.NoSuchEntryInArray] });
    const asked: string[] = [];
    for (let req; (req = c.pollRequest()); ) {
      asked.push(req.action);
      if (req.action === "AddPortMapping") c.unmap(0); // the user closes while the add is on the wire
      const a = g(req, new Map(xmlDescendant(parseXml(req.body), req.action)!.children.map((x) => [x.localName, x.text] as const)));
      c.handleResponse(0, a.status, a.body);
    }
    expect(asked).toEqual(["GetExternalIPAddress", "AddPortMapping", "DeletePortMapping"]);
    expect(c.pollEvent()).toMatchObject({ type: "unmapped", externalPort: 5000 });
    expect(c.pollEvent()).toBeUndefined();
  });

  it("reports a refused deletion, and unmapped at once when nothing was mapped", () => {
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    drive(c, 0, gateway());
    c.unmap(1);
    expect(drive(c, 1, gateway({ DeletePortMapping: [606] })).events).toMatchObject([{ type: "failed", operation: "unmap", errorCode: 606 }]);
    const d = new UpnpMappingClient(base(V1));
    d.unmap(0);
    expect(d.pollRequest()).toBeUndefined();
    expect(d.pollEvent()).toMatchObject({ type: "unmapped", externalPort: undefined });
  });

  it("stop() forgets the mapping without deleting it and ignores late answers", () => {
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    drive(c, 0, gateway());
    c.stop();
    expect(c.pollTimeout()).toBeUndefined();
    expect(c.pollRequest()).toBeUndefined();
    c.handleResponse(1, 200, "x");
    expect(c.stats().droppedUnexpected).toBe(1);
  });

  it("refuses bad options and a second map() as API misuse", () => {
    const misuse = expect.objectContaining({ name: "IcekitError" });
    expect(() => new UpnpMappingClient(base(V1, { internalPort: 0 }))).toThrow(misuse);
    expect(() => new UpnpMappingClient(base(V1, { lifetime: 0 }))).toThrow(misuse);
    expect(() => new UpnpMappingClient(base(V1, { internalClient: "x" }))).toThrow(misuse);
    const c = new UpnpMappingClient(base(V1));
    c.map(0);
    expect(() => c.map(0)).toThrow(misuse);
  });

  it("never throws on whatever the gateway answers", () => {
    const answer = fc.oneof(
      fc.record({ status: fc.constantFrom(200, 500, 403), body: fc.string({ maxLength: 120 }) }),
      fc.record({ status: fc.constant(500), body: fc.integer({ min: 0, max: 999 }).map((code) => soapFault(code, "x")) }),
      fc.constant("error" as const),
      fc.constant("ok" as const),
    );
    fc.assert(
      fc.property(fc.array(answer, { minLength: 1, maxLength: 30 }), fc.boolean(), (answers, v2) => {
        const c = new UpnpMappingClient(base(v2 ? V2 : V1));
        c.map(0);
        let i = 0;
        let now = 0;
        const g = gateway();
        for (let round = 0; round < 5; round++) {
          drive(c, now, (req, args) => {
            const a = answers[i++ % answers.length]!;
            return a === "error" ? new Error("x") : a === "ok" ? g(req, args) : a;
          });
          const at = c.pollTimeout();
          if (at === undefined) break;
          now = at;
          c.handleTimeout(now);
        }
        c.unmap(now);
        drive(c, now, g);
        expect(["closed", "failed", "lost", "stopped"]).toContain(c.state);
      }),
      { numRuns: 300 },
    );
  });
});
