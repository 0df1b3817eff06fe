import { describe, expect, it } from "vitest";
import { defaultGateway } from "../../src/node/default-gateway";

/** Linux's /proc/net/route: little-endian hex; Flags 0x3 = RTF_UP | RTF_GATEWAY. */
const TABLE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
`;

describe("defaultGateway", () => {
  it("reads the default route's gateway from /proc/net/route's little-endian hex", () => {
    expect(defaultGateway(TABLE)).toBe("192.168.1.1");
  });

  it("ignores routes that are down, have no gateway, or are not the default", () => {
    expect(defaultGateway(TABLE.replace("\t0003\t", "\t0002\t"))).toBeUndefined(); // not RTF_UP
    expect(defaultGateway(TABLE.replace("\t0003\t", "\t0001\t"))).toBeUndefined(); // no RTF_GATEWAY
    expect(defaultGateway(TABLE.split("\n").slice(0, 2).join("\n"))).toBeUndefined(); // no default route
    expect(defaultGateway("")).toBeUndefined();
    expect(defaultGateway("garbage\nnot a table at all")).toBeUndefined();
  });
});
