import { isMainThread, resourceLimits } from "node:worker_threads";
import { language } from "./parse.js";
import { SourceText } from "./source-text.js";
import type { Diagnostic } from "./types.js";

/**
 * Why this exists: swc's parser (and its serializer and transforms) recurse once per level of nesting on
 * the native stack, and a native stack overflow is a SIGSEGV that kills the whole process — `wf transform`,
 * an app started with `workflow/register`, a Vite dev server, a Next.js build. Nothing can catch it, and
 * running swc on a thread with a bigger stack only moves the limit (any stack overflows on a long enough
 * file), so we measure nesting BEFORE swc sees a file and refuse what would overflow, with a diagnostic.
 *
 * Measured on Node 20 / @swc/core 1.16 (test/bench/compiler/swc-depth.mjs): `parseSync` overflows at
 * ~2,980 nested parentheses on the 8 MB main thread and ~1,480 on a 4 MB worker thread (Node's default for
 * `new Worker`, and the thread `module.register` hooks run on, where `workflow/register` also runs swc's
 * `transformSync`). Other shapes cost swc more or less per level: on a 4 MB worker `transformSync` fails at
 * ~1,040 braceless `if`s, ~1,150 nested tuple types `[[…]]`, ~2,400 nested arrays, ~12,900 `!` and
 * ~29,000 terms of `1 + 1 + …`. So the scan does not count brackets only: it charges every construct at
 * least what it costs swc, in units of one parenthesis level:
 *
 * - 1 per open bracket, brace, `${`, JSX element or JSX `{…}`, per `=>`, per label, per open `<` in
 *   TypeScript (type arguments nest like parentheses);
 * - 2 per `if`/`for`/`while`/`with`/`do` (the body nests without braces); `else` and an `if` right after
 *   `else` 1/8 each;
 * - 1/4 per type operator (`keyof`), 1/8 per prefix operator (`!x`, `typeof`, `await`, `new`, `...`) and
 *   per call, index or tagged template after an expression (`f()()`, `a[0][0]`); 1/16 per other token:
 *   operator chains nest in the syntax tree too. `|` and `&` are free (unions are flat lists).
 *
 * Chains restart where the tree cannot stay nested: expression tokens at `,`, everything at `;`, at a
 * statement that begins on a new line, and after a block. With the limit at 800 units, every shape we
 * measured crashes swc only at ≥ 1.45× the depth we refuse on a 4 MB worker (tuple types; parentheses
 * 1.84×), and at ≥ 2.9× on the main thread. V8 itself compiles up to ~1,070 nested arrow functions, so the
 * output of code under the limit also runs.
 *
 * The scan is one linear pass that skips what cannot nest: strings, template text, comments, regular
 * expressions (told from division by the token before the `/`) and JSX text. Where it can misjudge (a `/`
 * after `)` or `}`), it errs on the side of counting: a "regex" whose groups do not balance is code, and the
 * brackets inside an accepted one still count towards the depth at that point.
 *
 * Hand-written rather than a JavaScript parser from npm: any full parser would itself recurse per level
 * (and parse the file a second time); this needs only tokens.
 */
export const NESTING_LIMIT = 800;

/** Stack Node gives worker threads by default; the limit above was chosen for it. */
const DEFAULT_WORKER_STACK_MB = 4;

/** The limit for the current thread (see `limitForStack`). */
export function nestingLimit(): number {
  return limitForStack(isMainThread ? undefined : resourceLimits.stackSizeMb);
}

/**
 * A worker started with a smaller `resourceLimits.stackSizeMb` than Node's default gets a proportionally
 * smaller limit, since swc overflows proportionally sooner there; the main thread (8 MB on Linux and macOS)
 * and larger workers keep the default, so that a file compiles the same everywhere it can.
 */
export function limitForStack(stackMb: number | undefined): number {
  if (!stackMb || stackMb >= DEFAULT_WORKER_STACK_MB) return NESTING_LIMIT;
  return Math.max(1, Math.floor((NESTING_LIMIT * stackMb) / DEFAULT_WORKER_STACK_MB));
}

export interface NestingOptions {
  typescript: boolean;
  jsx: boolean;
  /** In units of one parenthesis level (default: `nestingLimit()`). */
  limit?: number;
}

/** Where nesting first went over the limit. */
export interface NestingExcess {
  /** String index of the token that went over. */
  index: number;
  /** Open brackets, braces, template placeholders and JSX elements at that token. */
  brackets: number;
  limit: number;
}

// What a token tells the next one.
const AFTER_DOT = 1; // `.`/`?.`: a keyword after it is a property name
const AFTER_ELSE = 2; // `else`: an `if` costs what an `else if` link does
const AFTER_SEMICOLON = 4; // `;`: an `else` continues the statement before it
const AFTER_CONTROL = 8; // `if`/`for`/…: the next `(` is its head

// Costs in 1/16 of a unit, so that the scan adds integers.
const SCALE = 16;
const LEVEL = 16;
const STATEMENT = 32;
const ANGLE = 16;
const ARROW = 16;
const LABEL = 16;
const PREFIX = 2;
const TYPE_OPERATOR = 4;
const CALL = 2;
const ELSE = 2;
const TOKEN = 1;

