/**
 * The PRECIS OpaqueString profile (RFC 8265 §4.2), which STUN applies to passwords (RFC 8489
 * §9.1.1, §9.2.2), realms (§14.9) and usernames (§14.3, §14.4) before they are hashed or sent.
 *
 * Enforcement follows the order of RFC 8264 §7:
 *
 * 1. width mapping: none;
 * 2. additional mapping (RFC 8265 §4.2.2): every non-ASCII space (General_Category Zs other
 *    than U+0020) becomes U+0020;
 * 3. case mapping: none;
 * 4. normalization: NFC;
 * 5. directionality: none;
 * 6. every code point of the result must be valid in the FreeformClass (RFC 8264 §4.3, with the
 *    derivation of §8 and the categories of §9), and the result must not be empty.
 *
 * The FreeformClass check follows the RFC 8264 §8 algorithm in its order: the RFC 5892 §2.6
 * exceptions, unassigned, ASCII7, join controls (CONTEXTJ), old Hangul jamo, ignorables
 * (Default_Ignorable_Code_Point or Noncharacter_Code_Point), controls, then compatibility
 * characters, letters and digits, spaces, symbols and punctuation as valid; everything else
 * (line and paragraph separators, format characters, private use, surrogates) is disallowed.
 *
 * What this implementation approximates, because a JavaScript runtime exposes no more of the
 * Unicode Character Database than regular-expression property escapes and `normalize()`:
 *
 * - "Unassigned" means unassigned in the runtime's own Unicode version (`\p{Cn}`), not in a
 *   version pinned by the profile; a code point assigned in a newer Unicode version is
 *   rejected by an older runtime.
 * - The Virama test of the CONTEXTJ rules (RFC 5892 Appendix A.1, A.2) reads the canonical
 *   combining class from how NFD orders a mark against U+3099 (class 8) and U+05B0 (class 10),
 *   which is exact. The second ZERO WIDTH NON-JOINER rule needs the Joining_Type property,
 *   which JavaScript does not expose: it is approximated as "between two letters of a
 *   cursive-joining script (Arabic, Syriac, N'Ko, Mandaic, Mongolian, Manichaean, Psalter
 *   Pahlavi, Phags-pa, Adlam), with only combining marks in between", which accepts a few
 *   strings the exact rule rejects (after a right-joining letter such as ALEF).
 * - Old Hangul jamo are taken as the three conjoining-jamo blocks (U+1100–U+11FF,
 *   U+A960–U+A97F, U+D7B0–U+D7FF), which is what Hangul_Syllable_Type L, V or T covers.
 *   Sequences of modern jamo that NFC composes into syllables are accepted, since the class
 *   is checked after normalization.
 *
 * @module
 */
import { IcekitError } from "../errors";

/** Printable ASCII (U+0020–U+007E): already OpaqueString-enforced, the common case. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** RFC 8265 §4.2.2 additional mapping rule: non-ASCII spaces (Zs minus U+0020). */
const NON_ASCII_SPACE = /(?! )\p{Zs}/gu;

/** RFC 8264 §9.1 LetterDigits, §9.2 OtherLetterDigits, §9.14 Spaces, §9.15 Symbols, §9.16 Punctuation. */
const VALID_CATEGORY = /^[\p{L}\p{M}\p{N}\p{Zs}\p{S}\p{P}]$/u;

/** RFC 8264 §9.13 PrecisIgnorableProperties, first half (second half: noncharacters). */
const DEFAULT_IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
const NONCHARACTER = /^\p{Noncharacter_Code_Point}$/u;
/** RFC 8264 §9.12 Unassigned: Cn that is not a noncharacter. */
const UNASSIGNED = /^\p{Cn}$/u;
/** RFC 8264 §9.11 Controls. */
const CONTROL = /^\p{Cc}$/u;

/** Letters of the scripts whose letters join cursively (Joining_Type D, L or R), approximated. */
const JOINING_LETTER =
  /^(?=\p{L})[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mandaic}\p{Script=Mongolian}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Phags_Pa}\p{Script=Adlam}]$/u;
/** Joining_Type T, approximated as the non-spacing and enclosing marks. */
const TRANSPARENT = /^[\p{Mn}\p{Me}]$/u;
const GREEK = /^\p{Script=Greek}$/u;
const HEBREW = /^\p{Script=Hebrew}$/u;
const HIRAGANA_KATAKANA_HAN = /^[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]$/u;

/** RFC 5892 §2.6 exceptions whose value is PVALID. */
const EXCEPTION_PVALID = new Set([0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]);
/** RFC 5892 §2.6 exceptions whose value is DISALLOWED. */
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);

