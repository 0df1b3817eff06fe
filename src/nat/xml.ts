/**
 * A small, strict XML 1.0 reader: enough for UPnP device descriptions and SOAP responses, and
 * safe to point at whatever a device on the LAN sends back.
 *
 * What it reads: elements, attributes, character data with the five predefined entities
 * (`&lt; &gt; &amp; &apos; &quot;`) and numeric character references, CDATA sections. Comments,
 * processing instructions and the XML declaration are skipped. Namespace prefixes are kept as
 * written (`s:Envelope`); the query helpers match on the local name, which is how UPnP devices
 * are read in practice (their prefixes vary, their local names do not).
 *
 * What it refuses, with an {@link XmlError} and nothing else:
 * - any `<!DOCTYPE`: without a DTD no entity can be declared, so entity expansion (the
 *   "billion laughs" attack) and external entities (XXE) cannot happen;
 * - documents over `maxBytes` (default 256 KiB), checked before the bytes are even decoded;
 * - nesting deeper than `maxDepth`, more than `maxElements` elements or `maxAttributes`
 *   attributes on one element;
 * - everything that is not well-formed: unterminated constructs, mismatched close tags, junk
 *   after the root, duplicate attributes, bad names, unknown entities, control characters.
 *
 * It runs in time linear in the input: one forward scan, no regular expressions, no recursion
 * (the element stack is an array, so depth cannot overflow the call stack either).
 *
 * What it does not do: DTDs, namespace URI resolution, encodings other than UTF-8 (an encoding
 * declaration is read past, not obeyed), `xml:space`.
 *
 * ```ts
 * const root = parseXml(body);
 * const ip = xmlChildText(xmlDescendant(root, "GetExternalIPAddressResponse")!, "NewExternalIPAddress");
 * ```
 *
 * @module
 */
import { IcekitError } from "../errors";
import { XmlError } from "./xml-error";

/**
 * One element of a parsed document.
 *
 * @example
 * ```ts
 * const root: XmlElement = parseXml("<s:a x='1'>t</s:a>");
 * root.localName; // "a"
 * ```
 */
export interface XmlElement {
  /** The name as written, prefix included (`"s:Envelope"`). */
  readonly name: string;
  /** The part after the colon (`"Envelope"`), or the whole name when it has no prefix. */
  readonly localName: string;
  /** The namespace prefix (`"s"`), or undefined. */
  readonly prefix: string | undefined;
  /** Attributes by name as written (`"xmlns:s"`), values with references decoded. */
  readonly attributes: ReadonlyMap<string, string>;
  /** Child elements in document order. */
  readonly children: readonly XmlElement[];
  /**
   * The element's own character data (text and CDATA between its tags, children's text not
   * included), references decoded, line ends normalised to `\n` (XML 1.0 §2.11).
   */
  readonly text: string;
}

/**
 * Limits for {@link parseXml}; every one is checked while reading, not after.
 *
 * @example
 * ```ts
 * parseXml(body, { maxBytes: 64 * 1024, maxDepth: 16 });
 * ```
 */
export interface XmlParseOptions {
  /** Largest document accepted, in bytes (or UTF-16 units for a string). Default 262 144. */
  readonly maxBytes?: number;
  /** Deepest element nesting accepted; the root is depth 1. Default 32. */
  readonly maxDepth?: number;
  /** Most elements accepted. Default 4096. */
  readonly maxElements?: number;
  /** Most attributes on one element. Default 32. */
  readonly maxAttributes?: number;
}

/**
 * Default {@link XmlParseOptions.maxBytes}: 256 KiB, many times a real IGD description.
 *
 * @example
 * ```ts
 * if (contentLength > XML_DEFAULT_MAX_BYTES) abort();
 * ```
 */
export const XML_DEFAULT_MAX_BYTES = 256 * 1024;

interface MutableElement {
  name: string;
  localName: string;
  prefix: string | undefined;
  attributes: Map<string, string>;
  children: MutableElement[];
  text: string;
  /** Text pieces until the close tag joins them. */
  parts?: string[];
}

/**
 * Parses a UTF-8 document (bytes or an already decoded string) and returns its root element.
 *
 * @param input - the document; a `Uint8Array` is size-checked before it is decoded
 * @param options - size, depth and count limits
 * @returns the root element
 * @throws {@link XmlError} for a document that is too large, hostile or not well-formed
 * @throws {@link IcekitError} for limits that are not positive integers
 *
 * @example
 * ```ts
 * const root = parseXml('<a x="1">b &amp; c<d/></a>');
 * root.attributes.get("x"); // "1"
 * root.text;                // "b & c"
 * root.children[0]!.name;   // "d"
 * ```
 */
