import { afterEach, describe, expect, it } from "vitest";
import { WakeTimers } from "./wake-timers.js";

let timers: WakeTimers | undefined;
afterEach(() => timers?.close());

describe("WakeTimers", () => {
  it("fires once at the armed time and keeps only the latest time per run", async () => {
    const fired: string[] = [];
    timers = new WakeTimers((runId) => fired.push(runId));
    timers.set("a", Date.now() + 1000);
    timers.set("a", Date.now() + 5);
    timers.set("b", Date.now() + 5);
    timers.set("b", undefined);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toEqual(["a"]);
    expect(timers.armedAt("a")).toBeUndefined();
  });

  it("keeps the process alive only while someone awaits the run", () => {
    timers = new WakeTimers(() => {});
    timers.set("a", Date.now() + 60_000);
    expect(timers.holdsProcess("a")).toBe(false);
    const release = timers.retain("a");
    const releaseToo = timers.retain("a");
    expect(timers.holdsProcess("a")).toBe(true);
    release();
    release();
    expect(timers.holdsProcess("a")).toBe(true);
    releaseToo();
    expect(timers.holdsProcess("a")).toBe(false);
  });

  it("arms a timer set while the run is awaited as keeping the process alive", () => {
    timers = new WakeTimers(() => {});
    const release = timers.retain("a");
    timers.set("a", Date.now() + 60_000);
    expect(timers.holdsProcess("a")).toBe(true);
    release();
  });
});
