import { currentClock, realClock } from "@wfkit/core";
import { afterEach, describe, expect, it } from "vitest";
import { advanceTime, useRealTime, useVirtualTime } from "./virtual-time.js";

afterEach(() => useRealTime());

const tick = () => new Promise((r) => setImmediate(r));

describe("virtual time", () => {
  it("auto: jumps to each wake-up in order once the process is idle", async () => {
    const clock = useVirtualTime();
    const start = clock.now();
    const fired: string[] = [];
    const at: Record<string, number> = {};
    const record = (name: string) => () => {
      fired.push(name);
      at[name] = clock.now() - start;
    };
    clock.at(start + 3_600_000, record("1h"));
    clock.at(start + 60_000, record("1m"));
    expect(fired).toEqual([]);
    for (let i = 0; i < 5; i++) await tick();
    expect(fired).toEqual(["1m", "1h"]);
    // Virtual time is the real clock plus the jumps, so a loaded machine may add a few real milliseconds.
    expect(at["1m"]).toBeGreaterThanOrEqual(60_000);
    expect(at["1m"]).toBeLessThan(61_000);
    expect(at["1h"]).toBeGreaterThanOrEqual(3_600_000);
    expect(at["1h"]).toBeLessThan(3_601_000);
    expect(clock.pendingWakeUps()).toEqual([]);
  });

  it("manual: nothing fires until advanceTime() reaches it; cancelled wake-ups never fire", async () => {
    const clock = useVirtualTime({ auto: false });
    const start = clock.now();
    const fired: string[] = [];
    clock.at(start + 30 * 60_000, () => fired.push("30m"));
    clock.at(start + 3_600_000, () => fired.push("1h"));
    clock.at(start + 90 * 60_000, () => fired.push("90m")).cancel();
    await tick();
    expect(fired).toEqual([]);
    await advanceTime("59m");
    expect(fired).toEqual(["30m"]);
    await advanceTime(60_000);
    expect(fired).toEqual(["30m", "1h"]);
    await advanceTime("1d");
    expect(fired).toEqual(["30m", "1h"]);
    expect(clock.now() - start).toBeGreaterThanOrEqual(3_600_000 + 86_400_000);
  });

  it("useRealTime() puts the wall clock back", () => {
    useVirtualTime();
    expect(currentClock()).not.toBe(realClock);
    useRealTime();
    expect(currentClock()).toBe(realClock);
  });

  it("advanceTime() explains what is missing or wrong", async () => {
    await expect(advanceTime("1h")).rejects.toThrow(/needs virtual time: call useVirtualTime/);
    useVirtualTime({ auto: false });
    await expect(advanceTime("soon")).rejects.toThrow(/advanceTime\(\) duration/);
    await expect(advanceTime(-5)).rejects.toThrow(/advanceTime\(\) duration: -5/);
  });
});
