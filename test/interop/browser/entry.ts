/**
 * The browser test's page script: bundled by esbuild (platform "browser") from the pure entry
 * (src/index.ts) and the simulator (src/sim/index.ts), and run in headless Chromium by
 * test/interop/browser.test.ts. It does the work, then puts what it found on
 * `window.__icekit` for the test to read; nothing here may need a `node:*` module.
 *
 * @module
 */
import {
  AttributeType,
  IceControlling,
  Method,
  MessageClass,
  Priority,
  Username,
  checkFingerprint,
  checkMessageIntegrity,
  decodeStunMessage,
  encodeStunMessage,
  shortTermCredential,
} from "../../../src/index";
import { runNatMatrix, type MatrixCell } from "../../../src/sim/index";

/** What the page reports. */
export interface BrowserResults {
  readonly userAgent: string;
  readonly codec: {
    readonly hex: string;
    readonly method: number;
    readonly messageClass: number;
    readonly transactionIdHex: string;
    readonly username: string | undefined;
    readonly priority: number | undefined;
    readonly tiebreaker: string | undefined;
    readonly attributes: string[];
    readonly integrity: string;
    readonly integrityWrongKey: string;
    readonly fingerprint: string;
    readonly fingerprintTampered: string;
  };
  readonly matrix: readonly MatrixCell[];
  readonly matrixMs: number;
}

declare global {
  interface Window {
    __icekit?: { readonly ok: true; readonly results: BrowserResults } | { readonly ok: false; readonly error: string };
  }
}

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function codecRoundTrip(): BrowserResults["codec"] {
  const cred = shortTermCredential("bob:alice", "a-fairly-long-ice-password");
  const transactionId = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const bytes = encodeStunMessage(
    {
      method: Method.Binding,
      messageClass: MessageClass.Request,
      transactionId,
      attributes: [
        { type: AttributeType.Username, value: cred.username },
        { type: AttributeType.Priority, value: 0x6e0001ff },
        { type: AttributeType.IceControlling, value: 0x0102030405060708n },
      ],
    },
    { integrity: cred.sha1, fingerprint: true },
  );
  const msg = decodeStunMessage(bytes);
  const tampered = bytes.slice();
  tampered[bytes.length - 1]! ^= 1;
  const tie = msg.get(IceControlling);
  return {
    hex: toHex(bytes),
    method: msg.method,
    messageClass: msg.messageClass,
    transactionIdHex: msg.transactionIdHex,
    username: msg.get(Username),
    priority: msg.get(Priority),
    tiebreaker: tie === undefined ? undefined : tie.toString(16),
    attributes: msg.attributes().map((a) => a.name),
    integrity: checkMessageIntegrity(msg, cred.sha1),
    integrityWrongKey: checkMessageIntegrity(msg, shortTermCredential("bob:alice", "wrong").sha1),
    fingerprint: checkFingerprint(msg),
    fingerprintTampered: checkFingerprint(decodeStunMessage(tampered)),
  };
}

try {
  const codec = codecRoundTrip();
  const t0 = performance.now();
  // Two ICE agents per cell, each behind its own NAT on a fresh simulated network with a STUN
  // (and TURN) server; port-restricted cone × port-restricted cone is the hole-punching case.
  const matrix = runNatMatrix({ behaviors: ["full-cone", "port-restricted-cone"] });
  const matrixMs = performance.now() - t0;
  window.__icekit = { ok: true, results: { userAgent: navigator.userAgent, codec, matrix, matrixMs } };
} catch (e) {
  window.__icekit = { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ""}` : String(e) };
}
