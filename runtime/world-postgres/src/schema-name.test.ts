import { describe, expect, it } from "vitest";
import { checkSchemaName, quoted } from "./schema-name.js";

describe("schema names", () => {
  it("accepts plain lower-case identifiers and quotes them", () => {
    expect(checkSchemaName("workflow")).toBe("workflow");
    expect(quoted("wf_test_01")).toBe('"wf_test_01"');
  });

  it("refuses names that would need quoting rules or break the channel name", () => {
    for (const bad of ["Workflow", "1abc", 'a"b', "a-b", "", "x".repeat(49)]) {
      expect(() => checkSchemaName(bad)).toThrow(expect.objectContaining({ code: "INVALID_SCHEMA" }));
    }
  });
});
