import type { Module } from "@swc/core";
import { DIRECTIVES, type DirectiveKind, misspelledDirective } from "./directives.js";
import { findParamList } from "./function-text.js";
import { stepId, workflowId } from "./module-id.js";
import { isNodeBuiltin } from "./node-builtins.js";
import { Scope } from "./scope.js";
import type { SourceText } from "./source-text.js";
import type { Diagnostic, DiagnosticCode, SourceLocation } from "./types.js";

// swc's AST types are a wide union; the walker reads fields by node type, so nodes are typed loosely here.
type Node = any;

/**
 * How the emitted code can reach a function once it exists:
 * - `statement`: the expression `ref` names it after the top-level statement ending at `statementEnd`
 *   (function declarations, `const f = async () => …`, class methods as `C.m` / `C.prototype.m`);
 * - `expression`: only in place, so registration wraps the function expression;
 * - `object-method`: an object literal method `async m() {}`, rewritten to a wrapped property;
 * - `nested`: a step inside a workflow function.
 */
export type UnitBinding =
  | { kind: "statement"; ref: string; statementEnd: number; insertName?: { at: number; name: string } }
  | { kind: "expression" }
  | { kind: "object-method"; keyText: string }
  | { kind: "nested" };

export type FunctionShape = "function" | "arrow" | "method";

/** One workflow or step function found in the file. Positions are string indices into the source. */
export interface Unit {
  kind: DirectiveKind;
  name: string;
  id: string;
  shape: FunctionShape;
  /** `static` class method: emit keeps the keyword when regenerating the method. */
  isStatic: boolean;
  /** Source text of the method key (`m`, `[k]`, `"x"`) for methods. */
  keyText: string;
  /** Identifier of a function declaration/expression, if any. */
  ownName: string | null;
  generator: boolean;
  start: number;
  end: number;
  /** Index of the body's `{` and just past its `}` (or the expression of an arrow's expression body). */
  bodyStart: number;
  bodyEnd: number;
  /** An arrow with an expression body (possible under a module-level directive). */
  expressionBody: boolean;
  /** End of the directive statement (or of the body's `{` for module-directive functions). */
  directiveEnd: number;
  /** Text between the parameter list's parentheses (or the bare parameter of `x => …`). */
  paramsText: string;
  parent: Unit | null;
  /**
   * A step declared inside an ordinary (non-workflow) function, such as a factory that returns a step
   * (`function model(id) { return async () => { "use step"; … } }`): the host function's name. Its ID is
   * `<host>/<name>`; it is a value in workflow code (a step reference carrying its closure) and is
   * registered from a module-level copy in step code.
   */
  host: string | null;
  /** A function declaration (a statement), as opposed to a function or arrow expression. */
  declaration: boolean;
  binding: UnitBinding;
  /** Workflow-scope variables a nested step reads, in first-use order. */
  closure: string[];
  loc: SourceLocation;
  topIndex: number;
}

export interface ImportInfo {
  statementIndex: number;
  source: string;
  start: number;
  end: number;
  typeOnly: boolean;
  specifiers: { local: string; text: string; typeOnly: boolean; kind: "default" | "namespace" | "named" }[];
}

/** A top-level statement, for removing what only steps use. */
export interface TopStatement {
  start: number;
  end: number;
  /** Names it declares at module scope. */
  names: string[];
  /** May be removed from the workflow bundle when nothing but step code needs it. */
  removable: boolean;
  /** Module-scope names referenced from code that stays in the workflow bundle. */
  uses: Set<string>;
  /** Module-scope names referenced from inside workflow functions (for the built-in diagnostic). */
  workflowUses: Set<string>;
  /** Text index of its first top-level `await` (or `for await`), outside every function. */
  awaitAt?: number;
}

export interface Analysis {
  units: Unit[];
  diagnostics: Diagnostic[];
  moduleDirective: DirectiveKind | null;
  top: TopStatement[];
  imports: ImportInfo[];
  /** Module-scope names referenced from step bodies (removed in workflow mode). */
  stepUses: Set<string>;
  /** Names declared at module scope (to pick collision-free names for hoisted steps). */
  moduleNames: Set<string>;
}

interface Ctx {
  scope: Scope;
  step: Unit | null;
  workflow: Unit | null;
  /** Functions enclosing this code (0 = module-level code). */
  fnDepth: number;
  top: number;
  /** Name of the top-level variable being initialised, to name object-property steps. */
  container: string | null;
  /** The ordinary (not workflow, not step) function this code lies in, outermost first, named. */
  host: string | null;
}

interface FunctionInfo {
  hint: string;
  binding: UnitBinding;
  /** Exported top-level function: a step/workflow under a module-level directive. */
  exported: boolean;
  className?: string;
  isStatic?: boolean;
  keyText?: string;
  /** Identifier to declare inside the function's own scope (named function/class expressions). */
  selfName?: string | null;
}

interface Reference {
  name: string;
  scope: Scope;
  step: Unit | null;
  workflow: Unit | null;
  top: number;
  pos: number;
}

const SKIP_KEYS = new Set([
  "span",
  "ctxt",
  "type",
  "typeAnnotation",
  "typeParameters",
  "typeParams",
  "returnType",
  "superTypeParams",
  "typeArguments",
  "implements",
]);
const TYPE_WRAPPERS = new Set([
  "TsAsExpression",
  "TsSatisfiesExpression",
  "TsNonNullExpression",
  "TsTypeAssertion",
  "TsConstAssertion",
  "TsInstantiation",
]);
const TIMERS = new Set(["setTimeout", "setInterval", "setImmediate"]);
const GLOBAL_OBJECTS = new Set(["globalThis", "global", "window", "self"]);

