import { type NextRequest, NextResponse } from "next/server";

/**
 * A stand-in for an auth proxy: the home page hands out a session cookie, and every other request
 * without one is refused. The workflow endpoints must stay out of its reach (see `matcher`): a webhook
 * link clicked from an email carries no session, and the runtime calls the flow and step routes itself.
 */
export function proxy(request: NextRequest) {
  const session = request.cookies.get("session")?.value;
  if (!session && request.nextUrl.pathname !== "/")
    return NextResponse.json({ error: "no session: open / first" }, { status: 401 });
  const response = NextResponse.next();
  if (!session) response.cookies.set("session", crypto.randomUUID(), { httpOnly: true, sameSite: "lax" });
  return response;
}

export const config = {
  // Everything except Next's assets and the workflow endpoints.
  matcher: ["/((?!_next/static|_next/image|favicon.ico|\\.well-known/workflow/).*)"],
};