/** Why a code point is refused: the phrase goes into the error message. */
type Rejection = { readonly index: number; readonly cp: number; readonly why: string };

/**
 * True when `c` has canonical combining class 9 (Virama). NFD's canonical ordering (UAX #15)
 * swaps adjacent non-starters whose classes are out of order, so a class-9 mark placed before
 * U+3099 (class 8) moves after it, and one placed after U+05B0 (class 10) moves before it; no
 * other class does both. Viramas have no decomposition, so NFD leaves `c` itself alone.
 */
function isVirama(c: string): boolean {
  if (c === "\u3099" || c === "\u05b0") return false;
  return (
    ("a" + c + "\u3099").normalize("NFD") === "a\u3099" + c &&
    ("a\u05b0" + c).normalize("NFD") === "a" + c + "\u05b0"
  );
}

/** RFC 5892 Appendix A.1 (ZERO WIDTH NON-JOINER) and A.2 (ZERO WIDTH JOINER). */
function joinControlAllowed(cps: readonly string[], i: number): boolean {
  const before = cps[i - 1];
  if (before !== undefined && isVirama(before)) return true;
  if (cps[i] !== "\u200c") return false;
  // (Joining_Type:{L,D})(Joining_Type:T)*\u200C(Joining_Type:T)*(Joining_Type:{R,D}), approximated
  let j = i - 1;
  while (j >= 0 && TRANSPARENT.test(cps[j] ?? "")) j--;
  let k = i + 1;
  while (k < cps.length && TRANSPARENT.test(cps[k] ?? "")) k++;
  return JOINING_LETTER.test(cps[j] ?? "") && JOINING_LETTER.test(cps[k] ?? "");
}

function inRange(c: string, lo: number, hi: number): boolean {
  const cp = c.codePointAt(0) ?? -1;
  return cp >= lo && cp <= hi;
}

/** RFC 5892 Appendix A.3–A.9: the CONTEXTO rules, or undefined when `cp` has none. */
function contextOAllowed(cps: readonly string[], i: number, cp: number): boolean | undefined {
  switch (cp) {
    case 0x00b7: // A.3 MIDDLE DOT: only between two "l" (Catalan "l·l")
      return cps[i - 1] === "l" && cps[i + 1] === "l";
    case 0x0375: // A.4 GREEK LOWER NUMERAL SIGN (KERAIA): followed by Greek
      return GREEK.test(cps[i + 1] ?? "");
    case 0x05f3: // A.5 HEBREW PUNCTUATION GERESH: preceded by Hebrew
    case 0x05f4: // A.6 HEBREW PUNCTUATION GERSHAYIM: preceded by Hebrew
      return HEBREW.test(cps[i - 1] ?? "");
    case 0x30fb: // A.7 KATAKANA MIDDLE DOT: somewhere a Hiragana, Katakana or Han character
      return cps.some((c) => HIRAGANA_KATAKANA_HAN.test(c));
  }
  if (cp >= 0x0660 && cp <= 0x0669) {
    // A.8 ARABIC-INDIC DIGITS: not mixed with Extended Arabic-Indic digits
    return !cps.some((c) => inRange(c, 0x06f0, 0x06f9));
  }
  if (cp >= 0x06f0 && cp <= 0x06f9) {
    // A.9 EXTENDED ARABIC-INDIC DIGITS: not mixed with Arabic-Indic digits
    return !cps.some((c) => inRange(c, 0x0660, 0x0669));
  }
  return undefined;
}

/** RFC 8264 §8: the first code point of `s` not valid in the FreeformClass, if any. */
function firstDisallowed(s: string): Rejection | undefined {
  const cps = Array.from(s); // code points; an unpaired surrogate is one element
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i] as string;
    const cp = c.codePointAt(0) as number;
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (EXCEPTION_DISALLOWED.has(cp)) return { index: i, cp, why: "a code point RFC 5892 §2.6 lists as disallowed" };
    const context = contextOAllowed(cps, i, cp);
    if (context === true) continue;
    if (context === false) return { index: i, cp, why: "a code point whose context rule (RFC 5892 Appendix A) fails here" };
    if (NONCHARACTER.test(c)) return { index: i, cp, why: "a noncharacter" };
    if (UNASSIGNED.test(c)) return { index: i, cp, why: "a code point unassigned in this runtime's Unicode version" };
    if (cp >= 0x21 && cp <= 0x7e) continue; // §9.11 ASCII7
    if (cp === 0x200c || cp === 0x200d) {
      // §9.8 JoinControl: CONTEXTJ
      if (joinControlAllowed(cps, i)) continue;
      return { index: i, cp, why: "a zero width (non-)joiner that does not follow a virama" };
    }
    if ((cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xa960 && cp <= 0xa97f) || (cp >= 0xd7b0 && cp <= 0xd7ff)) {
      return { index: i, cp, why: "a conjoining Hangul jamo that NFC does not compose into a syllable" };
    }
    if (DEFAULT_IGNORABLE.test(c)) return { index: i, cp, why: "a default-ignorable code point" };
    if (CONTROL.test(c)) return { index: i, cp, why: "a control character" };
    if (VALID_CATEGORY.test(c)) continue;
    if (c.normalize("NFKC") !== c) continue; // §9.17 HasCompat: valid in the FreeformClass
    return { index: i, cp, why: categoryPhrase(c) };
  }
  return undefined;
}