export function analyze(module: Module, text: SourceText, file: string, moduleSpec: string): Analysis {
  return new Analyzer(module, text, file, moduleSpec).run();
}

class Analyzer {
  private readonly units: Unit[] = [];
  private readonly diagnostics: Diagnostic[] = [];
  private readonly refs: Reference[] = [];
  private readonly top: TopStatement[] = [];
  private readonly imports: ImportInfo[] = [];
  private readonly moduleScope = new Scope(null, true, null, null);
  private readonly usedNames = new Map<string, number>();
  /**
   * The walk's stack, as pairs: a node with its context (most entries: no closure to allocate), or null
   * with a task to run.
   */
  private readonly workNodes: (Node | null)[] = [];
  private readonly workArgs: (Ctx | (() => void))[] = [];
  private moduleDirective: DirectiveKind | null = null;

  constructor(
    private readonly module: Module,
    private readonly text: SourceText,
    private readonly file: string,
    private readonly moduleSpec: string,
  ) {}

  run(): Analysis {
    const body = this.module.body as Node[];
    const prologue = this.readPrologue(body);
    this.moduleDirective = prologue.kind;
    body.forEach((stmt, index) => {
      this.top.push({
        start: this.ix(stmt.span.start),
        end: this.ix(stmt.span.end),
        names: [],
        removable: false,
        uses: new Set(),
        workflowUses: new Set(),
      });
      const ctx: Ctx = {
        scope: this.moduleScope,
        step: null,
        workflow: null,
        fnDepth: 0,
        top: index,
        container: null,
        host: null,
      };
      this.drain(() => this.visitTopLevel(stmt, ctx));
    });
    const stepUses = this.resolveReferences();
    this.units.sort((a, b) => a.start - b.start);
    this.diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
    return {
      units: this.units,
      diagnostics: this.diagnostics,
      moduleDirective: this.moduleDirective,
      top: this.top,
      imports: this.imports,
      stepUses,
      moduleNames: this.moduleScope.names,
    };
  }

  // ---- positions and diagnostics -------------------------------------------------------------------

  private ix(pos: number): number {
    return this.text.index(pos);
  }

  private report(
    code: DiagnosticCode,
    severity: "error" | "warning",
    swcPos: number,
    message: string,
    hint: string,
  ) {
    const { line, column } = this.text.location(this.ix(swcPos));
    this.diagnostics.push({ code, severity, message, file: this.file, line, column, hint });
  }

  // ---- directives ----------------------------------------------------------------------------------

  /**
   * Reads the directive prologue of a module or function body (the leading string-literal statements),
   * reporting typos in it and directive strings that come after other statements.
   */
  private readPrologue(stmts: Node[]): { kind: DirectiveKind | null; stmt: Node | null } {
    let kind: DirectiveKind | null = null;
    let found: Node | null = null;
    let inPrologue = true;
    for (const stmt of stmts) {
      const isString = stmt.type === "ExpressionStatement" && stmt.expression.type === "StringLiteral";
      if (!isString) {
        inPrologue = false;
        continue;
      }
      const value: string = stmt.expression.value;
      const directive = DIRECTIVES[value];
      if (directive && inPrologue) {
        if (!kind) {
          kind = directive;
          found = stmt;
        }
      } else if (directive) {
        this.report(
          "DIRECTIVE_NOT_FIRST",
          "error",
          stmt.span.start,
          `"${value}" is not at the start of its function or file, so it is not a directive and is ignored.`,
          `Move "${value}" above every other statement (only other directive strings may precede it).`,
        );
      } else if (inPrologue) {
        const meant = misspelledDirective(value);
        if (meant) {
          this.report(
            "DIRECTIVE_MISSPELLED",
            "error",
            stmt.span.start,
            `Unknown directive "${value}". Did you mean "${meant}"?`,
            `Replace "${value}" with "${meant}".`,
          );
        }
      }
    }
    return { kind, stmt: found };
  }

  // ---- top level -------------------------------------------------------------------------------------

  private visitTopLevel(stmt: Node, ctx: Ctx): void {
    const entry = this.top[ctx.top]!;
    switch (stmt.type) {
      case "ImportDeclaration":
        this.visitImport(stmt, ctx.top);
        entry.removable = !stmt.typeOnly;
        return;
      case "ExportDeclaration":
        this.checkModuleDirectiveExport(stmt.declaration);
        this.visitDeclaration(stmt.declaration, ctx, stmt, true);
        return;
      case "FunctionDeclaration":
      case "VariableDeclaration":
      case "ClassDeclaration":
        entry.removable = true;
        this.visitDeclaration(stmt, ctx, stmt, false);
        return;
      case "ExportDefaultDeclaration":
        this.visitExportDefault(stmt, ctx);
        return;
      case "ExportDefaultExpression": {
        this.checkModuleDirectiveExport(stmt.expression);
        const fn = unwrapParens(stmt.expression);
        if (isFunctionNode(fn)) {
          this.visitFunction(fn, ctx, { hint: "default", binding: { kind: "expression" }, exported: true });
        } else this.visit(stmt.expression, ctx);
        return;
      }
      case "ExportNamedDeclaration":
        if (this.moduleDirective && !stmt.typeOnly) {
          this.report(
            "MODULE_DIRECTIVE_NON_FUNCTION_EXPORT",
            "error",
            stmt.span.start,
            `A file marked "use ${this.moduleDirective}" may only export async functions, but this re-exports other bindings.`,
            `Export the functions where they are declared, or move these exports to another file.`,
          );
        }
        if (!stmt.source) {
          for (const spec of stmt.specifiers) {
            if (spec.type === "ExportSpecifier" && spec.orig.type === "Identifier" && !spec.isTypeOnly) {
              this.reference(spec.orig, ctx);
            }
          }
        }
        return;
      case "ExportAllDeclaration":
        if (this.moduleDirective) {
          this.report(
            "MODULE_DIRECTIVE_NON_FUNCTION_EXPORT",
            "error",
            stmt.span.start,
            `A file marked "use ${this.moduleDirective}" may only export async functions, but \`export *\` re-exports another module.`,
            `Move the \`export *\` to another file.`,
          );
        }
        return;
      default:
        this.visit(stmt, ctx);
    }
  }

