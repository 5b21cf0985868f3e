import { describe, expect, it } from "vitest";
import { worldOptionsFromEnv } from "./create-world.js";
import { checkPrefix, indexMember, runIdOfMember, streamSuffix } from "./keys.js";

describe("configuration from the environment", () => {
  it("reads the URL, the prefix and the durability requirement", () => {
    expect(worldOptionsFromEnv({})).toEqual({});
    expect(
      worldOptionsFromEnv({
        WORKFLOW_REDIS_URL: "redis://h:6379",
        WORKFLOW_REDIS_PREFIX: "app1:",
        WORKFLOW_REDIS_REQUIRE_AOF: "1",
      }),
    ).toEqual({ url: "redis://h:6379", prefix: "app1:", requireDurability: true });
    expect(worldOptionsFromEnv({ WORKFLOW_REDIS_REQUIRE_AOF: "always" }).requireDurability).toBe("always");
    expect(worldOptionsFromEnv({ WORKFLOW_REDIS_REQUIRE_AOF: "0" }).requireDurability).toBe(false);
    expect(() => worldOptionsFromEnv({ WORKFLOW_REDIS_REQUIRE_AOF: "yes please" })).toThrow(
      /WORKFLOW_REDIS_REQUIRE_AOF must be 1 .* got "yes please"/,
    );
  });

  it("refuses a prefix that cannot name keys, channels and connections", () => {
    expect(checkPrefix("wf:")).toBe("wf:");
    expect(checkPrefix("{app}:wf:")).toBe("{app}:wf:");
    expect(() => checkPrefix("")).toThrow(/1-64 characters/);
    expect(() => checkPrefix("my app:")).toThrow(/"my app:" is not allowed/);
  });
});

describe("key layout", () => {
  it("index members sort like (createdAt, runId) and give the run ID back", () => {
    const members = [
      indexMember(1_700_000_000_001, "wrun_B"),
      indexMember(999, "wrun_Z"),
      indexMember(1_700_000_000_001, "wrun_A"),
      indexMember(1_700_000_000_000, "wrun_Z"),
    ];
    expect([...members].sort().map(runIdOfMember)).toEqual(["wrun_Z", "wrun_Z", "wrun_A", "wrun_B"]);
    expect([...members].sort()[0]).toBe("000000000000999:wrun_Z");
  });

  it("stream keys of different (run, name) pairs never collide", () => {
    expect(streamSuffix("a:b", "c")).not.toBe(streamSuffix("a", "b:c"));
  });
});
