import { waitForHook } from "@workflow/vitest";
import { expect, it } from "vitest";
import { resumeWebhook, start } from "workflow/api";
import { inbox } from "./inbox";

it("delivers a Request to a generated webhook token found with waitForHook", async () => {
  const run = await start(inbox, ["support"]);
  const hook = await waitForHook(run);
  const response = await resumeWebhook(
    hook.token,
    new Request("https://example.test/hook", { method: "POST", body: JSON.stringify({ ticket: 7 }) }),
  );
  expect(response.status).toBe(202);
  await expect(run.returnValue).resolves.toEqual({ mailbox: "support", got: { ticket: 7 } });
});
