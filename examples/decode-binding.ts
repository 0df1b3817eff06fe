/**
 * Decode a STUN Binding request and verify it: the first thing an ICE agent does with every
 * connectivity check it receives.
 *
 * Run: npm install && npx tsx examples/decode-binding.ts
 */
import {
  checkFingerprint,
  checkMessageIntegrity,
  decodeStunMessage,
  fromHex,
  IceControlled,
  isStunDecodeError,
  MessageClass,
  Method,
  Priority,
  shortTermCredential,
  Username,
} from "icekit";

// RFC 5769 §2.1: a Binding request as an ICE agent sends it, signed with the short-term
// password "VOkJxbRl1RmTxUk/WvJxBt".
const datagram = fromHex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`);

// Create the credential once: its HMAC key is reused for every message checked with it.
const credential = shortTermCredential("evtj:h6vY", "VOkJxbRl1RmTxUk/WvJxBt");

try {
  const msg = decodeStunMessage(datagram);
  if (msg.method !== Method.Binding || msg.messageClass !== MessageClass.Request) throw new Error("not a Binding request");
  console.log("fingerprint:", checkFingerprint(msg)); // "valid"
  console.log("integrity:  ", checkMessageIntegrity(msg, credential.sha1)); // "valid"
  console.log("username:   ", msg.get(Username)); // "evtj:h6vY"
  console.log("priority:   ", msg.get(Priority)); // 1845494271
  console.log("tiebreaker: ", msg.get(IceControlled)); // 10605970187446795062n
} catch (e) {
  // Bad bytes from the network give a StunDecodeError with a code and an offset, nothing else.
  if (isStunDecodeError(e)) console.error(`dropped: ${e.code}: ${e.message}`);
  else throw e;
}
