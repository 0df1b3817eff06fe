/**
 * The responder's pure decisions: RFC 8445 §7.3.1.1's role-conflict table, and which session a
 * check belongs to when an old one still answers after a restart.
 */
import { describe, expect, it } from "vitest";
import { resolveRoleConflict, verifyRequest } from "../../src/ice/responder";
import { shortTermCredential } from "../../src/stun/credentials";
import { decodeStunMessage } from "../../src/stun/message";
import { AGENT_PWD, AGENT_UFRAG, PEER_UFRAG, check } from "./fake-peer";

describe("resolveRoleConflict (§7.3.1.1)", () => {
  it.each([
    ["controlling", 10n, { controlling: 5n }, "487"],
    ["controlling", 10n, { controlling: 10n }, "487"],
    ["controlling", 10n, { controlling: 11n }, "controlled"],
    ["controlling", 10n, { controlled: 99n }, "none"],
    ["controlled", 10n, { controlled: 5n }, "controlling"],
    ["controlled", 10n, { controlled: 10n }, "controlling"],
    ["controlled", 10n, { controlled: 11n }, "487"],
    ["controlled", 10n, { controlling: 1n }, "none"],
    ["controlled", 10n, {}, "none"],
  ] as const)("%s with tiebreaker %s and %o → %s", (role, tb, attrs, outcome) => {
    expect(resolveRoleConflict(role, tb, { controlling: undefined, controlled: undefined, ...attrs })).toBe(outcome);
  });
});

describe("verifyRequest", () => {
  const current = { ufrag: "newUfrag", keys: shortTermCredential("newUfrag", "newpasswordnewpassword12") };
  const previous = { ufrag: AGENT_UFRAG, keys: shortTermCredential(AGENT_UFRAG, AGENT_PWD) };

  it("matches a check to the session whose ufrag it names, and reads its fields", () => {
    const v = verifyRequest(decodeStunMessage(check({ useCandidate: true, priority: 7, controlling: 3n })), [current, previous]);
    expect(v).toEqual({ kind: "ok", session: 1, remoteUfrag: PEER_UFRAG, priority: 7, useCandidate: true, controlling: 3n, controlled: undefined });
  });

  it("refuses a session's ufrag with another session's password", () => {
    const v = verifyRequest(decodeStunMessage(check({ username: `newUfrag:${PEER_UFRAG}` })), [current, previous]);
    expect(v).toMatchObject({ kind: "error", code: 401 });
  });
});