enum Kind {
  Root,
  Paren,
  Bracket,
  Brace,
  /** `${` … `}` inside a template literal. */
  TemplateExpr,
  /** Template text between backticks. */
  Template,
  /** `<name …` up to `>` or `/>`. */
  JsxTag,
  /** Between `<name …>` and `</name>`. */
  JsxChildren,
  /** `{…}` in JSX. */
  JsxExpr,
}

/** What the previous code token was: decides regex vs division, block vs object, and statement starts. */
enum Prev {
  Start,
  Semicolon,
  /** Operators, `(`, `[`, `,`, `:`, `?`, object `{`, … */
  Punct,
  BlockOpen,
  Arrow,
  Label,
  /** `else`, `do`, `try`, `finally`: a statement follows. */
  BlockKeyword,
  /** Keywords after which an expression follows (`return`, `typeof`, `in`, …). */
  ExprKeyword,
  /** `)` closing the head of `if`/`for`/`while`/`with`/`switch`/`catch`. */
  ControlParen,
  BlockEnd,
  /** An identifier, number or literal keyword. */
  Word,
  /** `)` of a call, grouping or parameter list. */
  Paren,
  /** `]`, a string, template, regex, JSX element, postfix `++`. */
  Value,
  /** `}` of an object literal or object type (`(): { a: T } {` — a body follows a return type). */
  ObjectEnd,
}

interface Level {
  kind: Kind;
  /** Cost of everything enclosing this level, this level's own opener included. */
  base: number;
  /** Statement nesting since the last statement boundary (`if (a) if (b) …`, labels). */
  stmt: number;
  /** Expression tokens since the last `,` or statement boundary. */
  expr: number;
  /** Open `<` in TypeScript (type arguments). */
  angles: number;
  /** `do` statements whose `while (…)` has not come yet. */
  dos: number;
  /** `stmt` before the last `;`, restored when `else` follows (`if (a) x; else if …`). */
  savedStmt: number;
  /** In `type X = …` until the statement ends: `|` and `&` build flat lists there. */
  typeAlias: boolean;
  /** Paren: head of a control statement. Brace: a block (not an object literal or type). */
  flag: boolean;
}

// Word classes, as bit flags: one lookup per word.
const RESERVED = 1; // not an identifier: no label, a `/` after it starts a regex
const STATEMENT_KEYWORD = 2; // `if`/`for`/`while`/`with`: the body nests without braces
const CONTROL = 4; // a parenthesised head follows (`switch`, `catch` too)
const BLOCK_KEYWORD = 8; // `else`/`do`/`try`/`finally`: a statement or block follows
const PREFIX_KEYWORD = 16; // `typeof x`, `await x` …
const TYPE_OPERATOR_KEYWORD = 32; // `keyof T` … (swc recurses deeper per type operator)
const CONTINUATION = 64; // continues the line before it (`a\n instanceof B`, `}\n else`)
const LITERAL = 128; // `this`, `null` …: a value
const TYPE = 256; // `type X = …`
const MODIFIER = 512; // `export`, `declare`: a declaration follows

const WORDS = new Map<string, number>([
  ...["if", "for", "while", "with"].map((w) => [w, RESERVED | STATEMENT_KEYWORD | CONTROL] as const),
  ...["switch", "catch"].map((w) => [w, RESERVED | CONTROL] as const),
  ["else", RESERVED | BLOCK_KEYWORD | CONTINUATION],
  ["do", RESERVED | BLOCK_KEYWORD],
  ["try", RESERVED | BLOCK_KEYWORD],
  ["finally", RESERVED | BLOCK_KEYWORD | CONTINUATION],
  ...["typeof", "void", "delete", "await", "new", "yield"].map(
    (w) => [w, RESERVED | PREFIX_KEYWORD] as const,
  ),
  ...["keyof", "infer", "unique", "readonly"].map((w) => [w, RESERVED | TYPE_OPERATOR_KEYWORD] as const),
  ...["in", "of", "instanceof", "extends"].map((w) => [w, RESERVED | CONTINUATION] as const),
  ...["as", "satisfies", "implements", "is"].map((w) => [w, CONTINUATION] as const),
  ...["this", "super", "null", "true", "false"].map((w) => [w, RESERVED | LITERAL] as const),
  ["export", RESERVED | MODIFIER],
  ["declare", MODIFIER],
  ["type", TYPE],
  ...[
    "return",
    "throw",
    "case",
    "default",
    "import",
    "const",
    "let",
    "var",
    "class",
    "function",
    "break",
    "continue",
    "debugger",
  ].map((w) => [w, RESERVED] as const),
]);
const LONGEST_WORD = 10;
/** What follows `type` in a type alias: a name, then `=` or type parameters. */
const TYPE_ALIAS = /^\s+[A-Za-z_$][\w$]*\s*[=<]/;
/** Words by a hash computed while scanning, so that identifiers are never sliced out of the source. */
const WORDS_BY_HASH = new Map<number, [string, number]>();
/** One bit per hash modulo 1,024: most identifiers are told apart from every known word without a lookup. */
const WORD_HASH_BITS = new Uint32Array(32);
for (const [word, flags] of WORDS) {
  const hash = hashWord(word, 0, word.length);
  WORDS_BY_HASH.set(hash, [word, flags]);
  WORD_HASH_BITS[(hash >>> 5) & 31]! |= 1 << (hash & 31);
}

