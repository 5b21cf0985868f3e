/**
 * `workflow/web`: the dashboard. `createDashboard(options)` returns a Web `(Request) => Promise<Response>` handler
 * to mount under a path of your app (mount it in Node's `http` with `toNodeHandler` from `workflow/runtime`).
 * `wf web` serves the same dashboard on 127.0.0.1.
 */
export {
  createDashboard,
  type DashboardAccess,
  type DashboardHandler,
  type DashboardOptions,
} from "./web/dashboard.js";
export type { Timeline, TimelineAttempt, TimelineItem } from "./web/timeline.js";
