/**
 * The NAT matrix (src/sim/matrix.ts): the seeds' four NAT types and the RFC 4787 combinations,
 * each pair with STUN and TURN, against the outcome RFC 4787 predicts (expectedPath).
 */
import { describe, expect, it } from "vitest";
import { MATRIX_BEHAVIORS, SEED_BEHAVIORS, expectedPath, fullCone, natBehavior, portRestrictedCone, restrictedCone, runNatMatrix, symmetric } from "../../src/sim/index";
import type { MatrixCell } from "../../src/sim/index";

/**
 * Two APDM NATs with endpoint-independent filtering play peer-reflexive ping-pong (each answer
 * leaves from a new port) until the controlled agent's remote-candidate table is full; these
 * cells prove the agent still records the nomination and connects through the relay.
 */
const PRFLX_CHURN = new Set(["APDM/EIF|APDM/EIF", "APDM/ADF|APDM/EIF"]);

describe("runNatMatrix", () => {
  const full: MatrixCell[] = runNatMatrix({ seed: 1 });
  const cell = (a: string, b: string) => full.find((c) => c.a === a && c.b === b)!;

  it("has every ordered pair of the ten behaviours once", () => {
    expect(MATRIX_BEHAVIORS.map((b) => b.name)).toEqual(["open", "full-cone", "restricted-cone", "port-restricted-cone", "symmetric", "ADM/EIF", "ADM/ADF", "ADM/APDF", "APDM/EIF", "APDM/ADF"]);
    expect(full).toHaveLength(100);
    expect(new Set(full.map((c) => `${c.a}|${c.b}`)).size).toBe(100);
  });

  it("the seeds' four NAT types: cones reach each other directly; symmetric needs the relay facing a port restricted cone or symmetric", () => {
    const relay = new Set(["port-restricted-cone|symmetric", "symmetric|port-restricted-cone", "symmetric|symmetric"]);
    for (const a of SEED_BEHAVIORS) {
      for (const b of SEED_BEHAVIORS) {
        const c = cell(a, b);
        expect(c.connected, `${a} ↔ ${b}`).toBe(true);
        expect(c.path, `${a} ↔ ${b}`).toBe(relay.has(`${a}|${b}`) ? "relay" : "direct");
        expect(c.ms).toBeGreaterThan(0);
      }
    }
    expect(cell("full-cone", "port-restricted-cone").pair).toBe("srflx-srflx");
    expect(cell("symmetric", "restricted-cone").pair).toBe("prflx-srflx");
    expect(cell("open", "open").pair).toBe("host-host");
    expect(cell("symmetric", "symmetric").pair).toMatch(/relay/);
  });

  for (const a of MATRIX_BEHAVIORS) {
    for (const b of MATRIX_BEHAVIORS) {
      const title = `${a.name} ↔ ${b.name} connects on the path RFC 4787 predicts (${expectedPath(a.behavior, b.behavior)})`;
      const check = () => {
        const c = cell(a.name, b.name);
        expect(c.connected).toBe(true);
        expect(c.path).toBe(c.expected);
        expect(c.ok).toBe(true);
      };
      it(PRFLX_CHURN.has(`${a.name}|${b.name}`) ? `${title} despite peer-reflexive churn` : title, check);
    }
  }

  it("is deterministic for a seed and reports cells in order through onCell", () => {
    const seen: string[] = [];
    const one = runNatMatrix({ seed: 5, behaviors: ["symmetric", "ADM/EIF"], onCell: (c, i, total) => seen.push(`${i}/${total} ${c.a}|${c.b}`) });
    const two = runNatMatrix({ seed: 5, behaviors: ["symmetric", "ADM/EIF"] });
    expect(two).toEqual(one);
    expect(seen).toEqual(["0/4 symmetric|symmetric", "1/4 symmetric|ADM/EIF", "2/4 ADM/EIF|symmetric", "3/4 ADM/EIF|ADM/EIF"]);
  });

  it("still connects every seed pair with 5% loss on every link", () => {
    const lossy = runNatMatrix({ seed: 2, loss: 0.05, behaviors: SEED_BEHAVIORS });
    for (const c of lossy) expect(c.connected, `${c.a} ↔ ${c.b}`).toBe(true);
  });

  it("refuses unknown behaviour names and bad loss", () => {
    expect(() => runNatMatrix({ behaviors: ["carrier-grade"] })).toThrow(/full-cone/);
    expect(() => runNatMatrix({ loss: 1 })).toThrow(/probability/);
  });
});

describe("expectedPath (RFC 4787)", () => {
  const adm = (filtering: "endpoint-independent" | "address-dependent" | "address-and-port-dependent") => natBehavior({ mapping: "address-dependent", filtering });
  const apdm = (filtering: "endpoint-independent" | "address-dependent" | "address-and-port-dependent") => natBehavior({ mapping: "address-and-port-dependent", filtering });
  it("states the table", () => {
    expect(expectedPath(undefined, symmetric())).toBe("direct");
    expect(expectedPath(fullCone(), symmetric())).toBe("direct");
    expect(expectedPath(restrictedCone(), symmetric())).toBe("direct");
    expect(expectedPath(portRestrictedCone(), symmetric())).toBe("relay");
    expect(expectedPath(symmetric(), symmetric())).toBe("relay");
    expect(expectedPath(adm("endpoint-independent"), apdm("address-dependent"))).toBe("direct");
    expect(expectedPath(adm("address-dependent"), adm("address-dependent"))).toBe("relay");
    expect(expectedPath(apdm("endpoint-independent"), apdm("endpoint-independent"))).toBe("relay");
    expect(expectedPath(adm("endpoint-independent"), adm("address-and-port-dependent"))).toBe("relay");
  });
});
