/**
 * No directive in this file, and no registration call: the compiler registers the class because it
 * declares WDK's serializer keys (the `Symbol.for` keys `@workflow/serde` exports).
 */
const WORKFLOW_SERIALIZE = Symbol.for("workflow-serialize");
const WORKFLOW_DESERIALIZE = Symbol.for("workflow-deserialize");

export class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}

  static [WORKFLOW_SERIALIZE](instance: Point) {
    return { x: instance.x, y: instance.y };
  }

  static [WORKFLOW_DESERIALIZE](data: { x: number; y: number }) {
    return new Point(data.x, data.y);
  }
}
