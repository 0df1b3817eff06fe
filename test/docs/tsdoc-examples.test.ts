/**
 * Every public export has a TSDoc `@example` (issue 8), and every example is a fenced ```ts
 * block, so typedoc renders it as highlighted code rather than prose.
 *
 * "Public" means reachable from the typedoc entry points. One Program over those three files
 * (with the repository's compiler options) is enough: the checker resolves `export *` chains and
 * aliases to the declarations, which is where the documentation lives.
 *
 * @module
 */
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The entry points typedoc documents (typedoc.json `entryPoints`). */
const ENTRY_POINTS = ["src/index.ts", "src/node/index.ts", "src/sim/index.ts"];

/** A ```ts (or ```typescript) fence that is closed again later in the same tag. */
const FENCED_TS = /```(?:ts|typescript)[ \t]*\r?\n[\s\S]*?```/;

/** The path of `file` relative to the repository root, with forward slashes. */
function repoPath(file: string): string {
  return relative(ROOT, file).split("\\").join("/");
}

interface PublicExport {
  readonly name: string;
  /** The file of the symbol's first declaration, relative to the root. */
  readonly file: string;
  readonly declarations: readonly ts.Declaration[];
}

function createProgram(): ts.Program {
  const configPath = resolve(ROOT, "tsconfig.json");
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (config.error !== undefined) {
    throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  }
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configPath);
  // Only the entry files as roots: the rest of src/ is pulled in through their imports, and
  // test/, bench/ and examples/ (in tsconfig's `include`) stay out, which keeps this fast.
  return ts.createProgram(
    ENTRY_POINTS.map((entry) => resolve(ROOT, entry)),
    { ...parsed.options, noEmit: true },
  );
}

/** Every export of the entry points, aliases followed to the declaring symbol, once each. */
function publicExports(program: ts.Program): PublicExport[] {
  const checker = program.getTypeChecker();
  const seen = new Set<ts.Symbol>();
  const out: PublicExport[] = [];
  for (const entry of ENTRY_POINTS) {
    const source = program.getSourceFile(resolve(ROOT, entry));
    if (source === undefined) throw new Error(`entry point ${entry} is not in the program`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`entry point ${entry} is not a module`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol =
        (exported.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(exported) : exported;
      if (seen.has(symbol)) continue;
      seen.add(symbol);
      const declarations = symbol.declarations ?? [];
      const first = declarations[0];
      if (first === undefined) continue;
      out.push({
        name: exported.getName(),
        file: repoPath(first.getSourceFile().fileName),
        declarations,
      });
    }
  }
  return out;
}

/**
 * The `@example` tags of the comment typedoc shows for `declaration` (for a variable, the comment
 * on its statement). That is the last JSDoc comment before it, unless that one is the file's
 * `@module` comment: a module example must not count for the first export after it.
 */
function exampleTags(declaration: ts.Declaration): readonly ts.JSDocTag[] {
  const docs = ts.getJSDocCommentsAndTags(declaration).filter(ts.isJSDoc);
  const doc = docs[docs.length - 1];
  const tags = doc?.tags ?? [];
  if (tags.some((tag) => tag.tagName.text === "module" || tag.tagName.text === "packageDocumentation")) return [];
  return tags.filter((tag) => tag.tagName.text === "example");
}

/** The text of an `@example` tag, fences included. */
function tagText(tag: ts.JSDocTag): string {
  return ts.getTextOfJSDocComment(tag.comment) ?? "";
}

/** Every `@example` tag anywhere in `source`: declarations, members and the module comment. */
function allExampleTags(source: ts.SourceFile): ts.JSDocTag[] {
  const tags = new Set<ts.JSDocTag>();
  const visit = (node: ts.Node): void => {
    for (const tag of ts.getJSDocTags(node)) if (tag.tagName.text === "example") tags.add(tag);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...tags];
}

const program = createProgram();
const exports = publicExports(program);
const checked = exports;

describe("TSDoc examples", () => {
  it("finds the public API through all three entry points", () => {
    const names = new Set(exports.map((e) => e.name));
    // One symbol per entry point, so a broken enumeration cannot pass by finding nothing.
    for (const name of ["decodeStunMessage", "Network", "createIceAgent"]) expect(names, name).toContain(name);
    for (const e of exports) expect(e.file, e.name).toMatch(/^src\//);
  });

  it("gives every export an @example", () => {
    const missing = checked
      .filter((e) => !e.declarations.some((d) => exampleTags(d).length > 0))
      .map((e) => `${e.name} (${e.file})`)
      .sort();
    expect(missing, `${missing.length} exports without @example`).toEqual([]);
  });

  it("writes every @example as a fenced ```ts block", () => {
    const files = new Set(checked.map((e) => e.file));
    const unfenced: string[] = [];
    for (const file of [...files].sort()) {
      const source = program.getSourceFile(resolve(ROOT, file));
      if (source === undefined) continue;
      for (const tag of allExampleTags(source)) {
        if (FENCED_TS.test(tagText(tag))) continue;
        const { line } = source.getLineAndCharacterOfPosition(tag.getStart(source));
        unfenced.push(`${file}:${line + 1}`);
      }
    }
    expect(unfenced, "@example tags without a ```ts block").toEqual([]);
  });
});
