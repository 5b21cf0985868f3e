import { Counter } from "./counter.js";
import { Point } from "./point.js";

async function doublePoint(point: Point) {
  "use step";
  return { doubled: new Point(point.x * 2, point.y * 2), stepSawPoint: point instanceof Point };
}

export async function geometry(x: number, y: number) {
  "use workflow";
  const { doubled, stepSawPoint } = await doublePoint(new Point(x, y));
  const added = await new Counter(doubled.x).add(5);
  return { doubled, stepSawPoint, workflowSawPoint: doubled instanceof Point, ...added };
}
