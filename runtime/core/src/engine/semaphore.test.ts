import { describe, expect, it } from "vitest";
import { Semaphore } from "./semaphore.js";

describe("Semaphore", () => {
  it("admits up to the limit at once and the rest in FIFO order", async () => {
    const s = new Semaphore(2);
    expect(s.acquire()).toBeUndefined();
    expect(s.acquire()).toBeUndefined();
    const order: number[] = [];
    const third = s.acquire()!.then(() => order.push(3));
    const fourth = s.acquire()!.then(() => order.push(4));
    expect(s.running).toBe(2);
    s.release();
    await third;
    s.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    s.release();
    s.release();
    expect(s.running).toBe(0);
  });

  it("refuses a limit below one with a message naming the option", () => {
    expect(() => new Semaphore(0, "maxConcurrentSteps")).toThrow(
      /maxConcurrentSteps must be a positive integer, got 0/,
    );
  });
});