  private visitImport(stmt: Node, statementIndex: number): void {
    const info: ImportInfo = {
      statementIndex,
      source: stmt.source.value,
      start: this.ix(stmt.span.start),
      end: this.ix(stmt.span.end),
      typeOnly: !!stmt.typeOnly,
      specifiers: [],
    };
    for (const spec of stmt.specifiers) {
      const local: string = spec.local.value;
      this.moduleScope.declare(local);
      this.top[statementIndex]!.names.push(local);
      const kind =
        spec.type === "ImportDefaultSpecifier"
          ? "default"
          : spec.type === "ImportNamespaceSpecifier"
            ? "namespace"
            : "named";
      info.specifiers.push({
        local,
        kind,
        typeOnly: !!spec.isTypeOnly || info.typeOnly,
        text: this.text.text.slice(this.ix(spec.span.start), this.ix(spec.span.end)),
      });
    }
    this.imports.push(info);
  }

  /** Under a module-level directive, every export must be an async function. */
  private checkModuleDirectiveExport(decl: Node): void {
    if (!this.moduleDirective) return;
    const t = decl.type;
    if (t === "TsInterfaceDeclaration" || t === "TsTypeAliasDeclaration") return;
    if (t === "TsEnumDeclaration" || t === "TsModuleDeclaration" || t === "ClassDeclaration") {
      this.nonFunctionExport(decl);
      return;
    }
    if (t === "VariableDeclaration") {
      for (const d of decl.declarations) {
        const init = d.init ? unwrapParens(d.init) : null;
        if (!init || !isFunctionNode(init) || !init.async) this.nonFunctionExport(d);
      }
      return;
    }
    const fn = unwrapParens(decl);
    if (!isFunctionNode(fn) || !fn.async) this.nonFunctionExport(decl);
  }

  private nonFunctionExport(node: Node): void {
    const kind = this.moduleDirective!;
    this.report(
      "MODULE_DIRECTIVE_NON_FUNCTION_EXPORT",
      "error",
      node.span.start,
      `A file marked "use ${kind}" turns every export into a ${kind}, so each export must be an async function; this one is not.`,
      `Make it an async function, or move it to a file without the module-level "use ${kind}".`,
    );
  }

  private visitDeclaration(decl: Node, ctx: Ctx, statement: Node, exported: boolean): void {
    const statementEnd = this.ix(statement.span.end);
    if (decl.type === "FunctionDeclaration") {
      const name: string = decl.identifier.value;
      this.declareTop(name, ctx);
      this.visitFunction(decl, ctx, {
        hint: name,
        binding: { kind: "statement", ref: name, statementEnd },
        exported,
      });
      return;
    }
    if (decl.type === "ClassDeclaration") {
      const name: string = decl.identifier.value;
      this.declareTop(name, ctx);
      this.visitClass(decl, ctx, name, statementEnd);
      return;
    }
    if (decl.type === "VariableDeclaration") {
      for (const d of decl.declarations) {
        this.bindPattern(d.id, ctx, this.moduleScope);
        this.top[ctx.top]!.names.push(...patternNames(d.id));
        if (!d.init) continue;
        const init = unwrapParens(d.init);
        if (d.id.type === "Identifier" && isFunctionNode(init)) {
          const name: string = d.id.value;
          this.visitFunction(init, ctx, {
            hint: name,
            binding: { kind: "statement", ref: name, statementEnd },
            exported,
          });
        } else if (d.id.type === "Identifier" && init.type === "ClassExpression") {
          this.visitClass(init, ctx, d.id.value, statementEnd);
        } else {
          this.visit(d.init, { ...ctx, container: d.id.type === "Identifier" ? d.id.value : null });
        }
      }
      return;
    }
    if (decl.type === "TsEnumDeclaration" || decl.type === "TsModuleDeclaration") {
      if (decl.id?.type === "Identifier") this.declareTop(decl.id.value, ctx);
      return;
    }
    this.visit(decl, ctx);
  }

  private declareTop(name: string, ctx: Ctx): void {
    this.moduleScope.declare(name);
    this.top[ctx.top]!.names.push(name);
  }