export function parseXml(input: Uint8Array | string, options: XmlParseOptions = {}): XmlElement {
  const maxBytes = limit("maxBytes", options.maxBytes, XML_DEFAULT_MAX_BYTES);
  const maxDepth = limit("maxDepth", options.maxDepth, 32);
  const maxElements = limit("maxElements", options.maxElements, 4096);
  const maxAttributes = limit("maxAttributes", options.maxAttributes, 32);
  // The cap comes first: a 10 MB body is refused before a single byte is decoded or scanned.
  if (input.length > maxBytes) throw new XmlError("TOO_LARGE", `document of ${input.length} ${typeof input === "string" ? "characters" : "bytes"} is over the ${maxBytes}-byte limit`);
  const text = typeof input === "string" ? input : decodeUtf8(input);
  return new Reader(text, maxDepth, maxElements, maxAttributes).document();
}

/**
 * Escapes a string for element text or a quoted attribute value: `& < > " '` become the
 * predefined entities and a carriage return becomes `&#13;` (so that it survives the parser's
 * line-end normalisation).
 *
 * @throws {@link IcekitError} when the string holds a character XML 1.0 cannot carry at all
 *   (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF; unpaired surrogates)
 *
 * @example
 * ```ts
 * xmlEscape(`a < b & "c"`); // "a &lt; b &amp; &quot;c&quot;"
 * ```
 */
export function xmlEscape(value: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x26) rep = "&amp;";
    else if (c === 0x3c) rep = "&lt;";
    else if (c === 0x3e) rep = "&gt;";
    else if (c === 0x22) rep = "&quot;";
    else if (c === 0x27) rep = "&apos;";
    else if (c === 0x0d) rep = "&#13;";
    else if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || c === 0xfffe || c === 0xffff) {
      throw new IcekitError("INVALID_ARGUMENT", `character U+${c.toString(16).padStart(4, "0")} at index ${i} cannot appear in XML 1.0; remove it`);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw new IcekitError("INVALID_ARGUMENT", `unpaired surrogate at index ${i} cannot appear in XML; pass well-formed UTF-16`);
    }
    if (rep !== undefined) {
      out += value.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return from === 0 ? value : out + value.slice(from);
}

/**
 * The first child element with this local name, or undefined.
 *
 * @example
 * ```ts
 * const body = xmlChild(parseXml(soap), "Body");
 * ```
 */
export function xmlChild(element: XmlElement, localName: string): XmlElement | undefined {
  for (const c of element.children) if (c.localName === localName) return c;
  return undefined;
}

/**
 * All child elements with this local name, in document order.
 *
 * @example
 * ```ts
 * for (const s of xmlChildren(serviceList, "service")) console.log(xmlChildText(s, "serviceType"));
 * ```
 */
export function xmlChildren(element: XmlElement, localName: string): XmlElement[] {
  return element.children.filter((c) => c.localName === localName);
}

/**
 * The trimmed text of the first child with this local name, or undefined when there is none.
 *
 * @example
 * ```ts
 * xmlChildText(parseXml("<r><a> x </a></r>"), "a"); // "x"
 * ```
 */
export function xmlChildText(element: XmlElement, localName: string): string | undefined {
  return xmlChild(element, localName)?.text.trim();
}

/**
 * The first element with this local name in a depth-first, document-order walk of `element`
 * and its descendants (itself included), or undefined. Iterative, so any depth is safe.
 *
 * @example
 * ```ts
 * const fault = xmlDescendant(parseXml(body), "UPnPError");
 * ```
 */
export function xmlDescendant(element: XmlElement, localName: string): XmlElement | undefined {
  const stack: XmlElement[] = [element];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (e.localName === localName) return e;
    for (let i = e.children.length - 1; i >= 0; i--) stack.push(e.children[i]!);
  }
  return undefined;
}

function limit(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) throw new IcekitError("INVALID_ARGUMENT", `${name} ${v}: pass a positive integer`);
  return v;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new XmlError("BAD_ENCODING", "the document is not valid UTF-8");
  }
}

const enum Ch {
  Tab = 0x09,
  Lf = 0x0a,
  Cr = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Hash = 0x23,
  Amp = 0x26,
  Apos = 0x27,
  Minus = 0x2d,
  Dot = 0x2e,
  Slash = 0x2f,
  Colon = 0x3a,
  Semi = 0x3b,
  Lt = 0x3c,
  Eq = 0x3d,
  Gt = 0x3e,
  Question = 0x3f,
  Bang = 0x21,
  Underscore = 0x5f,
}

