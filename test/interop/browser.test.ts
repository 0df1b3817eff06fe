/**
 * The pure entry in a real browser (issue 8): esbuild bundles test/interop/browser/entry.ts,
 * which imports src/index.ts and src/sim/index.ts, for platform "browser" and refuses any
 * `node:*` (or other Node built-in) import; a tiny node:http server on 127.0.0.1 serves it with
 * test/interop/browser/index.html; playwright-core drives Debian's headless Chromium
 * (/usr/bin/chromium, apt package `chromium`; Playwright never downloads a browser here) to it.
 * The page encodes and verifies a Binding request with MESSAGE-INTEGRITY and FINGERPRINT and runs
 * ICE agents behind simulated NATs; the test compares both with the same work done in Node.
 *
 * It also reports the size of a minified browser bundle of src/index.ts alone, raw and gzipped.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttributeType,
  MessageClass,
  Method,
  encodeStunMessage,
  shortTermCredential,
} from "../../src/index";
import { runNatMatrix } from "../../src/sim/index";
import type { BrowserResults } from "./browser/entry";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const CHROMIUM = "/usr/bin/chromium";
/** The flags of /work/.library/env/machines/node.md: no sandbox as root, no network of its own. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Fails the build on any Node built-in, `node:`-prefixed or bare (`fs`, `crypto`, ...). */
const noNodeBuiltins: Plugin = {
  name: "no-node-builtins",
  setup(b) {
    const builtins = new Set(["assert", "buffer", "child_process", "crypto", "dgram", "dns", "events", "fs", "http", "https", "net", "os", "path", "perf_hooks", "process", "stream", "tls", "url", "util", "worker_threads", "zlib"]);
    b.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.split("/")[0]!;
      if (args.path.startsWith("node:") || builtins.has(bare)) {
        return { errors: [{ text: `Node built-in '${args.path}' imported by ${args.importer}: the pure entry must not use one` }] };
      }
      return undefined;
    });
  },
};

async function bundle(entry: string, minify: boolean): Promise<{ code: string; inputs: string[] }> {
  const r = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify,
    metafile: true,
    logLevel: "silent",
    plugins: [noNodeBuiltins],
  });
  expect(r.errors).toEqual([]);
  expect(r.outputFiles).toHaveLength(1);
  return { code: r.outputFiles[0]!.text, inputs: Object.keys(r.metafile!.inputs) };
}

/** The same Binding request the page encodes. */
function nodeBindingHex(): string {
  const cred = shortTermCredential("bob:alice", "a-fairly-long-ice-password");
  const bytes = encodeStunMessage(
    {
      method: Method.Binding,
      messageClass: MessageClass.Request,
      transactionId: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
      attributes: [
        { type: AttributeType.Username, value: cred.username },
        { type: AttributeType.Priority, value: 0x6e0001ff },
        { type: AttributeType.IceControlling, value: 0x0102030405060708n },
      ],
    },
    { integrity: cred.sha1, fingerprint: true },
  );
  return Buffer.from(bytes).toString("hex");
}

describe("the pure entry in headless Chromium", () => {
  let server: Server;
  let browser: BrowserContext;
  let profile: string;
  let base: string;
  let pageJs: { code: string; inputs: string[] };

  beforeAll(async () => {
    pageJs = await bundle(join(HERE, "browser/entry.ts"), false);
    const html = readFileSync(join(HERE, "browser/index.html"));
    server = createServer((req, res) => {
      if (req.url === "/" || req.url === "/index.html") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
      } else if (req.url === "/entry.js") {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(pageJs.code);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), "icekit-chromium-"));
    // A new empty profile each run; Playwright passes it to Chromium as --user-data-dir.
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("bundles for the browser from src/ alone, with no Node built-in", () => {
    expect(pageJs.inputs.length).toBeGreaterThan(10);
    for (const input of pageJs.inputs) expect(input).toMatch(/^(src|test\/interop\/browser)\//);
    expect(pageJs.code).not.toMatch(/\brequire\(|from\s*["']node:/);
  });

  it("encodes, decodes and verifies a STUN message and connects ICE agents behind NATs", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
    });
    try {
      await page.goto(`${base}/`);
      await page.waitForFunction(() => window.__icekit !== undefined, undefined, { timeout: 60_000 });
      const out = await page.evaluate(() => window.__icekit!);
      expect(problems).toEqual([]);
      if (!out.ok) throw new Error(`page failed: ${out.error}`);
      const r: BrowserResults = out.results;
      console.log(`browser: ${r.userAgent}; NAT matrix (${r.matrix.length} cells) in ${r.matrixMs.toFixed(0)} ms`);

      // (1) codec round trip, byte for byte what Node encodes
      expect(r.codec.hex).toBe(nodeBindingHex());
      expect(r.codec).toMatchObject({
        method: Method.Binding,
        messageClass: MessageClass.Request,
        transactionIdHex: "0102030405060708090a0b0c",
        username: "bob:alice",
        priority: 0x6e0001ff,
        tiebreaker: "102030405060708",
        attributes: ["USERNAME", "PRIORITY", "ICE-CONTROLLING", "MESSAGE-INTEGRITY", "FINGERPRINT"],
        integrity: "valid",
        integrityWrongKey: "invalid",
        fingerprint: "valid",
        fingerprintTampered: "invalid",
      });

      // (2) simulated ICE: every cell connects directly, port-restricted cone on both ends included
      expect(r.matrix.map((c) => `${c.a}|${c.b}`)).toEqual([
        "full-cone|full-cone",
        "full-cone|port-restricted-cone",
        "port-restricted-cone|full-cone",
        "port-restricted-cone|port-restricted-cone",
      ]);
      for (const c of r.matrix) {
        expect(c, `${c.a} × ${c.b}`).toMatchObject({ connected: true, path: "direct", expected: "direct", ok: true });
      }
      // and the simulator is as deterministic in V8-in-Chromium as in Node: the same cells
      expect(r.matrix).toEqual(runNatMatrix({ behaviors: ["full-cone", "port-restricted-cone"] }));
    } finally {
      await page.close();
    }
  });

  it("reports the size of a minified browser bundle of the pure entry (src/index.ts)", async () => {
    const { code, inputs } = await bundle(join(ROOT, "src/index.ts"), true);
    for (const input of inputs) expect(input).toMatch(/^src\//);
    expect(inputs.some((i) => i.startsWith("src/sim/") || i.startsWith("src/node/") || i.startsWith("src/cli/"))).toBe(false);
    const raw = Buffer.byteLength(code);
    const gz = gzipSync(code).length;
    const gz9 = gzipSync(code, { level: 9 }).length;
    console.log(`pure entry (src/index.ts, esm, minified, platform browser, ${inputs.length} modules): ${raw} bytes (${(raw / 1024).toFixed(1)} KiB), gzip ${gz} bytes (${(gz / 1024).toFixed(1)} KiB; level 9: ${gz9})`);
    expect(raw).toBeGreaterThan(0);
  });
});
