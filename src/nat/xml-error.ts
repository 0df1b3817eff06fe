/**
 * The error the XML reader ({@link parseXml}) throws, and nothing else: device descriptions and
 * SOAP responses come from the network, so every way a document can be bad or hostile maps to
 * one machine-readable {@link XmlErrorCode}.
 *
 * @module
 */

/**
 * Machine-readable reasons {@link parseXml} rejects a document.
 *
 * @example
 * ```ts
 * const why: XmlErrorCode = "DOCTYPE";
 * ```
 */
export type XmlErrorCode =
  /** The document is larger than `maxBytes`; checked before any parsing work. */
  | "TOO_LARGE"
  /** Elements nest deeper than `maxDepth`. */
  | "TOO_DEEP"
  /** More elements than `maxElements`. */
  | "TOO_MANY_ELEMENTS"
  /** One element carries more attributes than `maxAttributes`. */
  | "TOO_MANY_ATTRIBUTES"
  /** A `<!DOCTYPE`: refused outright, so no entity is ever defined or expanded. */
  | "DOCTYPE"
  /** The bytes are not UTF-8. */
  | "BAD_ENCODING"
  /** An entity or character reference that is not one of the five predefined ones or a valid character. */
  | "BAD_ENTITY"
  /** A tag, comment, CDATA section, PI, attribute value or the document ends too early. */
  | "UNTERMINATED"
  /** A close tag names another element than the one open. */
  | "MISMATCHED_TAG"
  /** No root element. */
  | "NO_ROOT"
  /** Something other than comments, PIs or whitespace follows the root element. */
  | "TRAILING_CONTENT"
  /** Any other well-formedness error: a bad name, attribute syntax, a control character. */
  | "MALFORMED";

/**
 * Thrown by {@link parseXml} for a document that is not well-formed, too large or hostile. The
 * message names the character offset where the problem was found.
 *
 * @example
 * ```ts
 * try { parseXml(body) } catch (e) { if (isXmlError(e)) log(`bad description: ${e.code}`) }
 * ```
 */
export class XmlError extends Error {
  /** Always `"XmlError"`, for cross-realm checks. */
  override readonly name = "XmlError";
  /** Why the document was rejected. */
  readonly code: XmlErrorCode;
  /** Character offset in the decoded document, when one applies. */
  readonly offset: number | undefined;

  /**
   * @param code - why the document was rejected
   * @param message - what was wrong
   * @param offset - where (in characters of the decoded text)
   */
  constructor(code: XmlErrorCode, message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (offset ${offset})`);
    this.code = code;
    this.offset = offset;
  }
}

/**
 * True when `e` is an {@link XmlError}, from this copy of icekit or another.
 *
 * @example
 * ```ts
 * if (isXmlError(e) && e.code === "DOCTYPE") stats.hostile++;
 * ```
 */
export function isXmlError(e: unknown): e is XmlError {
  return e instanceof XmlError || (e instanceof Error && e.name === "XmlError" && "code" in e);
}