function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Lf || c === Ch.Cr;
}

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === Ch.Underscore || c === Ch.Colon || (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && c !== 0xfffe && c !== 0xffff);
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === Ch.Minus || c === Ch.Dot || c === 0xb7;
}

/** XML 1.0 §2.2 Char, for character references (a code point, not a UTF-16 unit). */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** A literal UTF-16 unit that may not appear in a document (surrogates are checked by the decoder). */
function isForbiddenUnit(c: number): boolean {
  return (c < 0x20 && c !== Ch.Tab && c !== Ch.Lf && c !== Ch.Cr) || c === 0xfffe || c === 0xffff;
}

class Reader {
  readonly #s: string;
  #i = 0;
  readonly #maxDepth: number;
  readonly #maxElements: number;
  readonly #maxAttributes: number;
  #elements = 0;

  constructor(s: string, maxDepth: number, maxElements: number, maxAttributes: number) {
    this.#s = s;
    this.#maxDepth = maxDepth;
    this.#maxElements = maxElements;
    this.#maxAttributes = maxAttributes;
  }

  document(): XmlElement {
    const s = this.#s;
    if (s.charCodeAt(0) === 0xfeff) this.#i = 1; // a BOM the caller decoded along with the text
    this.#misc(false);
    if (this.#i >= s.length) throw new XmlError("NO_ROOT", "the document has no root element", this.#i);
    const root = this.#elementTree();
    this.#misc(true);
    if (this.#i < s.length) throw new XmlError("TRAILING_CONTENT", "content after the root element", this.#i);
    return root;
  }

  /** Whitespace, comments and PIs before or after the root (XML 1.0 §2.8 Misc). */
  #misc(afterRoot: boolean): void {
    const s = this.#s;
    while (this.#i < s.length) {
      const c = s.charCodeAt(this.#i);
      if (isSpace(c)) {
        this.#i++;
      } else if (c === Ch.Lt && s.charCodeAt(this.#i + 1) === Ch.Question) {
        this.#pi();
      } else if (s.startsWith("<!--", this.#i)) {
        this.#comment();
      } else if (s.startsWith("<!", this.#i)) {
        if (s.startsWith("<!DOCTYPE", this.#i)) throw new XmlError("DOCTYPE", "a DOCTYPE is not accepted (no DTDs, no entity declarations)", this.#i);
        throw new XmlError("MALFORMED", "unexpected markup declaration", this.#i);
      } else if (c === Ch.Lt || afterRoot) {
        return; // the root's start tag, or (after the root) junk the caller reports
      } else {
        throw new XmlError("MALFORMED", "text before the root element", this.#i);
      }
    }
  }

  #pi(): void {
    const end = this.#s.indexOf("?>", this.#i + 2);
    if (end < 0) throw new XmlError("UNTERMINATED", "unterminated processing instruction", this.#i);
    this.#checkChars(this.#i, end);
    this.#i = end + 2;
  }

  #comment(): void {
    const end = this.#s.indexOf("-->", this.#i + 4);
    if (end < 0) throw new XmlError("UNTERMINATED", "unterminated comment", this.#i);
    this.#checkChars(this.#i, end);
    this.#i = end + 3;
  }

  #checkChars(from: number, to: number): void {
    const s = this.#s;
    for (let k = from; k < to; k++) if (isForbiddenUnit(s.charCodeAt(k))) throw new XmlError("MALFORMED", `control character U+${s.charCodeAt(k).toString(16).padStart(4, "0")}`, k);
  }

  /** Reads the root element and everything inside it, with an explicit stack. */
  #elementTree(): XmlElement {
    const s = this.#s;
    const stack: MutableElement[] = [];
    const first = this.#startTag();
    if (first.selfClosing) return finish(first.element);
    stack.push(first.element);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (this.#i >= s.length) throw new XmlError("UNTERMINATED", `element <${top.name}> is not closed`, this.#i);
      const c = s.charCodeAt(this.#i);
      if (c !== Ch.Lt) {
        top.parts!.push(this.#text());
        continue;
      }
      const next = s.charCodeAt(this.#i + 1);
      if (next === Ch.Slash) {
        const at = this.#i;
        this.#i += 2;
        const name = this.#name();
        this.#skipSpace();
        if (s.charCodeAt(this.#i) !== Ch.Gt) throw new XmlError(this.#i >= s.length ? "UNTERMINATED" : "MALFORMED", `close tag </${name}> is not terminated by '>'`, this.#i);
        this.#i++;
        if (name !== top.name) throw new XmlError("MISMATCHED_TAG", `</${name}> closes <${top.name}>`, at);
        stack.pop();
        finish(top);
        if (stack.length === 0) return top;
      } else if (next === Ch.Bang) {
        if (s.startsWith("<!--", this.#i)) this.#comment();
        else if (s.startsWith("<![CDATA[", this.#i)) {
          const end = s.indexOf("]]>", this.#i + 9);
          if (end < 0) throw new XmlError("UNTERMINATED", "unterminated CDATA section", this.#i);
          this.#checkChars(this.#i + 9, end);
          top.parts!.push(normaliseLineEnds(s.slice(this.#i + 9, end)));
          this.#i = end + 3;
        } else if (s.startsWith("<!DOCTYPE", this.#i)) {
          throw new XmlError("DOCTYPE", "a DOCTYPE is not accepted (no DTDs, no entity declarations)", this.#i);
        } else {
          throw new XmlError("MALFORMED", "unexpected markup declaration", this.#i);
        }
      } else if (next === Ch.Question) {
        this.#pi();
      } else {
        const { element, selfClosing } = this.#startTag();
        top.children.push(element);
        if (selfClosing) finish(element);
        else {
          if (stack.length + 1 > this.#maxDepth) throw new XmlError("TOO_DEEP", `elements nest deeper than ${this.#maxDepth}`, this.#i);
          stack.push(element);
        }
      }
    }
    throw new XmlError("UNTERMINATED", "the document ends inside an element", this.#i);
  }

  /** `<name attr="v" ...>` or `<name .../>`; `#i` is at the `<`. */
  #startTag(): { element: MutableElement; selfClosing: boolean } {
    const s = this.#s;
    const at = this.#i;
    if (++this.#elements > this.#maxElements) throw new XmlError("TOO_MANY_ELEMENTS", `more than ${this.#maxElements} elements`, at);
    this.#i++;
    const name = this.#name();
    const colon = name.indexOf(":");
    const element: MutableElement = {
      name,
      localName: colon < 0 ? name : name.slice(colon + 1),
      prefix: colon < 0 ? undefined : name.slice(0, colon),
      attributes: new Map(),
      children: [],
      text: "",
      parts: [],
    };
    if (colon === 0 || colon === name.length - 1) throw new XmlError("MALFORMED", `bad qualified name '${name}'`, at + 1);
    for (;;) {
      const hadSpace = this.#skipSpace();
      if (this.#i >= s.length) throw new XmlError("UNTERMINATED", `start tag <${name}> is not terminated`, at);
      const c = s.charCodeAt(this.#i);
      if (c === Ch.Gt) {
        this.#i++;
        return { element, selfClosing: false };
      }
      if (c === Ch.Slash) {
        if (s.charCodeAt(this.#i + 1) !== Ch.Gt) throw new XmlError(this.#i + 1 >= s.length ? "UNTERMINATED" : "MALFORMED", `'/' not followed by '>' in <${name}>`, this.#i);
        this.#i += 2;
        return { element, selfClosing: true };
      }
      if (!hadSpace) throw new XmlError("MALFORMED", `attributes of <${name}> must be separated by whitespace`, this.#i);
      const attrAt = this.#i;
      const attr = this.#name();
      this.#skipSpace();
      if (s.charCodeAt(this.#i) !== Ch.Eq) throw new XmlError(this.#i >= s.length ? "UNTERMINATED" : "MALFORMED", `attribute '${attr}' has no '='`, this.#i);
      this.#i++;
      this.#skipSpace();
      const value = this.#attributeValue();
      if (element.attributes.has(attr)) throw new XmlError("MALFORMED", `duplicate attribute '${attr}'`, attrAt);
      if (element.attributes.size >= this.#maxAttributes) throw new XmlError("TOO_MANY_ATTRIBUTES", `<${name}> has more than ${this.#maxAttributes} attributes`, attrAt);
      element.attributes.set(attr, value);
    }
  }

  #name(): string {
    const s = this.#s;
    const start = this.#i;
    if (start >= s.length) throw new XmlError("UNTERMINATED", "the document ends where a name was expected", start);
    if (!isNameStart(s.charCodeAt(start))) throw new XmlError("MALFORMED", "a name was expected", start);
    let i = start + 1;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
    this.#i = i;
    return s.slice(start, i);
  }

  #skipSpace(): boolean {
    const s = this.#s;
    const start = this.#i;
    while (this.#i < s.length && isSpace(s.charCodeAt(this.#i))) this.#i++;
    return this.#i > start;
  }

  /** A quoted attribute value, references decoded, whitespace normalised (XML 1.0 §3.3.3). */
  #attributeValue(): string {
    const s = this.#s;
    const quote = s.charCodeAt(this.#i);
    if (quote !== Ch.Quote && quote !== Ch.Apos) throw new XmlError(this.#i >= s.length ? "UNTERMINATED" : "MALFORMED", "attribute value is not quoted", this.#i);
    const start = ++this.#i;
    let out = "";
    let from = start;
    for (;;) {
      if (this.#i >= s.length) throw new XmlError("UNTERMINATED", "unterminated attribute value", start - 1);
      const c = s.charCodeAt(this.#i);
      if (c === quote) break;
      if (c === Ch.Lt) throw new XmlError("MALFORMED", "'<' in an attribute value", this.#i);
      if (c === Ch.Amp) {
        out += s.slice(from, this.#i) + this.#reference();
        from = this.#i;
        continue;
      }
      if (c === Ch.Cr && s.charCodeAt(this.#i + 1) === Ch.Lf) {
        out += s.slice(from, this.#i) + " ";
        this.#i += 2;
        from = this.#i;
        continue;
      }
      if (c === Ch.Tab || c === Ch.Lf || c === Ch.Cr) {
        out += s.slice(from, this.#i) + " ";
        from = ++this.#i;
        continue;
      }
      if (isForbiddenUnit(c)) throw new XmlError("MALFORMED", `control character U+${c.toString(16).padStart(4, "0")} in an attribute value`, this.#i);
      this.#i++;
    }
    out += s.slice(from, this.#i);
    this.#i++;
    return out;
  }

  /** Character data up to the next `<`, references decoded, line ends normalised. */
  #text(): string {
    const s = this.#s;
    let out = "";
    let from = this.#i;
    while (this.#i < s.length) {
      const c = s.charCodeAt(this.#i);
      if (c === Ch.Lt) break;
      if (c === Ch.Amp) {
        out += s.slice(from, this.#i) + this.#reference();
        from = this.#i;
        continue;
      }
      if (c === Ch.Cr) {
        out += s.slice(from, this.#i) + "\n";
        this.#i += s.charCodeAt(this.#i + 1) === Ch.Lf ? 2 : 1;
        from = this.#i;
        continue;
      }
      if (isForbiddenUnit(c)) throw new XmlError("MALFORMED", `control character U+${c.toString(16).padStart(4, "0")} in text`, this.#i);
      this.#i++;
    }
    return out + s.slice(from, this.#i);
  }

  /** `&name;` or `&#N;` / `&#xH;` at `#i`; returns the replacement text and moves past the `;`. */
  #reference(): string {
    const s = this.#s;
    const at = this.#i;
    // The longest valid reference is `&#x0010FFFF;`-ish; a bounded look-ahead keeps this linear.
    let end = -1;
    for (let k = at + 1; k < s.length && k <= at + 12; k++) {
      if (s.charCodeAt(k) === Ch.Semi) {
        end = k;
        break;
      }
    }
    if (end < 0) throw new XmlError("BAD_ENTITY", "'&' does not start a terminated reference", at);
    const body = s.slice(at + 1, end);
    this.#i = end + 1;
    switch (body) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "apos":
        return "'";
      case "quot":
        return '"';
    }
    if (body.charCodeAt(0) !== Ch.Hash) throw new XmlError("BAD_ENTITY", `unknown entity '&${body};' (only the five predefined entities exist without a DTD)`, at);
    const hex = body.charCodeAt(1) === 0x78;
    const digits = body.slice(hex ? 2 : 1);
    if (digits.length === 0 || digits.length > 8) throw new XmlError("BAD_ENTITY", `bad character reference '&${body};'`, at);
    let cp = 0;
    for (let k = 0; k < digits.length; k++) {
      const d = digits.charCodeAt(k);
      let v: number;
      if (d >= 0x30 && d <= 0x39) v = d - 0x30;
      else if (hex && d >= 0x61 && d <= 0x66) v = d - 0x57;
      else if (hex && d >= 0x41 && d <= 0x46) v = d - 0x37;
      else throw new XmlError("BAD_ENTITY", `bad character reference '&${body};'`, at);
      cp = cp * (hex ? 16 : 10) + v;
    }
    if (!isXmlChar(cp)) throw new XmlError("BAD_ENTITY", `character reference '&${body};' names no XML character`, at);
    return String.fromCodePoint(cp);
  }
}

function normaliseLineEnds(t: string): string {
  return t.indexOf("\r") < 0 ? t : t.replace(/\r\n?/g, "\n");
}

/** Joins the element's text pieces once, when its close tag is read (children finish first). */
function finish(e: MutableElement): XmlElement {
  const parts = e.parts ?? [];
  e.text = parts.length === 1 ? parts[0]! : parts.join("");
  delete e.parts;
  return e;
}
