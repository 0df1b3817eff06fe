/**
 * The XML reader: what UPnP documents need (elements, attributes, the five entities, character
 * references, CDATA, comments, PIs, prefixes), hostile input (DOCTYPE and billion laughs, a
 * 10 MB body, deep nesting, element floods, bad references, unterminated and mismatched tags),
 * and fast-check properties: random and mutated input throws only XmlError; escape/parse round
 * trips arbitrary strings.
 *
 * @module
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isIcekitError } from "../../src/errors";
import { isXmlError, parseXml, xmlChild, xmlChildText, xmlChildren, xmlDescendant, xmlEscape } from "../../src/nat/index";
import type { XmlErrorCode } from "../../src/nat/index";
import { CONSUMER_ROUTER_DESCRIPTION, MINIUPNPD_DESCRIPTION, soapFault, soapOk } from "./upnp-fixtures";

function code(f: () => unknown): XmlErrorCode | "none" {
  try {
    f();
    return "none";
  } catch (e) {
    if (!isXmlError(e)) throw new Error(`threw ${String(e)}, not an XmlError`);
    return e.code;
  }
}

function onlyXmlErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isXmlError(e)) throw new Error(`threw ${String(e)}, not an XmlError`);
  }
}

describe("XML reader: well-formed documents", () => {
  it("reads elements, attributes, text and prefixes of a SOAP response", () => {
    const root = parseXml(soapOk("GetExternalIPAddress", { NewExternalIPAddress: "203.0.113.7" }));
    expect(root.name).toBe("s:Envelope");
    expect(root.prefix).toBe("s");
    expect(root.localName).toBe("Envelope");
    expect(root.attributes.get("xmlns:s")).toBe("http://schemas.xmlsoap.org/soap/envelope/");
    const response = xmlChild(xmlChild(root, "Body")!, "GetExternalIPAddressResponse")!;
    expect(response.name).toBe("u:GetExternalIPAddressResponse");
    expect(xmlChildText(response, "NewExternalIPAddress")).toBe("203.0.113.7");
  });

  it("reads miniupnpd's description to its nested WANIPConnection service", () => {
    const root = parseXml(new TextEncoder().encode(MINIUPNPD_DESCRIPTION));
    expect(root.attributes.get("configId")).toBe("1337");
    const wanDevice = xmlChildren(xmlChild(xmlChild(root, "device")!, "deviceList")!, "device")[0]!;
    const conn = xmlChild(xmlChild(wanDevice, "deviceList")!, "device")!;
    const types = xmlChildren(xmlChild(conn, "serviceList")!, "service").map((s) => xmlChildText(s, "serviceType"));
    expect(types).toEqual(["urn:schemas-upnp-org:service:WANIPConnection:2", "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"]);
  });

  it("decodes the five predefined entities and decimal and hex character references", () => {
    const root = parseXml("<a t='&lt;&gt;&amp;&apos;&quot;'>&lt;&gt;&amp;&apos;&quot; &#65;&#x42;&#x1F600;</a>");
    expect(root.text).toBe(`<>&'" AB😀`);
    expect(root.attributes.get("t")).toBe(`<>&'"`);
  });

  it("keeps CDATA literally and joins it with the surrounding text", () => {
    expect(parseXml("<a>x<![CDATA[<b>&amp;</b>]]>y</a>").text).toBe("x<b>&amp;</b>y");
  });

  it("skips the XML declaration, comments and processing instructions anywhere they may appear", () => {
    const root = parseXml('<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><?pi x?><a><!-- inner --><?pi?>t<b/></a>\n<!-- after -->\n');
    expect(root.text).toBe("t");
    expect(root.children.map((c) => c.name)).toEqual(["b"]);
  });

  it("normalises CRLF to LF in text and whitespace to spaces in attribute values (XML 1.0 §2.11, §3.3.3)", () => {
    const root = parseXml('<a v="1\r\n2\t3">x\r\ny\rz</a>');
    expect(root.text).toBe("x\ny\nz");
    expect(root.attributes.get("v")).toBe("1 2 3");
    expect(xmlChildText(parseXml(CONSUMER_ROUTER_DESCRIPTION), "URLBase")).toBe("http://192.168.1.1:49000/");
  });

  it("reads a UTF-8 byte-order mark and non-ASCII text", () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("<a>Zürich 東京</a>")]);
    expect(parseXml(bytes).text).toBe("Zürich 東京");
  });

  it("finds descendants depth-first in document order, itself included", () => {
    const root = parseXml("<r><x><f id='1'/></x><f id='2'/></r>");
    expect(xmlDescendant(root, "f")!.attributes.get("id")).toBe("1");
    expect(xmlDescendant(root, "r")).toBe(root);
    expect(xmlDescendant(root, "none")).toBeUndefined();
    expect(xmlDescendant(parseXml(soapFault(718, "ConflictInMappingEntry")), "errorCode")!.text).toBe("718");
  });

  it("accepts nesting up to maxDepth and elements up to maxElements", () => {
    const nested = (n: number) => "<a>".repeat(n) + "</a>".repeat(n);
    expect(code(() => parseXml(nested(32)))).toBe("none");
    expect(code(() => parseXml("<r>" + "<e/>".repeat(4095) + "</r>"))).toBe("none");
  });
});

describe("XML reader: hostile and broken documents", () => {
  it("refuses a DOCTYPE outright, so the billion-laughs document never expands", () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>';
    expect(code(() => parseXml(lol))).toBe("DOCTYPE");
    expect(code(() => parseXml('<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>'))).toBe("DOCTYPE");
    expect(code(() => parseXml("<r><!DOCTYPE x></r>"))).toBe("DOCTYPE");
  });

  it("refuses a 10 MB body by its size before decoding or scanning a byte", () => {
    // Invalid UTF-8 throughout: had the reader decoded it, the error would be BAD_ENCODING.
    const huge = new Uint8Array(10 * 1024 * 1024).fill(0xff);
    expect(code(() => parseXml(huge))).toBe("TOO_LARGE");
    expect(code(() => parseXml("<a/>" + " ".repeat(300_000)))).toBe("TOO_LARGE");
    expect(code(() => parseXml("<a>12345</a>", { maxBytes: 8 }))).toBe("TOO_LARGE");
    expect(code(() => parseXml("<a>1234</a>", { maxBytes: 11 }))).toBe("none");
  });

  it("refuses nesting deeper than maxDepth without recursing (100 000 levels)", () => {
    const deep = "<a>".repeat(100_000);
    expect(code(() => parseXml(deep, { maxBytes: 1_000_000 }))).toBe("TOO_DEEP");
    expect(code(() => parseXml("<a><a><a></a></a></a>", { maxDepth: 2 }))).toBe("TOO_DEEP");
  });

  it("refuses more elements than maxElements and more attributes than maxAttributes", () => {
    expect(code(() => parseXml("<r>" + "<e/>".repeat(5000) + "</r>"))).toBe("TOO_MANY_ELEMENTS");
    const attrs = Array.from({ length: 40 }, (_, i) => `a${i}="x"`).join(" ");
    expect(code(() => parseXml(`<r ${attrs}/>`))).toBe("TOO_MANY_ATTRIBUTES");
  });

  it("refuses unknown entities and references to non-characters", () => {
    for (const bad of ["<a>&foo;</a>", "<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&#x110000;</a>", "<a>&#xFFFE;</a>", "<a>&amp</a>", "<a>& b</a>", "<a>&#;</a>", "<a>&#x;</a>", "<a>&#12a;</a>", '<a v="&nbsp;"/>', "<a>&#99999999999;</a>"]) {
      expect(code(() => parseXml(bad)), bad).toBe("BAD_ENTITY");
    }
  });

  it("refuses unterminated constructs", () => {
    for (const bad of ["<a>", "<a", "<a b='1'", "<a b='1", "<a><!-- x</a>", "<a><![CDATA[x</a>", "<a><?pi </a>", "<a></a", "<a><b></b>", "<a/", "<a b"]) {
      expect(code(() => parseXml(bad)), bad).toBe("UNTERMINATED");
    }
  });

  it("refuses mismatched close tags, junk after the root, a missing root", () => {
    expect(code(() => parseXml("<a><b></a></b>"))).toBe("MISMATCHED_TAG");
    expect(code(() => parseXml("<s:a></a>"))).toBe("MISMATCHED_TAG");
    expect(code(() => parseXml("<a/><b/>"))).toBe("TRAILING_CONTENT");
    expect(code(() => parseXml("<a/>junk"))).toBe("TRAILING_CONTENT");
    expect(code(() => parseXml(""))).toBe("NO_ROOT");
    expect(code(() => parseXml("  <!-- only a comment -->  "))).toBe("NO_ROOT");
  });

  it("refuses other well-formedness errors", () => {
    for (const bad of ["text<a/>", "<1a/>", "<a b=1/>", '<a b="1"c="2"/>', '<a b="1" b="2"/>', "<a b='<'/>", "<a>\u0001</a>", "<:a/>", "<a:/>", "<a><!ELEMENT x></a>", "<a b/>", "< a/>"]) {
      expect(code(() => parseXml(bad)), bad).toBe("MALFORMED");
    }
  });

  it("refuses bytes that are not UTF-8", () => {
    expect(code(() => parseXml(new Uint8Array([0x3c, 0x61, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e])))).toBe("BAD_ENCODING");
  });

  it("refuses limits that are not positive integers, as API misuse", () => {
    expect(() => parseXml("<a/>", { maxDepth: 0 })).toThrow(expect.objectContaining({ name: "IcekitError" }));
  });
});

describe("XML reader: properties", () => {
  const xmlish = fc.array(fc.constantFrom("<", ">", "/", "a", "b:c", "=", '"', "'", "&", ";", "#x41", "amp", "!--", "-->", "<![CDATA[", "]]>", "?", " ", "\n", "<!DOCTYPE", "é", "\u0000"), { maxLength: 60 }).map((parts) => parts.join(""));

  it("throws only XmlError on random strings, XML-ish token soup and random bytes", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => onlyXmlErrors(() => parseXml(s))), { numRuns: 500 });
    fc.assert(fc.property(xmlish, (s) => onlyXmlErrors(() => parseXml(s))), { numRuns: 1000 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyXmlErrors(() => parseXml(b))), { numRuns: 500 });
  });

  it("throws only XmlError on mutated real documents", () => {
    const docs = [MINIUPNPD_DESCRIPTION, CONSUMER_ROUTER_DESCRIPTION, soapFault(725, "OnlyPermanentLeasesSupported")].map((d) => new TextEncoder().encode(d));
    const mutation = fc.record({ doc: fc.nat(docs.length - 1), edits: fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom("set", "delete", "insert")), { minLength: 1, maxLength: 8 }) });
    fc.assert(
      fc.property(mutation, ({ doc, edits }) => {
        const bytes = Array.from(docs[doc]!);
        for (const [pos, value, op] of edits) {
          const i = pos % (bytes.length + 1);
          if (op === "set" && i < bytes.length) bytes[i] = value;
          else if (op === "delete") bytes.splice(i, 1);
          else bytes.splice(i, 0, value);
        }
        onlyXmlErrors(() => parseXml(Uint8Array.from(bytes)));
      }),
      { numRuns: 1000 },
    );
  });

  it("round-trips arbitrary strings through xmlEscape and element text, or refuses them at escape", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 100 }), (s) => {
        let escaped: string;
        try {
          escaped = xmlEscape(s);
        } catch (e) {
          // Only characters XML 1.0 cannot carry may be refused, and only as API misuse.
          expect(isIcekitError(e)).toBe(true);
          expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)).toBe(true);
          return;
        }
        expect(parseXml(`<a>${escaped}</a>`).text).toBe(s);
        expect(parseXml(`<a v="${escaped}"/>`).attributes.get("v")).toBe(s.replace(/[\t\n]/g, " "));
      }),
      { numRuns: 1000 },
    );
  });

  it("round-trips every string of valid XML characters", () => {
    const xmlChar = fc.oneof(fc.constantFrom("\t", "\n", "\r", "&", "<", ">", '"', "'", "]]>"), fc.string({ unit: "grapheme", maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(xmlChar, { maxLength: 30 }).map((a) => a.join("")), (s) => {
        expect(parseXml(new TextEncoder().encode(`<a>${xmlEscape(s)}</a>`)).text).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});
