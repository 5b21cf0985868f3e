import type { Unit } from "./analyze.js";

/**
 * A lexical scope: the names it binds, whether it is a function (or module) scope that `var` hoists to,
 * and which workflow/step function it lies in (to tell which variables a nested step closes over).
 */
export class Scope {
  readonly names = new Set<string>();

  constructor(
    readonly parent: Scope | null,
    readonly isFunction: boolean,
    public step: Unit | null,
    public workflow: Unit | null,
  ) {}

  get isModule(): boolean {
    return this.parent === null;
  }

  declare(name: string): void {
    this.names.add(name);
  }

  /** The nearest enclosing scope `var` declarations belong to. */
  functionScope(): Scope {
    let s: Scope = this;
    while (!s.isFunction && s.parent) s = s.parent;
    return s;
  }

  /** The scope that binds `name`, or null for a global. */
  resolve(name: string): Scope | null {
    for (let s: Scope | null = this; s; s = s.parent) if (s.names.has(name)) return s;
    return null;
  }
}