  private visitExportDefault(stmt: Node, ctx: Ctx): void {
    const decl = stmt.decl;
    this.checkModuleDirectiveExport(decl);
    if (decl.type === "FunctionExpression") {
      const statementEnd = this.ix(stmt.span.end);
      const own: string | undefined = decl.identifier?.value;
      if (own) this.declareTop(own, ctx);
      const ref = own ?? pickFreeName("$wf_default", this.moduleScope.names);
      const binding: UnitBinding = { kind: "statement", ref, statementEnd };
      if (!own) {
        const params = findParamList(this.text.text, this.ix(decl.span.start), this.ix(decl.body.span.start));
        if (params) binding.insertName = { at: params.open, name: ref };
      }
      this.visitFunction(decl, ctx, { hint: own ?? "default", binding, exported: true });
      return;
    }
    if (decl.type === "ClassExpression") {
      const own: string | undefined = decl.identifier?.value;
      if (own) this.declareTop(own, ctx);
      this.visitClass(decl, ctx, own ?? "default", own ? this.ix(stmt.span.end) : null);
    }
  }

  // ---- classes -------------------------------------------------------------------------------------

  /**
   * `statementEnd` is where `Class.method` can be referenced after the class exists; null when the class
   * has no usable name at module level (then step methods are reported as unsupported).
   */
  private visitClassNow(node: Node, ctx: Ctx, className: string, statementEnd: number | null): void {
    if (node.superClass) this.visit(node.superClass, ctx);
    for (const d of node.decorators ?? []) this.visit(d, ctx);
    const scope = new Scope(ctx.scope, false, ctx.step, ctx.workflow);
    if (node.identifier) scope.declare(node.identifier.value);
    const inner: Ctx = { ...ctx, scope };
    for (const member of node.body) {
      if (member.type === "ClassMethod" || member.type === "PrivateMethod") {
        if (member.key.type === "Computed") this.visit(member.key.expression, inner);
        const keyName =
          member.key.type === "Identifier"
            ? member.key.value
            : member.key.type === "StringLiteral"
              ? member.key.value
              : null;
        const usable =
          member.type === "ClassMethod" && keyName !== null && statementEnd !== null && ctx.fnDepth === 0;
        const isStatic = !!member.isStatic;
        const name = `${className}${isStatic ? "." : "#"}${keyName ?? "anonymous"}`;
        const ref = isStatic
          ? memberRef(className, keyName ?? "")
          : memberRef(`${className}.prototype`, keyName ?? "");
        const binding: UnitBinding = usable
          ? { kind: "statement", ref, statementEnd: statementEnd! }
          : { kind: "expression" };
        this.visitFunction(member, inner, {
          hint: name,
          binding,
          exported: false,
          className,
          isStatic,
          keyText: this.text.text.slice(this.ix(member.key.span.start), this.ix(member.key.span.end)),
        });
      } else if (member.type === "Constructor") {
        this.visitFunction(member, inner, {
          hint: `${className}#constructor`,
          binding: { kind: "expression" },
          exported: false,
        });
      } else if (member.type === "ClassProperty" || member.type === "PrivateProperty") {
        if (member.key.type === "Computed") this.visit(member.key.expression, inner);
        if (member.value) this.visit(member.value, { ...inner, fnDepth: inner.fnDepth + 1 });
      } else if (member.type === "StaticBlock") {
        this.visitBlock(member.body.stmts, { ...inner, fnDepth: inner.fnDepth + 1 }, true);
      }
    }
  }

  // ---- functions -----------------------------------------------------------------------------------

  private visitFunctionNow(node: Node, ctx: Ctx, info: FunctionInfo): void {
    const fn = node.type === "ClassMethod" || node.type === "PrivateMethod" ? node.function : node;
    const body = fn.body;
    const params: Node[] = fn.params ?? [];
    let unit: Unit | null = null;
    if (body) {
      const block = body.type === "BlockStatement" || body.type === "FunctionBody";
      const prologue = block ? this.readPrologue(body.stmts) : { kind: null, stmt: null };
      let kind = prologue.kind;
      let directiveEnd = prologue.stmt ? this.ix(prologue.stmt.span.end) : this.ix(body.span.start) + 1;
      if (!kind && this.moduleDirective && info.exported && ctx.fnDepth === 0) {
        kind = fn.async ? this.moduleDirective : null;
        directiveEnd = this.ix(body.span.start) + (block ? 1 : 0);
      }
      if (kind) unit = this.makeUnit(kind, node, fn, ctx, info, prologue.stmt, directiveEnd);
      if (unit) unit.expressionBody = !block;
    }

    const scope = new Scope(ctx.scope, true, ctx.step, ctx.workflow);
    const inner: Ctx = {
      scope,
      step: unit?.kind === "step" ? unit : ctx.step,
      workflow: unit?.kind === "workflow" ? unit : ctx.workflow,
      fnDepth: ctx.fnDepth + 1,
      top: ctx.top,
      container: null,
      host: unit || ctx.workflow || ctx.step ? ctx.host : (ctx.host ?? ctx.container ?? info.hint),
    };
    scope.step = inner.step;
    scope.workflow = inner.workflow;
    if (info.selfName) scope.declare(info.selfName);
    for (const p of params) this.bindPattern(paramPattern(p), inner, scope);
    if (!body) return;
    if (body.type === "BlockStatement" || body.type === "FunctionBody")
      this.visitBlock(body.stmts, inner, false);
    else this.visit(body, inner);
  }

