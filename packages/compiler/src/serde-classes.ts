/**
 * Classes that declare WDK's serializers: static methods keyed by `WORKFLOW_SERIALIZE` and
 * `WORKFLOW_DESERIALIZE` (the `Symbol.for("workflow-serialize")` / `Symbol.for("workflow-deserialize")` keys
 * of `@workflow/serde`). The compiler registers each top-level one under a stable ID
 * (`class//<module>//<Name>`) right after its declaration, in every shape and in files with no directive, so
 * instances cross between workflow and step code with no call from the user (WDK's automatic registration).
 */
import type { Module } from "@swc/core";
import { mayContainDirective } from "./directives.js";

/** Cheap text test run before parsing a file that holds no directive. */
export function mentionsSerde(source: string): boolean {
  return (
    source.includes("WORKFLOW_SERIALIZE") ||
    source.includes("workflow-serialize") ||
    source.includes("WORKFLOW_DESERIALIZE") ||
    source.includes("workflow-deserialize")
  );
}

/**
 * The pre-filter of every tool that hands files to `transform`: a directive, a typo of one, or a class that
 * may declare serializers. Anything else is returned unchanged by the compiler anyway.
 */
export function mayNeedCompiler(source: string): boolean {
  return mayContainDirective(source) || mentionsSerde(source);
}

export interface SerdeClass {
  name: string;
  id: string;
  /** Index of the class's statement in the module body (to skip it when pruning removed it). */
  topIndex: number;
  /** swc position just after the statement. */
  end: number;
}

type Kind = "serialize" | "deserialize";
const NAMES: Record<string, Kind> = { WORKFLOW_SERIALIZE: "serialize", WORKFLOW_DESERIALIZE: "deserialize" };
const SYMBOLS: Record<string, Kind> = {
  "workflow-serialize": "serialize",
  "workflow-deserialize": "deserialize",
};

/** swc's AST, walked structurally here. */
type Node = any;

export function findSerdeClasses(module: Module, moduleSpec: string): SerdeClass[] {
  const symbolFor = (e: Node): Kind | undefined =>
    e?.type === "CallExpression" &&
    e.callee?.type === "MemberExpression" &&
    e.callee.object?.type === "Identifier" &&
    e.callee.object.value === "Symbol" &&
    e.callee.property?.value === "for" &&
    e.arguments?.[0]?.expression?.type === "StringLiteral"
      ? SYMBOLS[e.arguments[0].expression.value]
      : undefined;
  // Local names of the keys: imported (maybe renamed) or `const K = Symbol.for("workflow-serialize")`.
  const aliases = new Map<string, Kind>();
  for (const stmt of module.body as Node[]) {
    if (stmt.type === "ImportDeclaration") {
      for (const spec of stmt.specifiers ?? []) {
        if (spec.type !== "ImportSpecifier") continue;
        const kind = NAMES[spec.imported?.value ?? spec.local.value];
        if (kind) aliases.set(spec.local.value, kind);
      }
    }
    const decl = stmt.type === "ExportDeclaration" ? stmt.declaration : stmt;
    if (decl?.type === "VariableDeclaration") {
      for (const d of decl.declarations ?? []) {
        const kind = d.id?.type === "Identifier" ? symbolFor(d.init) : undefined;
        if (kind) aliases.set(d.id.value, kind);
      }
    }
  }
  const keyKind = (key: Node): Kind | undefined => {
    if (key?.type !== "Computed") return undefined;
    const e = key.expression;
    if (e.type === "Identifier") return aliases.get(e.value) ?? NAMES[e.value];
    if (e.type === "MemberExpression" && e.property?.type === "Identifier") return NAMES[e.property.value];
    return symbolFor(e);
  };
  const found: SerdeClass[] = [];
  (module.body as Node[]).forEach((stmt, topIndex) => {
    const cls =
      stmt.type === "ClassDeclaration"
        ? stmt
        : stmt.type === "ExportDeclaration" && stmt.declaration?.type === "ClassDeclaration"
          ? stmt.declaration
          : stmt.type === "ExportDefaultDeclaration" &&
              stmt.decl?.type === "ClassExpression" &&
              stmt.decl.identifier
            ? stmt.decl
            : undefined;
    if (!cls?.identifier || cls.declare) return;
    const kinds = new Set<Kind>();
    for (const member of cls.body ?? []) {
      if (!member.isStatic || (member.type !== "ClassMethod" && member.type !== "ClassProperty")) continue;
      const kind = keyKind(member.key);
      if (kind) kinds.add(kind);
    }
    if (kinds.size < 2) return;
    const name: string = cls.identifier.value;
    found.push({ name, id: `class//${moduleSpec}//${name}`, topIndex, end: stmt.span.end });
  });
  return found;
}

/**
 * The registration statement: the same registry and class-ID property the runtime's
 * `registerSerializableClass` uses, written with globals only so it runs in the sandbox as in Node. An ID the
 * class already names itself (`static classId`) stays its wire ID, so data recorded under it still revives;
 * the compiler's ID is registered as well.
 */
export function registration(cls: SerdeClass): string {
  return (
    `\n;((c, id) => { const r = (globalThis[Symbol.for("wfkit.serializableClasses")] ??= new Map()); ` +
    `const own = Object.hasOwn(c, "classId") && typeof c.classId === "string" && c.classId !== "" ? c.classId : undefined; ` +
    `r.set(id, c); if (own) r.set(own, c); const k = Symbol.for("wfkit.classId"); ` +
    `if (!Object.hasOwn(c, k)) Object.defineProperty(c, k, { value: own ?? id, configurable: true }); })` +
    `(${cls.name}, ${JSON.stringify(cls.id)});\n`
  );
}