function hashWord(text: string, from: number, to: number): number {
  let hash = 0;
  for (let j = from; j < to; j++) hash = (hash * 31 + text.charCodeAt(j)) | 0;
  return hash;
}

export function findExcessiveNesting(source: string, options: NestingOptions): NestingExcess | null {
  return new NestingScan(source, options).run();
}

/**
 * `NESTING_TOO_DEEP` for a file swc must not parse, or null. Run it before handing any source file to
 * swc; `transform` does for files with a directive.
 */
export function checkNesting(source: string, filename: string, limit?: number): Diagnostic | null {
  const excess = findExcessiveNesting(source, { ...language(filename), limit });
  if (!excess) return null;
  const { line, column } = new SourceText(source).location(excess.index);
  return {
    code: "NESTING_TOO_DEEP",
    severity: "error",
    message:
      `Code here is nested more than ${excess.limit} levels deep (counting ${excess.brackets} open brackets, ` +
      "braces, template placeholders or JSX elements, plus operator chains and braceless if/for/while " +
      "bodies): the parser (swc) would overflow its stack on it and crash the process.",
    file: filename,
    line,
    column,
    hint:
      "Split the expression or statement: give inner parts their own variables or functions, use a lookup " +
      "table or braces instead of very long else-if or operator chains, or load deeply nested data from a " +
      'JSON file. See "Nesting limit" in the @wfkit/compiler README.',
  };
}

class NestingScan {
  private readonly limit: number;
  private readonly levels: Level[] = [];
  private depth = 0;
  private i = 0;
  private prev: Prev = Prev.Start;
  /** A line break since the previous code token (for statements without semicolons). */
  private newline = false;
  /** The previous token was `.` or `?.`: a keyword after it is a property name. */
  /**
   * What the previous token leaves for the next one, as `AFTER_*` bits: one field, read and cleared once
   * per token.
   */
  private after = 0;
  /** Inside `case …:` of this level, with this many `?` waiting for their `:`. */
  private caseLevel: Level | null = null;
  private caseTernaries = 0;
  /** The previous word was `export` or `declare`. */
  private afterModifier = false;
  /** The next token is a member of a union or intersection type: free. */
  private freeNext = false;
  private excess: NestingExcess | null = null;

  constructor(
    private readonly src: string,
    private readonly options: NestingOptions,
  ) {
    this.limit = (options.limit ?? nestingLimit()) * SCALE;
    this.levels.push(newLevel(Kind.Root, 0, false));
  }

  run(): NestingExcess | null {
    const src = this.src;
    if (src.startsWith("#!")) this.i = lineEnd(src, 0);
    while (this.i < src.length && !this.excess) {
      const kind = this.top().kind;
      if (kind === Kind.Template) this.templateText();
      else if (kind === Kind.JsxTag) this.jsxTag();
      else if (kind === Kind.JsxChildren) this.jsxChildren();
      else this.codeToken();
    }
    return this.excess;
  }

  // ---- levels and costs ------------------------------------------------------------------------------

  private top(): Level {
    return this.levels[this.depth]!;
  }

  private cost(level: Level = this.top()): number {
    return level.base + level.stmt + level.expr + level.angles * ANGLE + level.dos * STATEMENT;
  }

  private check(at: number, extra = 0): void {
    if (this.cost() + extra > this.limit && !this.excess) this.overLimit(at);
  }

  // Kept apart from `check`, which runs for every token: small hot functions compile quickly.
  private overLimit(at: number): void {
    let brackets = 0;
    for (let d = 1; d <= this.depth; d++) if (this.levels[d]!.kind !== Kind.Template) brackets++;
    this.excess = { index: at, brackets, limit: this.limit / SCALE };
  }

  private push(kind: Kind, flag: boolean, at: number): void {
    this.freeNext = false;
    const base = this.cost() + (kind === Kind.Template ? 0 : LEVEL);
    this.depth++;
    const level = this.levels[this.depth];
    if (level) resetLevel(level, kind, base, flag);
    else this.levels.push(newLevel(kind, base, flag));
    this.check(at);
  }

  private pop(): Level {
    return this.levels[this.depth--]!;
  }

  /** Counts a token of the current level. */
  private add(weight: number, at: number): void {
    if (this.freeNext) this.freeNext = false;
    else this.top().expr += weight;
    this.check(at);
  }

  /** A statement ended: chains restart (open `do`s stay until their `while`). */
  private statementBoundary(): void {
    const level = this.top();
    level.savedStmt = 0;
    level.stmt = 0;
    level.expr = 0;
    level.angles = 0;
    level.typeAlias = false;
  }

  private get valueBefore(): boolean {
    const p = this.prev;
    return p === Prev.Word || p === Prev.Paren || p === Prev.Value || p === Prev.ObjectEnd;
  }