  private makeUnit(
    kind: DirectiveKind,
    node: Node,
    fn: Node,
    ctx: Ctx,
    info: FunctionInfo,
    directiveStmt: Node | null,
    directiveEnd: number,
  ): Unit | null {
    const at = directiveStmt?.span.start ?? node.span.start;
    if (!fn.async) {
      this.report(
        "DIRECTIVE_NOT_ASYNC",
        "error",
        at,
        `"use ${kind}" is only allowed in async functions; \`${info.hint}\` is not async.`,
        `Declare it as \`async\` (a ${kind} always returns a promise).`,
      );
      return null;
    }
    if (kind === "workflow" && (ctx.workflow || ctx.step)) {
      this.report(
        "NESTED_WORKFLOW",
        "error",
        at,
        `"use workflow" inside ${ctx.workflow ? `workflow \`${ctx.workflow.name}\`` : `step \`${ctx.step!.name}\``}: workflows cannot be nested.`,
        "Move the inner workflow to module level and start it with start() from a step, or make it a step.",
      );
      return null;
    }
    if (kind === "step" && ctx.step) {
      this.report(
        "UNSUPPORTED_STEP_SHAPE",
        "warning",
        at,
        `"use step" inside step \`${ctx.step.name}\` has no effect: code in a step already runs as that step.`,
        `Remove the inner "use step", or move the function to module level to make it a separate step.`,
      );
      return null;
    }
    const host = kind === "step" && !ctx.workflow && ctx.fnDepth > 0 && ctx.host ? ctx.host : null;
    if (
      kind === "step" &&
      !ctx.workflow &&
      ctx.fnDepth > 0 &&
      info.binding.kind !== "statement" &&
      (!host || node.type === "ClassMethod" || node.type === "MethodProperty")
    ) {
      this.report(
        "NESTED_STEP_OUTSIDE_WORKFLOW",
        "error",
        at,
        host
          ? `Step \`${info.hint}\` is a method of an object or class inside \`${host}\`, a function that is not a workflow, so it cannot get a stable ID.`
          : `Step \`${info.hint}\` is declared in a class field or block that is not a workflow, so it cannot get a stable ID.`,
        host
          ? 'Declare the step at module level, inside a "use workflow" function, or as a function or arrow in this function (its ID is then `<function>/<name>`).'
          : 'Declare the step at module level, as a class method, or inside a "use workflow" function.',
      );
      return null;
    }
    const nested = kind === "step" && ctx.workflow !== null;
    if (node.type === "ClassMethod" && (nested || info.binding.kind !== "statement")) {
      this.report(
        "UNSUPPORTED_STEP_SHAPE",
        "error",
        at,
        `Class method \`${info.hint}\` is a ${kind}, but only methods with a plain name in a module-level class declaration can be.`,
        "Move the class to module level, give the method a plain (non-computed, non-private) name, or use a module-level function.",
      );
      return null;
    }
    if (
      node.type === "PrivateMethod" ||
      node.type === "Constructor" ||
      (kind === "workflow" && node.type === "ClassMethod" && !info.isStatic)
    ) {
      this.report(
        "UNSUPPORTED_STEP_SHAPE",
        "error",
        at,
        `\`${info.hint}\` cannot be a ${kind}: ${kind === "workflow" ? "workflows must be module-level functions or static methods" : "private methods and constructors have no stable address"}.`,
        `Use a module-level async function instead.`,
      );
      return null;
    }

    let name = info.hint;
    if (nested) name = `${ctx.workflow!.name}/${info.hint}`;
    else if (host) name = `${host}/${info.hint}`;
    else if (info.binding.kind !== "statement" && ctx.container && node.type !== "ClassMethod") {
      name = `${ctx.container}/${info.hint}`;
    }
    name = this.uniqueName(kind, name);

    const start = this.ix(node.span.start);
    const bodyStart = this.ix(fn.body.span.start);
    const text = this.text.text;
    const paramsFrom = fn.typeParameters
      ? this.ix(fn.typeParameters.span.end)
      : node.key
        ? this.ix(node.key.span.end)
        : fn.identifier
          ? this.ix(fn.identifier.span.end)
          : start;
    const list = findParamList(text, paramsFrom, bodyStart);
    const params: Node[] = fn.params ?? [];
    const paramsText = list
      ? text.slice(list.open + 1, list.close)
      : params.length
        ? text.slice(this.ix(params[0].span.start), this.ix(params[params.length - 1].span.end))
        : "";

