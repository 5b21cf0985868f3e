import { start } from "workflow/api";
import { signup } from "@/workflows/signup";

/**
 * `POST /api/signup` with `{ "email": "..." }` starts a signup and answers `{ runId, readToken }`: the token lets
 * the page read this run's live state and output (`useRun`), nothing else.
 */
export async function POST(request: Request): Promise<Response> {
  const { email } = (await request.json().catch(() => ({}))) as { email?: unknown };
  if (typeof email !== "string" || !email.includes("@"))
    return Response.json({ error: 'send JSON like { "email": "ada@example.com" }' }, { status: 400 });
  const run = await start(signup, [email]);
  return Response.json({ runId: run.runId, readToken: run.readToken });
}
