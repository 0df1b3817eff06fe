/**
 * `icekit demo`: what icekit can show today on nothing but this machine. For now that is the
 * codec: a connectivity check as an ICE agent sends it, signed, decoded, verified, and a forged
 * copy rejected. Later releases grow this into a whole NAT traversal run.
 *
 * @module
 */
import { createHmacKey } from "../crypto/hmac";
import { toHex } from "../bytes/hex";
import { StunMessageBuilder, newTransactionId } from "../stun/builder";
import { MessageClass, Method } from "../stun/constants";
import { decodeStunMessage } from "../stun/message";
import { IceControlling, Priority, UseCandidate } from "../stun/attributes/ice";
import { Username, Software } from "../stun/attributes/text";
import { XorMappedAddress } from "../stun/attributes/address";
import { shortTermKey } from "../stun/credentials";
import { checkFingerprint, checkMessageIntegrity } from "../stun/integrity";
import { describeStun, formatStunTree } from "./decode";
import { parseArgs } from "./args";
import { toJsonLine } from "./output";
import type { CliIo } from "./output";

/** Runs `icekit demo`. Returns the exit status. */
export async function demoCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, {});
  const json = args.flags.has("json");
  const say = (text: string) => {
    if (!json) io.stdout(text);
  };
  const key = createHmacKey("sha1", shortTermKey("demo-password-of-the-remote-agent"));
  const builder = new StunMessageBuilder();

  say("1. An ICE connectivity check, as the controlling agent sends it (RFC 8445 §7.1):");
  const request = builder
    .begin(Method.Binding, MessageClass.Request, newTransactionId())
    .add(Software, "icekit demo")
    .add(Username, "remoteUfrag:localUfrag")
    .add(Priority, 0x6e7f1eff)
    .add(IceControlling, 0x1234_5678_9abc_def0n)
    .add(UseCandidate, true)
    .addMessageIntegrity(key)
    .addFingerprint()
    .finish()
    .slice();
  say(`   ${request.length} bytes: ${toHex(request)}`);

  say("2. The receiving agent decodes and verifies it:");
  const decoded = decodeStunMessage(request);
  const view = describeStun(decoded, { sha1: key, sha256: createHmacKey("sha256", shortTermKey("unused")) });
  if (json) io.stdout(toJsonLine({ step: "request", message: view }));
  for (const line of formatStunTree(view, request.length)) say(`   ${line}`);

  say("3. An attacker flips one bit of the priority; MESSAGE-INTEGRITY catches it:");
  const forged = request.slice();
  forged[decoded.attributeOffset(decoded.indexOf(Priority.type)) + 3]! ^= 0x01;
  const forgedIntegrity = checkMessageIntegrity(decodeStunMessage(forged), key);
  const forgedFingerprint = checkFingerprint(decodeStunMessage(forged));
  say(`   integrity: ${forgedIntegrity}, fingerprint: ${forgedFingerprint}`);
  if (json) io.stdout(toJsonLine({ step: "forged", integrity: forgedIntegrity, fingerprint: forgedFingerprint }));

  say("4. The answer carries the address the request came from, XOR'ed with the magic cookie:");
  const response = builder
    .begin(Method.Binding, MessageClass.SuccessResponse, decoded.transactionId)
    .add(XorMappedAddress, { family: "IPv4", address: "203.0.113.7", port: 54321 })
    .addMessageIntegrity(key)
    .addFingerprint()
    .finish();
  const answer = decodeStunMessage(response);
  const mapped = answer.get(XorMappedAddress);
  say(`   ${toHex(response)}`);
  say(`   XOR-MAPPED-ADDRESS: ${mapped?.address}:${mapped?.port}  integrity: ${checkMessageIntegrity(answer, key)}`);
  if (json) io.stdout(toJsonLine({ step: "response", mapped, integrity: checkMessageIntegrity(answer, key) }));
  say("");
  say("Try it on your own bytes: icekit decode <hex> --password <pwd>");
  return view.integrity === "valid" && forgedIntegrity === "invalid" ? 0 : 1;
}