    const binding: UnitBinding =
      nested || host
        ? { kind: "nested" }
        : node.type === "MethodProperty"
          ? {
              kind: "object-method",
              keyText: text.slice(this.ix(node.key.span.start), this.ix(node.key.span.end)),
            }
          : info.binding;
    const unit: Unit = {
      kind,
      name,
      id: kind === "workflow" ? workflowId(this.moduleSpec, name) : stepId(this.moduleSpec, name),
      shape:
        node.type === "ArrowFunctionExpression"
          ? "arrow"
          : node.type === "ClassMethod" || node.type === "MethodProperty"
            ? "method"
            : "function",
      isStatic: !!info.isStatic,
      keyText:
        info.keyText ??
        (node.key ? text.slice(this.ix(node.key.span.start), this.ix(node.key.span.end)) : ""),
      ownName: fn.identifier?.value ?? null,
      generator: !!fn.generator,
      start,
      end: this.ix(node.span.end),
      bodyStart,
      bodyEnd: this.ix(fn.body.span.end),
      expressionBody: false,
      directiveEnd,
      paramsText,
      parent: nested ? ctx.workflow : null,
      host,
      declaration: node.type === "FunctionDeclaration",
      binding,
      closure: [],
      loc: this.text.location(start),
      topIndex: ctx.top,
    };
    this.units.push(unit);
    return unit;
  }

  private uniqueName(kind: DirectiveKind, name: string): string {
    const key = `${kind}:${name}`;
    const seen = this.usedNames.get(key) ?? 0;
    this.usedNames.set(key, seen + 1);
    return seen === 0 ? name : `${name}$${seen + 1}`;
  }

  // ---- the walk ------------------------------------------------------------------------------------

  /**
   * Runs `first` and everything it schedules, depth-first and in source order, on an explicit stack: the
   * syntax tree of valid code can be thousands of levels deep (an operator chain of 10,000 terms is a
   * 10,000-deep tree), far more than the JavaScript call stack allows a recursive walk.
   */
  private drain(first: () => void): void {
    const nodes = this.workNodes;
    const args = this.workArgs;
    this.later(first);
    while (nodes.length > 0) {
      const node = nodes.pop();
      const arg = args.pop()!;
      const mark = nodes.length;
      if (node === null) (arg as () => void)();
      else this.visitNow(node, arg as Ctx);
      // The step scheduled its children in source order; reversed, the first one runs next.
      for (let lo = mark, hi = nodes.length - 1; lo < hi; lo++, hi--) {
        const n = nodes[lo]!;
        nodes[lo] = nodes[hi]!;
        nodes[hi] = n;
        const a = args[lo]!;
        args[lo] = args[hi]!;
        args[hi] = a;
      }
    }
  }

  /** Schedules a step of the walk to run after the current one and before anything scheduled earlier. */
  private later(task: () => void): void {
    this.workNodes.push(null);
    this.workArgs.push(task);
  }

  private visit(node: Node, ctx: Ctx): void {
    if (node && typeof node === "object") {
      this.workNodes.push(node);
      this.workArgs.push(ctx);
    }
  }

  private visitFunction(node: Node, ctx: Ctx, info: FunctionInfo): void {
    this.later(() => this.visitFunctionNow(node, ctx, info));
  }

  private visitClass(node: Node, ctx: Ctx, className: string, statementEnd: number | null): void {
    this.later(() => this.visitClassNow(node, ctx, className, statementEnd));
  }

  private bindPattern(pat: Node, ctx: Ctx, scope: Scope | null): void {
    if (pat) this.later(() => this.bindPatternNow(pat, ctx, scope));
  }

  // ---- statements, expressions and patterns ---------------------------------------------------------

  /** Visits a block's statements in a new scope (`reuse` = the caller already made the function scope). */
  private visitBlock(stmts: Node[], ctx: Ctx, newScope: boolean): void {
    const inner = newScope ? { ...ctx, scope: new Scope(ctx.scope, false, ctx.step, ctx.workflow) } : ctx;
    for (const s of stmts) this.visit(s, inner);
  }

  /** Declares the names a pattern binds in `scope`; default values and computed keys are references. */
  private bindPatternNow(pat: Node, ctx: Ctx, scope: Scope | null): void {
    if (!pat) return;
    switch (pat.type) {
      case "Identifier":
        if (scope) scope.declare(pat.value);
        else this.reference(pat, ctx);
        return;
      case "ArrayPattern":
        for (const el of pat.elements) if (el) this.bindPattern(el, ctx, scope);
        return;
      case "ObjectPattern":
        // One task per property: a property's own declarations must not run ahead of earlier ones' children.
        for (const prop of pat.properties) this.later(() => this.bindProperty(prop, ctx, scope));
        return;
      case "AssignmentPattern":
        this.bindPattern(pat.left, ctx, scope);
        this.visit(pat.right, ctx);
        return;
      case "RestElement":
        this.bindPattern(pat.argument, ctx, scope);
        return;
      case "TsParameterProperty":
        this.bindPattern(pat.param, ctx, scope);
        return;
      default:
        // Assignment targets such as `obj.x` in `[obj.x] = …`.
        this.visit(pat, ctx);
    }
  }

  private bindProperty(prop: Node, ctx: Ctx, scope: Scope | null): void {
    if (prop.type === "KeyValuePatternProperty") {
      if (prop.key.type === "Computed") this.visit(prop.key.expression, ctx);
      this.bindPattern(prop.value, ctx, scope);
    } else if (prop.type === "AssignmentPatternProperty") {
      if (scope) scope.declare(prop.key.value);
      else this.reference(prop.key, ctx);
      if (prop.value) this.visit(prop.value, ctx);
    } else if (prop.type === "RestElement") this.bindPattern(prop.argument, ctx, scope);
  }

  private reference(id: Node, ctx: Ctx): void {
    this.refs.push({
      name: id.value,
      scope: ctx.scope,
      step: ctx.step,
      workflow: ctx.workflow,
      top: ctx.top,
      pos: id.span.start,
    });
  }

  private visitNow(node: Node, ctx: Ctx): void {
    if (Array.isArray(node)) {
      for (const n of node) this.visit(n, ctx);
      return;
    }
    const type: string | undefined = node.type;
    if (ctx.fnDepth === 0 && (type === "AwaitExpression" || (type === "ForOfStatement" && node.await))) {
      const entry = this.top[ctx.top]!;
      entry.awaitAt ??= this.ix(node.span.start);
    }
    switch (type) {
      case "Identifier":
        this.reference(node, ctx);
        return;
      case "FunctionDeclaration": {
        ctx.scope.declare(node.identifier.value);
        this.visitFunction(node, ctx, {
          hint: node.identifier.value,
          binding: { kind: "expression" },
          exported: false,
        });
        return;
      }
      case "FunctionExpression":
        this.visitFunction(node, ctx, {
          hint: node.identifier?.value ?? "anonymous",
          binding: { kind: "expression" },
          exported: false,
          selfName: node.identifier?.value ?? null,
        });
        return;
      case "ArrowFunctionExpression":
        this.visitFunction(node, ctx, {
          hint: "anonymous",
          binding: { kind: "expression" },
          exported: false,
        });
        return;
      case "ClassDeclaration":
        ctx.scope.declare(node.identifier.value);
        this.visitClass(node, ctx, node.identifier.value, null);
        return;
      case "ClassExpression":
        this.visitClass(node, ctx, node.identifier?.value ?? "anonymous", null);
        return;
      case "VariableDeclaration": {
        const target = node.kind === "var" ? ctx.scope.functionScope() : ctx.scope;
        for (const d of node.declarations) {
          this.bindPattern(d.id, ctx, target);
          if (!d.init) continue;
          const init = unwrapParens(d.init);
          if (d.id.type === "Identifier" && isFunctionNode(init)) {
            this.visitFunction(init, ctx, {
              hint: d.id.value,
              binding: { kind: "expression" },
              exported: false,
              selfName: init.identifier?.value ?? null,
            });
          } else this.visit(d.init, ctx);
        }
        return;
      }
      case "BlockStatement":
        this.visitBlock(node.stmts, ctx, true);
        return;
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement": {
        const inner = { ...ctx, scope: new Scope(ctx.scope, false, ctx.step, ctx.workflow) };
        for (const key of ["init", "left", "right", "test", "update", "body"]) {
          const child = node[key];
          if (!child) continue;
          if (key === "left" && child.type !== "VariableDeclaration") this.bindPattern(child, inner, null);
          else this.visit(child, inner);
        }
        return;
      }
      case "CatchClause": {
        const inner = { ...ctx, scope: new Scope(ctx.scope, false, ctx.step, ctx.workflow) };
        if (node.param) this.bindPattern(node.param, inner, inner.scope);
        this.visit(node.body, inner);
        return;
      }
      case "AssignmentExpression":
        // `globalThis.fetch = fetch` is WDK's documented way to hand libraries (the AI SDK) the fetch step:
        // assigning the global is allowed, only reading the host's fetch is refused.
        if (
          node.operator === "=" &&
          node.left.type === "MemberExpression" &&
          node.left.object.type === "Identifier" &&
          GLOBAL_OBJECTS.has(node.left.object.value) &&
          node.left.property.type === "Identifier" &&
          node.left.property.value === "fetch"
        ) {
          this.visit(node.left.object, ctx);
          this.visit(node.right, ctx);
          return;
        }
        break;
      case "MemberExpression":
        if (
          node.property.type !== "Computed" &&
          ctx.workflow &&
          !ctx.step &&
          node.object.type === "Identifier" &&
          GLOBAL_OBJECTS.has(node.object.value)
        ) {
          this.checkGlobalUse(node.property.value, node.property.span.start, ctx.workflow, node.object.value);
        }
        this.visit(node.object, ctx);
        if (node.property.type === "Computed") this.visit(node.property.expression, ctx);
        return;
      case "SuperPropExpression":
        if (node.property.type === "Computed") this.visit(node.property.expression, ctx);
        return;
      case "KeyValueProperty": {
        if (node.key.type === "Computed") this.visit(node.key.expression, ctx);
        const value = unwrapParens(node.value);
        if (isFunctionNode(value)) {
          this.visitFunction(value, ctx, {
            hint: propertyName(node.key),
            binding: { kind: "expression" },
            exported: false,
            selfName: value.identifier?.value ?? null,
          });
        } else this.visit(node.value, ctx);
        return;
      }
      case "MethodProperty":
      case "GetterProperty":
      case "SetterProperty":
        if (node.key.type === "Computed") this.visit(node.key.expression, ctx);
        this.visitFunction(
          type === "MethodProperty"
            ? node
            : { ...node, async: false, params: node.param ? [node.param] : [] },
          ctx,
          { hint: propertyName(node.key), binding: { kind: "expression" }, exported: false },
        );
        return;
      case "ObjectPattern":
      case "ArrayPattern":
      case "AssignmentPattern":
      case "RestElement":
        this.bindPattern(node, ctx, null);
        return;
      case "LabeledStatement":
        this.visit(node.body, ctx);
        return;
      case "BreakStatement":
      case "ContinueStatement":
      case "MetaProperty":
      case "PrivateName":
      case "Import":
      case "Super":
      case "ThisExpression":
        return;
      case "CallExpression":
        if (ctx.workflow && !ctx.step) this.checkDynamicBuiltin(node);
        this.visit(node.callee, ctx);
        this.visit(node.arguments, ctx);
        return;
      case "JSXOpeningElement":
        this.visitJsxName(node.name, ctx);
        for (const attr of node.attributes) {
          if (attr.type === "JSXAttribute") this.visit(attr.value, ctx);
          else this.visit(attr, ctx);
        }
        return;
      case "JSXClosingElement":
        return;
      case "TsEnumDeclaration":
      case "TsModuleDeclaration":
      case "TsImportEqualsDeclaration":
        if (node.id?.type === "Identifier") ctx.scope.declare(node.id.value);
        return;
      case "TsExportAssignment":
        this.visit(node.expression, ctx);
        return;
    }
    if (type && TYPE_WRAPPERS.has(type)) {
      this.visit(node.expression, ctx);
      return;
    }
    if (type?.startsWith("Ts")) return;
    for (const key in node) {
      if (SKIP_KEYS.has(key)) continue;
      const child = node[key];
      if (child && typeof child === "object") this.visit(child, ctx);
    }
  }

  private visitJsxName(name: Node, ctx: Ctx): void {
    if (name.type === "Identifier") {
      // Lower-case JSX names are intrinsic elements (`<div>`), not variables.
      if (!/^[a-z]/.test(name.value)) this.reference(name, ctx);
    } else if (name.type === "JSXMemberExpression") {
      let object = name.object;
      while (object.type === "JSXMemberExpression") object = object.object;
      if (object.type === "Identifier") this.reference(object, ctx);
    }
  }

  // ---- workflow-code checks ------------------------------------------------------------------------

  private checkGlobalUse(name: string, pos: number, workflow: Unit | null, via: string | null): void {
    const shown = via ? `${via}.${name}` : name;
    const where = workflow ? `workflow \`${workflow.name}\`` : "workflow code";
    if (TIMERS.has(name)) {
      this.report(
        "TIMER_IN_WORKFLOW",
        "error",
        pos,
        `\`${shown}\` in ${where}: timers do not survive a replay and are not available in the workflow sandbox.`,
        'Use `await sleep("5s")` from "workflow" for a durable delay, or move the timer into a "use step" function.',
      );
    } else if (name === "fetch") {
      this.report(
        "FETCH_IN_WORKFLOW",
        "error",
        pos,
        `\`${shown}\` in ${where}: the global fetch is not available in the workflow sandbox (its result would not be replayed).`,
        'Use `import { fetch } from "workflow"`, which performs the request as a durable step, or call fetch inside a "use step" function.',
      );
    }
  }

  private checkDynamicBuiltin(call: Node): void {
    const callee = call.callee;
    const isRequire = callee.type === "Identifier" && callee.value === "require";
    if (!isRequire && callee.type !== "Import") return;
    const arg = call.arguments[0]?.expression;
    if (arg?.type !== "StringLiteral" || !isNodeBuiltin(arg.value)) return;
    this.report(
      "NODE_BUILTIN_IN_WORKFLOW",
      "error",
      call.span.start,
      `Node.js built-in "${arg.value}" is loaded in workflow code, which runs in a sandbox without Node.js APIs.`,
      `Move the code that needs "${arg.value}" into a "use step" function and call that step from the workflow.`,
    );
  }

  // ---- references ----------------------------------------------------------------------------------

  /**
   * Resolves every recorded identifier to its scope (after the walk, so hoisted declarations are known):
   * fills nested steps' closures, collects module-scope uses for pruning, and reports timers/fetch used
   * from workflow code. Returns the module-scope names step bodies use.
   */
  private resolveReferences(): Set<string> {
    const stepUses = new Set<string>();
    const closures = new Map<Unit, Set<string>>();
    for (const ref of this.refs) {
      const scope = ref.scope.resolve(ref.name);
      if (scope === null) {
        if (ref.workflow && !ref.step) this.checkGlobalUse(ref.name, ref.pos, ref.workflow, null);
        continue;
      }
      if (scope.isModule) {
        if (ref.step) stepUses.add(ref.name);
        else {
          const entry = this.top[ref.top]!;
          entry.uses.add(ref.name);
          if (ref.workflow) entry.workflowUses.add(ref.name);
        }
        continue;
      }
      const step = ref.step;
      if (
        (step?.parent && scope.workflow === step.parent && scope.step !== step) ||
        (step?.host && scope.step !== step)
      ) {
        let set = closures.get(step);
        if (!set) {
          set = new Set();
          closures.set(step, set);
        }
        set.add(ref.name);
      }
    }
    for (const [unit, names] of closures) unit.closure = [...names];
    return stepUses;
  }
}

