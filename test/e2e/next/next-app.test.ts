/**
 * `examples/next-app` with `withWorkflow`: `next build` + `next start` with Turbopack and with webpack, and
 * `next dev` with a hot edit to a step file. Each starts the signup workflow over HTTP, follows its progress
 * stream, confirms through the webhook URL the stream carries, and checks the result. The app's proxy
 * refuses requests without a session cookie, so the webhook (sent with none) also proves that the proxy
 * leaves the workflow routes alone.
 *
 * The Turbopack build is also served on the Postgres world, unchanged but for the environment.
 *
 * One copy of the app serves all three, one after the other (Next builds are CPU-heavy on two cores).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createPostgresWorld } from "@wfkit/world-postgres";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyNextApp, followRun, type NextApp, type NextServer, runNext, serveNext } from "./support.js";

const SESSION = { cookie: "session=e2e" };
let app: NextApp;

beforeAll(() => {
  app = copyNextApp();
});
afterAll(() => app?.cleanup());

/** One signup, the way the page and the user's click drive it. */
async function signUp(server: NextServer, email: string) {
  const started = await fetch(`${server.base}/api/signup`, {
    method: "POST",
    headers: SESSION,
    body: JSON.stringify({ email }),
  });
  if (!started.ok)
    throw new Error(`POST /api/signup: ${started.status} ${await started.text()}\n${server.output()}`);
  const { runId, readToken } = (await started.json()) as { runId: string; readToken: string };
  // The run's streams take its read token and nothing else (no session: the proxy leaves them alone).
  const refused = await fetch(`${server.base}/.well-known/workflow/v1/streams/runs/${runId}/state`);
  expect(refused.status).toBe(401);
  const events = followRun(server.base, runId, readToken);
  const email1 = await events.next((e) => e.data?.step === "sendWelcomeEmail");
  const confirmUrl = email1.data.confirmUrl as string;
  expect(confirmUrl).toMatch(new RegExp(`^${server.base}/\\.well-known/workflow/v1/webhook/[^/]+$`));
  // Clicked from an email: no session cookie.
  const click = await fetch(confirmUrl, { method: "POST" });
  expect(click.status).toBe(202);
  const all = await events.all();
  return { runId, events: all, result: all.at(-1) };
}

async function expectSignupWorks(server: NextServer) {
  const home = await fetch(`${server.base}/`);
  expect(home.status).toBe(200);
  expect(home.headers.get("set-cookie")).toMatch(/^session=/);
  expect(await home.text()).toContain("Sign up");
  // The proxy is active: an API call without a session is refused.
  expect((await fetch(`${server.base}/api/signup`, { method: "POST", body: "{}" })).status).toBe(401);

  const { runId, events, result } = await signUp(server, "ada@example.com");
  expect(events.filter((e) => e.event === "progress").map((e) => e.data.step)).toEqual([
    "createUser",
    "sendWelcomeEmail",
    "sendFollowUp",
  ]);
  expect(result?.event).toBe("done");
  expect(result?.data).toMatchObject({
    email: "ada@example.com",
    userId: expect.stringMatching(/^usr_/),
    confirmedWith: "POST",
    followUp: "Welcome aboard, ada! Here are three tips to get started.",
    appUrl: server.base, // getWorkflowMetadata().url, from the port Next listens on
  });

  // The generated flow route answers too (the runtime calls it itself; no session either).
  const flow = await fetch(`${server.base}/.well-known/workflow/v1/flow`, {
    method: "POST",
    body: JSON.stringify({ runId }),
  });
  expect(flow.status).toBe(202);
  expect(await flow.json()).toEqual({ runId, driving: false });
  expect(
    (await fetch(`${server.base}/.well-known/workflow/v1/webhook/unknown`, { method: "POST" })).status,
  ).toBe(404);
  // The local world keeps its data in the project.
  expect(existsSync(app.file(".workflow-data"))).toBe(true);
}