  private get statementStart(): boolean {
    const p = this.prev;
    return (
      p === Prev.Start ||
      p === Prev.Semicolon ||
      p === Prev.BlockOpen ||
      p === Prev.Label ||
      p === Prev.BlockKeyword ||
      p === Prev.ControlParen ||
      p === Prev.BlockEnd
    );
  }

  /**
   * Before a token that can begin a statement: a line break after a complete expression, or anything
   * after a block, ends the statement (automatic semicolon insertion, or a new statement after `}`).
   */
  private maybeNewStatement(): void {
    if (this.prev === Prev.BlockEnd || (this.newline && this.valueBefore)) {
      this.statementBoundary();
      this.prev = Prev.Semicolon;
    }
  }

  // ---- code ------------------------------------------------------------------------------------------

  private codeToken(): void {
    const src = this.src;
    const at = this.i;
    const c = src.charCodeAt(at);
    if (c < 0x80 ? ASCII[c]! & SPACE : isSpace(c)) {
      let j = at;
      for (let w = c; w < 0x80 ? ASCII[w]! & SPACE : isSpace(w); w = src.charCodeAt(++j)) {
        if (w === 0x0a || w === 0x0d || w === 0x2028 || w === 0x2029) this.newline = true;
      }
      this.i = j;
      return;
    }
    if (c === 0x2f /* / */) {
      const next = src.charCodeAt(at + 1);
      if (next === 0x2f) {
        this.i = lineEnd(src, at);
        return;
      }
      if (next === 0x2a /* * */) {
        const close = src.indexOf("*/", at + 2);
        const end = close === -1 ? src.length : close + 2;
        if (/[\n\r\u2028\u2029]/.test(src.slice(at, end))) this.newline = true;
        this.i = end;
        return;
      }
    }

    const after = this.after;
    this.after = 0;

    if (isIdentifierStart(c)) {
      this.word(at, after);
    } else if (c >= 0x30 && c <= 0x39) {
      this.maybeNewStatement();
      this.i = numberEnd(src, at);
      this.prev = Prev.Word;
      this.add(TOKEN, at);
    } else if (c === 0x2e /* . */ && isDigit(src.charCodeAt(at + 1))) {
      this.i = numberEnd(src, at);
      this.prev = Prev.Word;
      this.add(TOKEN, at);
    } else if (c === 0x22 || c === 0x27 /* " ' */) {
      this.maybeNewStatement();
      this.i = stringEnd(src, at);
      this.prev = Prev.Value;
      this.add(TOKEN, at);
    } else if (c === 0x60 /* ` */) {
      // After a value it is a tagged template: a call.
      this.add(this.valueBefore ? CALL : TOKEN, at);
      this.i = at + 1;
      this.push(Kind.Template, false, at);
    } else {
      this.punctuator(c, at, (after & AFTER_CONTROL) !== 0);
    }
    this.newline = false;
  }

  private word(at: number, after: number) {
    const src = this.src;
    let end = at;
    let hash = 0;
    // The character tests are written out: this loop runs for most characters of a file, often before V8
    // has optimized it, and a call per character is what an unoptimized loop spends its time on.
    for (let ch = src.charCodeAt(end); ch < 0x80 ? ASCII[ch]! & ID_PART : ch >= 0x80 && !isSpace(ch); ) {
      hash = (hash * 31 + ch) | 0;
      ch = src.charCodeAt(++end);
    }
    this.i = end;
    if (
      !(after & AFTER_DOT) &&
      end - at <= LONGEST_WORD &&
      WORD_HASH_BITS[(hash >>> 5) & 31]! & (1 << (hash & 31))
    ) {
      const known = WORDS_BY_HASH.get(hash);
      if (known && known[0].length === end - at && src.startsWith(known[0], at)) {
        this.keyword(at, end, known[0], known[1], after);
        return;
      }
    }
    // An identifier or a property name.
    this.maybeNewStatement();
    this.afterModifier = false;
    if (this.statementStart && !(after & AFTER_DOT) && followedByColon(src, end)) this.label(at, end);
    else {
      this.prev = Prev.Word;
      this.add(TOKEN, at);
    }
  }

  private label(at: number, end: number): void {
    const level = this.top();
    if (level.kind === Kind.Paren) {
      this.prev = Prev.Word;
      this.add(TOKEN, at);
      return;
    }
    level.stmt += LABEL;
    this.i = this.src.indexOf(":", end) + 1;
    this.prev = Prev.Label;
    this.check(at);
  }