function memberRef(object: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${object}.${key}` : `${object}[${JSON.stringify(key)}]`;
}

function unwrapParens(node: Node): Node {
  let n = node;
  while (n && (n.type === "ParenthesisExpression" || TYPE_WRAPPERS.has(n.type))) n = n.expression;
  return n;
}

function isFunctionNode(node: Node): boolean {
  return (
    node?.type === "FunctionExpression" ||
    node?.type === "ArrowFunctionExpression" ||
    node?.type === "FunctionDeclaration"
  );
}

function paramPattern(p: Node): Node {
  return p.type === "Parameter" ? p.pat : p;
}

function propertyName(key: Node): string {
  if (key.type === "Identifier" || key.type === "StringLiteral") return String(key.value);
  if (key.type === "NumericLiteral") return String(key.value);
  return "anonymous";
}

/** Names a binding pattern declares, in source order (iterative: patterns nest as deep as brackets do). */
function patternNames(pat: Node): string[] {
  const out: string[] = [];
  const stack: Node[] = [pat];
  while (stack.length > 0) {
    const p = stack.pop();
    if (!p) continue;
    if (p.type === "Identifier") out.push(p.value);
    else if (p.type === "ArrayPattern")
      for (let i = p.elements.length - 1; i >= 0; i--) stack.push(p.elements[i]);
    else if (p.type === "ObjectPattern") {
      for (let i = p.properties.length - 1; i >= 0; i--) {
        const prop = p.properties[i];
        if (prop.type === "KeyValuePatternProperty") stack.push(prop.value);
        else if (prop.type === "AssignmentPatternProperty") stack.push(prop.key);
        else stack.push(prop.argument);
      }
    } else if (p.type === "AssignmentPattern") stack.push(p.left);
    else if (p.type === "RestElement") stack.push(p.argument);
  }
  return out;
}

function pickFreeName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}${i}`;
  return name;
}

export { pickFreeName };
