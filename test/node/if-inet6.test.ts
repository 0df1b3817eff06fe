import { describe, expect, it } from "vitest";
import { ipv6AddressInfo } from "../../src/node/if-inet6";

/** A host with a stable and a temporary (flags 0x01) global address on eth0 (Linux's format). */
const TABLE = `20010db8000000000000000000000001 02 40 00 00     eth0
20010db800000000000000000005e109 02 40 00 01     eth0
fe800000000000000000000000000001 02 40 20 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
`;

describe("ipv6AddressInfo", () => {
  it("reads each address's temporary flag and interface from /proc/net/if_inet6, keyed by canonical text", () => {
    const m = ipv6AddressInfo(TABLE);
    expect(m.get("2001:db8::1")).toEqual({ temporary: false, interface: "eth0" });
    expect(m.get("2001:db8::5:e109")).toEqual({ temporary: true, interface: "eth0" });
    expect(m.get("fe80::1")).toEqual({ temporary: false, interface: "eth0" });
    expect(m.get("::1")).toEqual({ temporary: false, interface: "lo" });
    expect(m.size).toBe(4);
  });

  it("skips lines that do not parse and returns nothing for garbage", () => {
    expect(ipv6AddressInfo("not a table\n1234 02 40 00 01 eth0\n").size).toBe(0);
    expect(ipv6AddressInfo("").size).toBe(0);
  });
});
