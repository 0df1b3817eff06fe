/**
 * Every program in examples/ runs, prints what it promises and exits 0 by itself (issue 8: "none
 * rots"), and every README quick start is, line for line, the code of the example it names.
 *
 * Each example runs as a user runs it, `node --import tsx examples/X.ts`, in its own process,
 * with a deadline: an example that leaves a socket or a timer open never exits and fails here.
 * The examples import "icekit", "icekit/node" and "icekit/sim"; a user's install resolves those
 * to dist/, but here a tsconfig `paths` map (handed to tsx) points them at src/, so the test
 * checks the code in this tree, not the last build.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DEADLINE_MS = 30_000;

/**
 * What each example must print: one pattern per line it promises, in order. An example that is
 * not listed fails the test, so a new one gets an assertion with it.
 */
const EXPECTED: Record<string, readonly RegExp[]> = {
  "decode-binding.ts": [/^fingerprint: valid$/m, /^integrity: +valid$/m, /^username: +evtj:h6vY$/m, /^tiebreaker: +10605970187446795062n$/m],
  "simulated-nat.ts": [/^alice is seen as 198\.51\.100\.1:5000$/m, /\(filtered\)$/m, /^trace hash: [0-9a-f]{16} at /m],
  "stun-binding.ts": [/^server stun:127\.0\.0\.1:\d+$/m, /^local {2}(127\.0\.0\.1:\d+)$/m, /^mapped 127\.0\.0\.1:\d+ /m, /^rtt +[\d.]+ ms$/m],
  "nat-type.ts": [/^nat type {2}open$/m, /^mapping {3}endpoint-independent$/m, /^filtering endpoint-independent$/m, /^tests +\d+, RFC 5780 supported: true$/m],
  "turn-allocation.ts": [/^relayed 127\.0\.0\.1:\d+, lifetime \d+ s$/m, /^echo "hello through the relay" from 127\.0\.0\.1:\d+$/m],
  "two-agents.ts": [/^selected host 127\.0\.0\.1:\d+ -> host 127\.0\.0\.1:\d+$/m, /^bob received "hello bob"$/m],
  "simulated-ice.ts": [/^alice completed after \d+ ms of virtual time$/m, /^selected relay 192\.0\.2\.20:\d+ -> \w+ 198\.51\.100\.\d+:\d+$/m],
};

const examples = readdirSync(join(ROOT, "examples"))
  .filter((f) => f.endsWith(".ts"))
  .sort();

// tsx reads `paths` from the tsconfig named by TSX_TSCONFIG_PATH.
const configDir = mkdtempSync(join(tmpdir(), "icekit-examples-"));
const tsconfig = join(configDir, "tsconfig.json");
writeFileSync(
  tsconfig,
  JSON.stringify({
    extends: join(ROOT, "tsconfig.json"),
    compilerOptions: {
      baseUrl: ROOT,
      paths: { icekit: ["src/index.ts"], "icekit/node": ["src/node/index.ts"], "icekit/sim": ["src/sim/index.ts"] },
    },
  }),
);
afterAll(() => rmSync(configDir, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

function runExample(file: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", join("examples", file)], {
      cwd: ROOT,
      env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, DEADLINE_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut });
    });
  });
}

describe("examples/", () => {
  it("holds the quick starts the README promises", () => {
    expect(examples).toEqual(expect.arrayContaining(["stun-binding.ts", "nat-type.ts", "turn-allocation.ts", "two-agents.ts", "simulated-ice.ts"]));
  });

  // One at a time: nat-type.ts binds fixed ports (RFC 5780 needs two known ports).
  for (const file of examples) {
    it(`${file} runs, prints what it promises and exits 0 by itself`, async () => {
      const patterns = EXPECTED[file];
      expect(patterns, `add the lines examples/${file} must print to EXPECTED in test/examples.test.ts`).toBeDefined();
      const r = await runExample(file);
      expect(r.timedOut, `examples/${file} did not exit within ${DEADLINE_MS} ms (a socket or timer left open?)\n${r.stdout}${r.stderr}`).toBe(false);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      for (const p of patterns!) expect(r.stdout).toMatch(p);
    });
  }
});

/** The code of an example without its leading doc comment: what the README shows. */
function exampleBody(file: string): string {
  const text = readFileSync(join(ROOT, "examples", file), "utf8");
  return text.replace(/^\/\*\*[\s\S]*?\*\/\s*\n/, "").trimEnd();
}

describe("the package", () => {
  // The README's feature table claims "no runtime dependencies" and points here.
  it("declares no runtime dependencies, so installing icekit installs nothing else", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, unknown>;
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies", "bundledDependencies"]) {
      expect(pkg[field] ?? {}, field).toEqual({});
    }
  });
});

describe("README quick starts", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  // <!-- examples/X.ts --> right before a ```ts block marks it as that example's code.
  const blocks = [...readme.matchAll(/<!-- (examples\/[\w.-]+\.ts) -->\s*\n```ts\n([\s\S]*?)\n```/g)].map((m) => ({ file: m[1]!, code: m[2]! }));

  it("show the five quick starts: STUN binding, NAT type, TURN allocation, two agents, the simulator", () => {
    expect(blocks.map((b) => b.file)).toEqual(["examples/stun-binding.ts", "examples/nat-type.ts", "examples/turn-allocation.ts", "examples/two-agents.ts", "examples/simulated-ice.ts"]);
  });

  for (const { file, code } of blocks) {
    it(`${file} in the README is the example's code, which the test above runs`, () => {
      expect(code).toBe(exampleBody(file.slice("examples/".length)));
    });
  }
});