  private keyword(at: number, end: number, text: string, flags: number, after: number): void {
    const src = this.src;
    const level = this.top();
    if (text === "while" && level.dos > 0 && (this.prev === Prev.Semicolon || this.prev === Prev.BlockEnd)) {
      // The `while (…)` that closes a `do` statement.
      level.dos--;
      this.after = AFTER_CONTROL;
      this.prev = Prev.BlockKeyword;
      this.add(TOKEN, at);
      return;
    }
    if (!(flags & CONTINUATION)) this.maybeNewStatement();

    if (text === "default" && followedByColon(src, end)) {
      // `default:` in a switch: a new clause, the statements after it start afresh.
      this.statementBoundary();
      this.i = src.indexOf(":", end) + 1;
      this.prev = Prev.Label;
      return;
    }
    const afterModifier = this.afterModifier;
    this.afterModifier = (flags & MODIFIER) !== 0;
    if (
      flags & TYPE &&
      (this.statementStart || afterModifier) &&
      TYPE_ALIAS.test(src.slice(end, end + 200))
    ) {
      level.typeAlias = true;
    }
    if (!(flags & RESERVED) || followedByColon(src, end)) {
      // A contextual word used as a name (`type`, `as` …), or a keyword used as a key (`{ if: 1 }`).
      if (!(flags & RESERVED) && this.statementStart && followedByColon(src, end)) this.label(at, end);
      else {
        this.prev = Prev.Word;
        this.add(TOKEN, at);
      }
      return;
    }

    if (flags & LITERAL) {
      this.prev = Prev.Word;
      this.add(TOKEN, at);
      return;
    }
    if (text === "else") {
      if (after & AFTER_SEMICOLON) level.stmt = level.savedStmt;
      level.stmt += ELSE;
      this.after = AFTER_ELSE;
      this.prev = Prev.BlockKeyword;
      this.check(at);
      return;
    }
    if (text === "do") {
      level.dos++;
      this.prev = Prev.BlockKeyword;
      this.check(at);
      return;
    }
    if (flags & CONTROL) {
      if (flags & STATEMENT_KEYWORD) level.stmt += after & AFTER_ELSE && text === "if" ? ELSE : STATEMENT;
      this.after = AFTER_CONTROL;
      this.prev = Prev.ExprKeyword;
      this.check(at);
      return;
    }
    if (text === "await" && after & AFTER_CONTROL) this.after = AFTER_CONTROL; // `for await (`
    if (text === "case") {
      this.statementBoundary();
      this.caseLevel = level;
      this.caseTernaries = 0;
    }
    this.prev = flags & BLOCK_KEYWORD ? Prev.BlockKeyword : Prev.ExprKeyword;
    this.add(flags & PREFIX_KEYWORD ? PREFIX : flags & TYPE_OPERATOR_KEYWORD ? TYPE_OPERATOR : TOKEN, at);
  }

