/**
 * The nesting limit of serialized values. devalue walks values (and revives them) recursively, so a deep enough
 * value overflows the stack, at a depth that depends on how much stack the caller already uses: a value could
 * be accepted by `start()` in application code and then fail to revive inside a run. Both directions therefore
 * enforce one documented limit, far below what either needs: serialize refuses a value nested deeper (naming
 * the path), and deserialize refuses data nested deeper before it recurses any further.
 *
 * Depth counts objects inside objects: a value that is itself an object is at level 1, its object-valued
 * properties (array items, Map keys and values, Set items, an error's data …) at level 2, and so on.
 */
export const MAX_DEPTH = 1000;

export const DEPTH_HINT =
  "Flatten the data (for example a linked list into an array), or keep it in storage and pass an ID instead";

export function depthProblem(): string {
  return `the value is nested more than ${MAX_DEPTH} levels deep, the limit for values that cross the workflow boundary`;
}

export const TOO_DEEP = 0;
export const KNOWN = 1;
export const NEW = 2;

/**
 * Levels of the objects met while serializing. devalue recurses into an object the first time it meets it, right
 * after reading it from its parent, so the first parent seen gives the level that matters.
 */
export class Levels {
  private readonly levels = new Map<object, number>();
  private lastParent: object | undefined;
  private lastLevel = 1;

  /** The level of `value`: known, or 1 for the root (and for values devalue reached without reading a parent). */
  of(value: object): number {
    if (value === this.lastParent) return this.lastLevel;
    return this.levels.get(value) ?? 1;
  }

  /** Records `child`, met inside `parent`: NEW (first met), KNOWN (met before) or TOO_DEEP. */
  enter(parent: object, child: object): 0 | 1 | 2 {
    if (this.levels.get(child) !== undefined) return KNOWN;
    let level: number;
    if (parent === this.lastParent) level = this.lastLevel;
    else {
      level = this.levels.get(parent) ?? 1;
      this.lastParent = parent;
      this.lastLevel = level;
    }
    if (level >= MAX_DEPTH) return TOO_DEEP;
    this.levels.set(child, level + 1);
    return NEW;
  }

  /** `stand` takes the place of `value` on the wire (a reducer's data): same level. */
  replace(value: object, stand: object): void {
    this.levels.set(stand, this.of(value));
  }
}

/**
 * The objects being revived, outermost first. devalue creates a container, revives its children, then stores it
 * in its parent (or hands it to a reviver), so creation opens a level and that store closes it.
 */
export class OpenContainers {
  private readonly stack: object[] = [];

  open<T extends object>(container: T): T {
    if (this.stack.length >= MAX_DEPTH) throw new DepthExceeded();
    this.stack.push(container);
    return container;
  }

  /** `value` was stored in its parent: if it is the innermost open container, it is complete. */
  close(value: unknown): void {
    if (this.stack.length > 0 && this.stack[this.stack.length - 1] === value) this.stack.pop();
  }
}

export class DepthExceeded extends Error {
  constructor() {
    super(`serialized data nested more than ${MAX_DEPTH} levels deep`);
    this.name = "DepthExceeded";
  }
}
