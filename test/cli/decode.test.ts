import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { main } from "../../src/cli/cli";
import type { CliIo } from "../../src/cli/output";
import { encodeChannelData } from "../../src/turn/channel-data";
import { encodeStunMessage, fromHex, toBase64, Method, MessageClass, AttributeType } from "../../src/index";

// RFC 5769 §2.1 and §2.2.
const REQUEST =
  "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
const RESPONSE =
  "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
// RFC 5769 §2.4.
const LONG_TERM =
  "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b90000001500" +
  "1c662f2f3439396b393534643" +
  "64f4c33346f4c3946535476793634734100140" +
  "00b6578616d706c652e6f726700000800" +
  "14f67024656dd64a3e02b8e0712e85c9a28ca89666";
const PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt";

async function run(argv: string[], stdin = ""): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    readStdin: async () => new TextEncoder().encode(stdin),
  };
  const code = await main(argv, io);
  return { code, out, err };
}

describe("icekit decode", () => {
  it("prints the RFC 5769 request as the JSON the CLI contract fixes", async () => {
    const r = await run(["decode", REQUEST, "--json", "--password", PASSWORD]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    expect(JSON.parse(r.out[0]!)).toEqual({
      kind: "stun",
      class: "request",
      method: "binding",
      transactionId: "b7e7a701bc34d686fa87dfae",
      attributes: [
        { type: "SOFTWARE", value: "STUN test client" },
        { type: "PRIORITY", value: 0x6e0001ff },
        { type: "ICE-CONTROLLED", value: (0x932ff9b151263b36n).toString() },
        { type: "USERNAME", value: "evtj:h6vY" },
        { type: "MESSAGE-INTEGRITY", value: "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" },
        { type: "FINGERPRINT", value: 0xe57a3bcf },
      ],
      integrity: "valid",
      fingerprint: "valid",
    });
  });

  it("reports integrity as unchecked without a password and invalid with a wrong one", async () => {
    expect(JSON.parse((await run(["decode", REQUEST, "--json"])).out[0]!).integrity).toBe("unchecked");
    expect(JSON.parse((await run(["decode", REQUEST, "--json", "--password", "nope"])).out[0]!).integrity).toBe("invalid");
  });

  it("decodes XOR-MAPPED-ADDRESS into the address object", async () => {
    const r = await run(["decode", RESPONSE, "--json"]);
    const d = JSON.parse(r.out[0]!);
    expect(d.class).toBe("success");
    expect(d.attributes[1]).toEqual({ type: "XOR-MAPPED-ADDRESS", value: { family: "IPv4", address: "192.0.2.1", port: 32853 } });
  });

  it("verifies a long-term credential, including a username that is not ASCII", async () => {
    const r = await run(["decode", LONG_TERM, "--json", "--long-term", "マトリックス:example.org:TheMatrIX"]);
    expect(JSON.parse(r.out[0]!).integrity).toBe("valid");
    const bad = await run(["decode", LONG_TERM, "--json", "--long-term", "マトリックス:example.org:wrong"]);
    expect(JSON.parse(bad.out[0]!).integrity).toBe("invalid");
  });

  it("reads base64 and stdin (hex or base64)", async () => {
    const b64 = toBase64(fromHex(REQUEST));
    expect(JSON.parse((await run(["decode", b64, "--json"])).out[0]!).transactionId).toBe("b7e7a701bc34d686fa87dfae");
    expect(JSON.parse((await run(["decode", "-", "--json"], REQUEST + "\n")).out[0]!).method).toBe("binding");
    expect(JSON.parse((await run(["decode", "-", "--json"], b64)).out[0]!).method).toBe("binding");
  });

  it("prints unknown attributes as hex type and raw value, and marks ignored ones", async () => {
    const tid = new Uint8Array(12).fill(7);
    const bytes = encodeStunMessage({
      method: Method.Binding,
      messageClass: MessageClass.Request,
      transactionId: tid,
      attributes: [
        { type: 0x8030, value: new Uint8Array([1, 2, 3]) },
        { type: AttributeType.MessageIntegrity, value: new Uint8Array(20) },
        { type: AttributeType.Software, value: "after integrity" },
      ],
    });
    const d = JSON.parse((await run(["decode", Buffer.from(bytes).toString("hex"), "--json"])).out[0]!);
    expect(d.attributes[0]).toEqual({ type: "0x8030", raw: "010203" });
    expect(d.attributes[2]).toEqual({ type: "SOFTWARE", value: "after integrity", ignored: true });
  });

  it("lists a malformed attribute with its error instead of failing the whole message", async () => {
    // XOR-MAPPED-ADDRESS with family 0x03.
    const bytes = fromHex("0101000c2112a442000000000000000000000000002000080003a147e112a643");
    const d = JSON.parse((await run(["decode", Buffer.from(bytes).toString("hex"), "--json"])).out[0]!);
    expect(d.attributes[0].error.code).toBe("BAD_FAMILY");
    expect(d.attributes[0].raw).toBe("0003a147e112a643");
  });

  it("decodes TURN ChannelData", async () => {
    const frame = encodeChannelData(0x4001, new TextEncoder().encode("hi"));
    const d = JSON.parse((await run(["decode", Buffer.from(frame).toString("hex"), "--json"])).out[0]!);
    expect(d).toEqual({ kind: "channel-data", channelNumber: 0x4001, length: 2, data: "6869" });
  });

  it("prints a readable tree without --json", async () => {
    const r = await run(["decode", RESPONSE, "--password", PASSWORD]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toContain("binding success");
    expect(r.out).toContain("  XOR-MAPPED-ADDRESS: 192.0.2.1:32853");
    expect(r.out.some((l) => l.startsWith("  MESSAGE-INTEGRITY:") && l.endsWith("(valid)"))).toBe(true);
  });

  it("refuses input that is not STUN with one line and exit status 1", async () => {
    for (const input of ["00", "ffffffffffffffffffffffffffffffffffffffff", "not base64 !!", "abc"]) {
      const r = await run(["decode", input]);
      expect(r.code).toBe(1);
      expect(r.out).toEqual([]);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^icekit: /);
      const j = await run(["decode", input, "--json"]);
      expect(j.code).toBe(1);
      expect(Object.keys(JSON.parse(j.out[0]!).error).sort()).toEqual(["code", "message"]);
    }
  });

  it("rejects unknown options and commands", async () => {
    expect((await run(["decode", REQUEST, "--pasword", "x"])).err[0]).toMatch(/unknown option --pasword/);
    expect((await run(["frobnicate"])).code).toBe(1);
  });

  it.runIf(existsSync("dist/cli/main.js"))("the built bin exits 1 without a stack trace on bad input", () => {
    const r = spawnSync(process.execPath, ["dist/cli/main.js", "decode", "zz"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });
});