  private punctuator(c: number, at: number, control: boolean): void {
    const src = this.src;
    const next = src.charCodeAt(at + 1);
    const level = this.top();
    switch (c) {
      case 0x28: // (
      case 0x5b: {
        // [
        const call = this.valueBefore;
        if (call) this.add(CALL, at);
        this.i = at + 1;
        this.prev = Prev.Punct;
        this.push(c === 0x28 ? Kind.Paren : Kind.Bracket, control && c === 0x28, at);
        return;
      }
      case 0x7b: {
        // {
        this.maybeNewStatementBeforeBlock();
        const block = this.braceIsBlock();
        this.i = at + 1;
        this.prev = block ? Prev.BlockOpen : Prev.Punct;
        this.push(Kind.Brace, block, at);
        return;
      }
      case 0x29: // )
      case 0x5d: {
        // ]
        this.i = at + 1;
        const want = c === 0x29 ? Kind.Paren : Kind.Bracket;
        if (level.kind !== want) return; // unbalanced: swc reports it
        const closed = this.pop();
        this.prev = closed.flag ? Prev.ControlParen : c === 0x29 ? Prev.Paren : Prev.Value;
        return;
      }
      case 0x7d: {
        // }
        this.i = at + 1;
        if (level.kind === Kind.Brace) {
          const closed = this.pop();
          this.prev = closed.flag ? Prev.BlockEnd : Prev.ObjectEnd;
        } else if (level.kind === Kind.TemplateExpr) {
          this.pop(); // back in the template text
        } else if (level.kind === Kind.JsxExpr) {
          this.pop(); // back in a JSX tag or JSX children
        }
        return;
      }
      case 0x3b: {
        // ;
        this.i = at + 1;
        const stmt = level.stmt;
        this.statementBoundary();
        level.savedStmt = stmt;
        this.after = AFTER_SEMICOLON;
        this.prev = Prev.Semicolon;
        return;
      }
      case 0x2c: // ,
        this.i = at + 1;
        level.expr = 0;
        this.prev = Prev.Punct;
        return;
      case 0x2f: {
        // /
        if (!this.valueBefore) {
          const regex = scanRegex(src, at);
          if (regex) {
            this.maybeNewStatement();
            this.i = regex.end;
            this.prev = Prev.Value;
            this.add(TOKEN, at);
            // If this was a division after all, the brackets it skipped were code: count them here.
            this.check(at, regex.peak * LEVEL);
            return;
          }
        }
        this.i = at + (next === 0x3d ? 2 : 1);
        this.prev = Prev.Punct;
        this.add(TOKEN, at);
        return;
      }
      case 0x3c: {
        // <
        if (this.options.jsx && !this.valueBefore && startsJsxElement(src, at, this.options.typescript)) {
          this.maybeNewStatement();
          this.add(TOKEN, at);
          this.i = at + 1;
          this.push(Kind.JsxTag, false, at);
          return;
        }
        let run = 1;
        while (src.charCodeAt(at + run) === 0x3c) run++;
        const assignOrCompare = src.charCodeAt(at + run) === 0x3d;
        this.i = at + run + (assignOrCompare ? 1 : 0);
        this.prev = Prev.Punct;
        if (this.options.typescript && !assignOrCompare) level.angles += run;
        this.add(TOKEN, at);
        return;
      }
      case 0x3e: {
        // >
        let run = 1;
        while (src.charCodeAt(at + run) === 0x3e) run++;
        const assignOrCompare = src.charCodeAt(at + run) === 0x3d;
        this.i = at + run + (assignOrCompare ? 1 : 0);
        const closesTypeArguments = !assignOrCompare && level.angles > 0;
        if (!assignOrCompare) level.angles = Math.max(0, level.angles - run);
        // After type arguments comes what follows a name (`f<T>(x)` is a call, `(): Promise<T> {` a
        // body); after a comparison, an operand (`a > /re/.exec(s)`).
        this.prev = closesTypeArguments ? Prev.Word : Prev.Punct;
        this.add(TOKEN, at);
        return;
      }
      case 0x3d: // =
        if (next === 0x3e) {
          this.i = at + 2;
          this.prev = Prev.Arrow;
          this.add(ARROW, at);
          return;
        }
        break;
      case 0x2e: // .
        if (next === 0x2e && src.charCodeAt(at + 2) === 0x2e) {
          this.i = at + 3;
          this.prev = Prev.Punct;
          this.add(PREFIX, at);
          return;
        }
        this.i = at + 1;
        this.after = AFTER_DOT;
        this.prev = Prev.Punct;
        this.add(TOKEN, at);
        return;
      case 0x3a: // :
        if (this.caseLevel === level && this.caseTernaries-- === 0) {
          // The end of `case …:`: statements (and labels, blocks) follow.
          this.caseLevel = null;
          this.i = at + 1;
          this.prev = Prev.Label;
          return;
        }
        break;
      case 0x3f: // ?
        if (next === 0x2e && !isDigit(src.charCodeAt(at + 2))) {
          this.i = at + 2;
          this.after = AFTER_DOT;
          this.prev = Prev.Punct;
          this.add(PREFIX, at);
          return;
        }
        if (next === 0x3f) {
          level.angles = 0;
          this.i = at + (src.charCodeAt(at + 2) === 0x3d ? 3 : 2);
          this.prev = Prev.Punct;
          this.add(TOKEN, at);
          return;
        }
        if (this.caseLevel === level) this.caseTernaries++;
        break;
      case 0x26: // &
      case 0x7c: // |
        if (next === c) {
          // `&&` and `||` never occur inside type arguments: a `<` before them was a comparison.
          level.angles = 0;
          this.i = at + (src.charCodeAt(at + 2) === 0x3d ? 3 : 2);
          this.prev = Prev.Punct;
          this.add(TOKEN, at);
          return;
        }
        if (next !== 0x3d) {
          // Free: union and intersection types are flat lists in swc's tree, and a bitwise chain
          // `a | b | …` is paid for by its operands; in a type alias, so is the operand.
          this.i = at + 1;
          this.prev = Prev.Punct;
          this.freeNext = level.typeAlias;
          return;
        }
        break;
      case 0x2b: // +
      case 0x2d: // -
        if (next === c) {
          // `++`/`--`: postfix after a value on the same line, else prefix (a line break ends the statement).
          this.i = at + 2;
          if (this.valueBefore && !this.newline) {
            this.prev = Prev.Value;
            this.add(TOKEN, at);
          } else {
            this.maybeNewStatement();
            this.prev = Prev.Punct;
            this.add(PREFIX, at);
          }
          return;
        }
        this.i = at + (next === 0x3d ? 2 : 1);
        this.add(this.valueBefore ? TOKEN : PREFIX, at);
        this.prev = Prev.Punct;
        return;
      case 0x21: // !
        if (this.valueBefore && next !== 0x3d && !this.newline) {
          // TypeScript's non-null assertion `x!`.
          this.i = at + 1;
          this.prev = Prev.Value;
          this.add(PREFIX, at);
          return;
        }
        if (next !== 0x3d) {
          this.maybeNewStatement();
          this.i = at + 1;
          this.prev = Prev.Punct;
          this.add(PREFIX, at);
          return;
        }
        break;
      case 0x7e: // ~
        this.maybeNewStatement();
        this.i = at + 1;
        this.prev = Prev.Punct;
        this.add(PREFIX, at);
        return;
      case 0x40: // @ (decorator)
        this.maybeNewStatement();
        break;
    }
    // Any other operator: `*`, `**`, `%`, `^`, `|`, `&`, `=`, `==`, `!=`, `:`, `?`, `@` … with their `=` forms.
    let end = at + 1;
    if (c === 0x2a && src.charCodeAt(end) === 0x2a) end++;
    const takesEquals = c !== 0x3a && c !== 0x3f && c !== 0x40;
    while (takesEquals && end - at < 3 && src.charCodeAt(end) === 0x3d) end++;
    this.i = end;
    this.prev = Prev.Punct;
    this.add(TOKEN, at);
  }