describe.sequential("examples/next-app", () => {
  for (const bundler of ["turbopack", "webpack"] as const) {
    describe(`next build (${bundler}) + next start`, () => {
      let server: NextServer | undefined;
      afterAll(async () => server?.stop());

      it("builds: the workflow bundles and the generated routes", { timeout: 300_000 }, async () => {
        const output = await runNext(app, ["build", ...(bundler === "webpack" ? ["--webpack"] : [])]);
        expect(output).toContain("Next.js 16");
        expect(output.includes("(Turbopack)")).toBe(bundler === "turbopack");
        expect(output).toMatch(/\/\.well-known\/workflow\/v1\/webhook\/\[token\]/);
        const manifest = JSON.parse(readFileSync(app.file(".workflow/manifest.json"), "utf8"));
        expect(Object.keys(manifest.workflows)).toEqual(["workflow//workflows/signup.ts//signup"]);
        expect(readFileSync(app.file("app/.well-known/workflow/.gitignore"), "utf8")).toContain("*");
      });

      it("runs a signup: stream, webhook confirmation, result", { timeout: 120_000 }, async () => {
        server = await serveNext(app, "start");
        await expectSignupWorks(server);
      });

      if (bundler === "turbopack")
        it("a run waiting for its confirmation survives a server restart", { timeout: 120_000 }, async () => {
          const started = await fetch(`${server!.base}/api/signup`, {
            method: "POST",
            headers: SESSION,
            body: JSON.stringify({ email: "grace@example.com" }),
          });
          const { runId, readToken } = (await started.json()) as { runId: string; readToken: string };
          const before = followRun(server!.base, runId, readToken);
          const { confirmUrl } = (await before.next((e) => e.data?.step === "sendWelcomeEmail")).data;
          await before.cancel();
          await server!.stop();

          server = await serveNext(app, "start"); // another port: the link's path still names the webhook
          const after = followRun(server.base, runId, readToken);
          expect(
            (await fetch(`${server.base}${new URL(confirmUrl).pathname}`, { method: "POST" })).status,
          ).toBe(202);
          const events = await after.all();
          expect(events.map((e) => e.data?.step ?? e.event)).toEqual([
            "createUser",
            "sendWelcomeEmail",
            "sendFollowUp",
            "done",
          ]);
          expect(events.at(-1)?.data).toMatchObject({ email: "grace@example.com", confirmedWith: "POST" });
        });

      if (bundler === "turbopack")
        it("runs unchanged on the Postgres world (WORKFLOW_TARGET_WORLD=postgres)", {
          timeout: 120_000,
        }, async () => {
          await server?.stop();
          const db = await getTestDatabase();
          try {
            server = await serveNext(app, "start", 60_000, {
              WORKFLOW_TARGET_WORLD: "postgres",
              WORKFLOW_POSTGRES_URL: db.url,
              WORKFLOW_POSTGRES_SCHEMA: db.schema,
            });
            const { runId, result } = await signUp(server, "linus@example.com");
            expect(result?.data).toMatchObject({ email: "linus@example.com", confirmedWith: "POST" });
            // The run lives in the database.
            const world = await createPostgresWorld({ url: db.url, schema: db.schema });
            try {
              expect((await world.getRun(runId))?.status).toBe("completed");
            } finally {
              await world.close();
            }
          } finally {
            await server?.stop();
            server = undefined;
            await db.cleanup();
          }
        });
    });
  }

  describe("next dev", () => {
    let server: NextServer | undefined;
    afterAll(async () => server?.stop());

    it("runs a signup, then the edited step in the next run", { timeout: 240_000 }, async () => {
      server = await serveNext(app, "dev", 120_000);
      const first = await signUp(server, "ada@example.com");
      expect(first.result?.data.followUp).toBe("Welcome aboard, ada! Here are three tips to get started.");

      const manifest = () => readFileSync(app.file(".workflow/manifest.json"), "utf8");
      const before = manifest();
      const file = app.file("workflows/signup.ts");
      writeFileSync(file, readFileSync(file, "utf8").replace("`Welcome aboard, ", "`Glad you are here, "));
      await expect.poll(manifest, { timeout: 60_000, interval: 100 }).not.toBe(before);
      const second = await signUp(server, "bob@example.com");
      expect(second.result?.data.followUp).toBe(
        "Glad you are here, bob! Here are three tips to get started.",
      );
    });
  });
});
