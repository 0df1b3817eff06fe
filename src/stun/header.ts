/**
 * The STUN message type field (RFC 8489 §5): a 12-bit method and a 2-bit class interleaved in
 * 14 bits as M11-M7 C1 M6-M4 C0 M3-M0.
 *
 * @module
 */
import type { MessageClass } from "./constants";

/**
 * Packs a method and class into the 16-bit message type.
 *
 * @example
 * ```ts
 * messageType(Method.Binding, MessageClass.SuccessResponse) // 0x0101
 * ```
 */
export function messageType(method: number, cls: MessageClass): number {
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((cls & 2) << 7) | ((cls & 1) << 4);
}

/**
 * The method in a 16-bit message type.
 *
 * @example
 * ```ts
 * methodOf(0x0101) // → 1 (Method.Binding)
 * methodOf(0x0113) // → 3 (Method.Allocate)
 * ```
 */
export function methodOf(type: number): number {
  return ((type & 0x3e00) >>> 2) | ((type & 0x00e0) >>> 1) | (type & 0x000f);
}

/**
 * The class in a 16-bit message type.
 *
 * @example
 * ```ts
 * classOf(0x0101) // → 2 (MessageClass.SuccessResponse)
 * classOf(0x0011) // → 1 (MessageClass.Indication)
 * ```
 */
export function classOf(type: number): MessageClass {
  return (((type & 0x0100) >>> 7) | ((type & 0x0010) >>> 4)) as MessageClass;
}