  /** `}` then `{` on the next statement, or a block after a complete line. */
  private maybeNewStatementBeforeBlock(): void {
    if (this.prev === Prev.BlockEnd) {
      this.statementBoundary();
      this.prev = Prev.Semicolon;
    }
  }

  /**
   * A `{` opens a block after a statement boundary, `)` (`if (…) {`, `function f() {`, a method), `=>`, an
   * identifier (`class A {`, a TypeScript return type, `interface I {`) or `else`/`do`/`try`/`finally`;
   * elsewhere (after an operator, `(`, `,`, `:`, `return` …) it is an object literal or object type.
   */
  private braceIsBlock(): boolean {
    const p = this.prev;
    return (
      this.statementStart || p === Prev.Arrow || p === Prev.Word || p === Prev.Paren || p === Prev.ObjectEnd
    );
  }

  // ---- template literals -----------------------------------------------------------------------------

  private templateText(): void {
    const src = this.src;
    let j = this.i;
    while (j < src.length) {
      const c = src.charCodeAt(j);
      if (c === 0x5c /* \ */) {
        j += 2;
      } else if (c === 0x60 /* ` */) {
        this.pop();
        this.i = j + 1;
        this.prev = Prev.Value;
        return;
      } else if (c === 0x24 /* $ */ && src.charCodeAt(j + 1) === 0x7b) {
        this.i = j + 2;
        this.prev = Prev.Punct;
        this.push(Kind.TemplateExpr, false, j);
        return;
      } else j++;
    }
    this.i = src.length; // unterminated: swc reports it
  }

  // ---- JSX -------------------------------------------------------------------------------------------

  /** Inside `<name …`: attributes until `>` (children follow) or `/>`. */
  private jsxTag(): void {
    const src = this.src;
    let j = this.i;
    // Type arguments right after the name (`<List<Item> items={…} />`) are skipped as a balanced unit.
    while (j < src.length) {
      const c = src.charCodeAt(j);
      if (c === 0x3e /* > */) {
        this.top().kind = Kind.JsxChildren;
        this.i = j + 1;
        return;
      }
      if (c === 0x2f /* / */ && src.charCodeAt(j + 1) === 0x3e) {
        this.pop();
        this.i = j + 2;
        this.afterJsxElement();
        return;
      }
      if (c === 0x7b /* { */) {
        this.enterJsx(Kind.JsxExpr, j);
        return;
      }
      if (c === 0x22 || c === 0x27) {
        // JSX attribute strings have no escapes and may span lines.
        const close = src.indexOf(src[j]!, j + 1);
        j = close === -1 ? src.length : close + 1;
        continue;
      }
      if (c === 0x3c /* < */) {
        if (this.options.typescript && src.charCodeAt(j - 1) !== 0x3d && !/\s/.test(src[j - 1] ?? "")) {
          j = skipAngles(src, j);
          continue;
        }
        // An element as an attribute value (`<a b=<c /> />`).
        this.enterJsx(Kind.JsxTag, j);
        return;
      }
      j++;
    }
    this.i = src.length;
  }

  /** JSX text: `{…}` expressions, child elements and the closing tag; quotes and slashes are text. */
  private jsxChildren(): void {
    const src = this.src;
    let j = this.i;
    while (j < src.length) {
      const c = src.charCodeAt(j);
      if (c === 0x7b /* { */) {
        this.enterJsx(Kind.JsxExpr, j);
        return;
      }
      if (c === 0x3c /* < */) {
        let k = j + 1;
        while (k < src.length && isSpace(src.charCodeAt(k))) k++;
        if (src.charCodeAt(k) === 0x2f /* / */) {
          const close = src.indexOf(">", k);
          this.pop();
          this.i = close === -1 ? src.length : close + 1;
          this.afterJsxElement();
          return;
        }
        this.enterJsx(Kind.JsxTag, j);
        return;
      }
      j++;
    }
    this.i = src.length;
  }

  /** Opens `{` (an expression) or `<` (an element) at `at` inside JSX. */
  private enterJsx(kind: Kind.JsxExpr | Kind.JsxTag, at: number): void {
    this.i = at + 1;
    this.prev = Prev.Punct;
    this.push(kind, false, at);
  }

  /** After an element closes: a value in code, or more of the enclosing JSX. */
  private afterJsxElement(): void {
    this.prev = Prev.Value;
    this.newline = false;
  }
}

// ---- characters ------------------------------------------------------------------------------------------

function newLevel(kind: Kind, base: number, flag: boolean): Level {
  return { kind, base, stmt: 0, expr: 0, angles: 0, dos: 0, savedStmt: 0, typeAlias: false, flag };
}

function resetLevel(level: Level, kind: Kind, base: number, flag: boolean): void {
  level.kind = kind;
  level.base = base;
  level.stmt = 0;
  level.expr = 0;
  level.angles = 0;
  level.dos = 0;
  level.savedStmt = 0;
  level.typeAlias = false;
  level.flag = flag;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x80) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** ASCII character classes, looked up rather than compared: the scan's inner loops test every character. */
