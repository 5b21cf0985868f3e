import { describe, expect, it } from "vitest";
import { newRunId } from "./ids.js";

describe("newRunId", () => {
  it("is wrun_ + 10 time characters + 16 random characters of Crockford base32", () => {
    expect(newRunId()).toMatch(/^wrun_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("sorts by creation time", () => {
    const ids = [newRunId(1_000), newRunId(2_000), newRunId(1_700_000_000_000), newRunId(1_700_000_000_001)];
    expect([...ids].sort()).toEqual(ids);
  });

  it("differs within the same millisecond", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newRunId(5)));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id.slice(0, 15)).toBe("wrun_0000000005");
  });
});
