import type { RunNotification } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { RunNotifications } from "./run-notifications.js";

const run = { runId: "r1", lastSeq: 4, status: "running" as const };

describe("RunNotifications", () => {
  it("delivers other instances' payloads and skips its own echo and foreign messages", () => {
    const mine = new RunNotifications();
    const other = new RunNotifications();
    const heard: RunNotification[] = [];
    mine.subscribe((n) => heard.push(n));
    mine.deliverRemote(mine.payload(run, "appended"));
    mine.deliverRemote("not json");
    expect(heard).toEqual([]);
    mine.deliverRemote(other.payload(run, "appended"));
    expect(heard).toEqual([{ runId: "r1", lastSeq: 4, status: "running", kind: "appended" }]);
  });

  it("counts per-run subscriptions so a gap re-check knows which runs are awaited", () => {
    const n = new RunNotifications();
    const off1 = n.subscribe(() => {}, "r1");
    const off2 = n.subscribe(() => {}, "r1");
    n.subscribe(() => {});
    expect(n.watchedRuns()).toEqual(["r1"]);
    off1();
    off1(); // unsubscribing twice must not drop the other subscription
    expect(n.watchedRuns()).toEqual(["r1"]);
    off2();
    expect(n.watchedRuns()).toEqual([]);
  });
});