const ID_START = 1;
const ID_PART = 2;
const SPACE = 4;
const ASCII = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const start =
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    c === 0x5f ||
    c === 0x24 ||
    c === 0x5c || // \u escape
    c === 0x23; // #private
  ASCII[c] = (start ? ID_START | ID_PART : 0) | (isDigit(c) ? ID_PART : 0) | (isSpace(c) ? SPACE : 0);
}

// Past the end of the source `charCodeAt` gives NaN, which is neither below nor at/above 0x80: false.
function isIdentifierStart(c: number): boolean {
  return c < 0x80 ? (ASCII[c]! & ID_START) !== 0 : c >= 0x80 && !isSpace(c);
}

function isIdentifierPart(c: number): boolean {
  return c < 0x80 ? (ASCII[c]! & ID_PART) !== 0 : c >= 0x80 && !isSpace(c);
}

function lineEnd(src: string, from: number): number {
  for (let j = from; j < src.length; j++) if (isLineTerminator(src.charCodeAt(j))) return j;
  return src.length;
}

function numberEnd(src: string, at: number): number {
  const radix = src.charCodeAt(at) === 0x30 && /[xXbBoO]/.test(src[at + 1] ?? "");
  let j = at + 1;
  while (j < src.length) {
    const c = src.charCodeAt(j);
    if (isIdentifierPart(c) || c === 0x2e) j++;
    else if ((c === 0x2b || c === 0x2d) && !radix && /[eE]/.test(src[j - 1]!)) j++;
    else break;
  }
  return j;
}

/** Past the closing quote; an unterminated string ends at the line break (swc reports it). */
function stringEnd(src: string, at: number): number {
  const quote = src.charCodeAt(at);
  let j = at + 1;
  while (j < src.length) {
    const c = src.charCodeAt(j);
    if (c === quote) return j + 1;
    if (c === 0x5c) {
      j += src.charCodeAt(j + 1) === 0x0d && src.charCodeAt(j + 2) === 0x0a ? 3 : 2;
      continue;
    }
    if (c === 0x0a || c === 0x0d) return j;
    j++;
  }
  return j;
}

/**
 * A regex literal at `at`, or null when it cannot be one: no closing `/` on the line, or unbalanced groups
 * (then the `/` was a division). `peak` is how deep `(`, `[` and `{` nest inside it, counted as if it were
 * code, so that misjudging a division as a regex cannot hide nesting.
 */
function scanRegex(src: string, at: number): { end: number; peak: number } | null {
  let j = at + 1;
  let inClass = false;
  let groups = 0;
  // The brackets read as code: swc would stop at the first closer that does not match.
  const asCode: number[] = [];
  let mismatched = false;
  let peak = 0;
  while (j < src.length) {
    const c = src.charCodeAt(j);
    if (isLineTerminator(c)) return null;
    if (c === 0x5c) {
      if (isLineTerminator(src.charCodeAt(j + 1))) return null;
      j += 2;
      continue;
    }
    if (!mismatched) {
      if (c === 0x28 || c === 0x5b || c === 0x7b) peak = Math.max(peak, asCode.push(c));
      else if (c === 0x29 || c === 0x5d || c === 0x7d) mismatched = asCode.pop() !== openerOf(c);
    }
    if (inClass) {
      if (c === 0x5d) inClass = false;
    } else if (c === 0x5b) inClass = true;
    else if (c === 0x28) groups++;
    else if (c === 0x29 && --groups < 0) return null;
    else if (c === 0x2f) {
      if (groups !== 0) return null;
      j++;
      while (j < src.length && isIdentifierPart(src.charCodeAt(j))) j++;
      return { end: j, peak };
    }
    j++;
  }
  return null;
}

function openerOf(c: number): number {
  return c === 0x29 ? 0x28 : c === 0x5d ? 0x5b : 0x7b;
}

/** `word` followed (after spaces) by a single `:` — a label or an object key. */
function followedByColon(src: string, end: number): boolean {
  let j = end;
  while (j < src.length && isSpace(src.charCodeAt(j))) j++;
  return src.charCodeAt(j) === 0x3a && src.charCodeAt(j + 1) !== 0x3a;
}

/**
 * `<` in expression position starts JSX when a name or `>` (fragment) follows — except TypeScript's
 * generic arrows, which a .tsx file must write `<T,>` or `<T extends …>`.
 */
function startsJsxElement(src: string, at: number, typescript: boolean): boolean {
  const next = src.charCodeAt(at + 1);
  if (next === 0x3e) return true;
  if (!isIdentifierStart(next) || next === 0x23 || next === 0x5c) return false;
  if (!typescript) return true;
  let j = at + 2;
  while (j < src.length && isIdentifierPart(src.charCodeAt(j))) j++;
  while (j < src.length && isSpace(src.charCodeAt(j))) j++;
  if (src.charCodeAt(j) === 0x2c) return false;
  return !(src.startsWith("extends", j) && !isIdentifierPart(src.charCodeAt(j + 7)));
}

/** Past a balanced `<…>` (JSX type arguments). */
function skipAngles(src: string, at: number): number {
  let depth = 0;
  for (let j = at; j < src.length; j++) {
    const c = src.charCodeAt(j);
    if (c === 0x3c) depth++;
    else if (c === 0x3e && --depth === 0) return j + 1;
  }
  return src.length;
}