/** Names the general category of a code point the FreeformClass leaves disallowed. */
function categoryPhrase(c: string): string {
  if (/^\p{Cs}$/u.test(c)) return "an unpaired surrogate, which UTF-8 cannot encode";
  if (/^\p{Co}$/u.test(c)) return "a private-use code point";
  if (/^[\p{Zl}\p{Zp}]$/u.test(c)) return "a line or paragraph separator";
  if (/^\p{Cf}$/u.test(c)) return "a format character";
  return "a code point the FreeformClass disallows";
}

function hex(cp: number): string {
  return "U+" + cp.toString(16).toUpperCase().padStart(4, "0");
}

type Outcome = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

function enforce(s: string, what: string): Outcome {
  if (typeof s !== "string") {
    return { ok: false, message: `${what} must be a string, not ${s === null ? "null" : typeof s}` };
  }
  if (PRINTABLE_ASCII.test(s)) return { ok: true, value: s }; // no rule changes or rejects these
  // RFC 8264 §7 steps 2 and 4 (steps 1, 3 and 5 are "none" for OpaqueString, RFC 8265 §4.2.2)
  const out = s.replace(NON_ASCII_SPACE, " ").normalize("NFC");
  if (out.length === 0) {
    return { ok: false, message: `${what} is empty; OpaqueString (RFC 8265 §4.2) needs at least one character` };
  }
  const bad = firstDisallowed(out);
  if (bad !== undefined) {
    const where = out === s ? `at position ${bad.index}` : `at position ${bad.index} after NFC normalization`;
    return {
      ok: false,
      message:
        `${what} contains ${hex(bad.cp)} (${bad.why}) ${where} (positions count code points from 0); ` +
        `OpaqueString (RFC 8265 §4.2) does not allow it: remove or replace that character`,
    };
  }
  return { ok: true, value: out };
}

/**
 * Enforces the OpaqueString profile (RFC 8265 §4.2) on `s`: maps non-ASCII spaces to U+0020,
 * normalizes to NFC and checks that what remains is non-empty and valid in the PRECIS
 * FreeformClass (RFC 8264 §4.3). Printable ASCII comes back unchanged.
 *
 * Enforcement is idempotent: `opaqueString(opaqueString(s)) === opaqueString(s)`.
 *
 * @param s - a password, realm or username as the user typed or configured it
 * @param what - names `s` in the error message (default `"string"`), e.g. `"password"`
 * @returns the enforced string, ready to be UTF-8 encoded
 * @throws `IcekitError` `INVALID_ARGUMENT` naming the first disallowed code point (`U+XXXX`),
 *   why it is disallowed and its position, or saying that the result is empty.
 * @example
 * ```ts
 * opaqueString("e\u0301\u00a0x")  // "é x": NFC, and NO-BREAK SPACE becomes a space
 * opaqueString("pass\n")          // throws: U+000A (a control character) at position 4
 * ```
 */
export function opaqueString(s: string, what = "string"): string {
  const r = enforce(s, what);
  if (!r.ok) throw new IcekitError("INVALID_ARGUMENT", r.message);
  return r.value;
}

/**
 * {@link opaqueString} that returns `undefined` instead of throwing: for a server checking a
 * USERNAME or REALM it received (RFC 8489 §14.3, §14.9), where a bad value is a reason to send
 * an error response, not a programming error.
 *
 * @param s - the string to enforce
 * @returns the enforced string, or `undefined` when OpaqueString rejects `s`
 * @example
 * ```ts
 * tryOpaqueString("alice")    // "alice"
 * tryOpaqueString("al\u0000") // undefined
 * ```
 */
export function tryOpaqueString(s: string): string | undefined {
  const r = enforce(s, "string");
  return r.ok ? r.value : undefined;
}
