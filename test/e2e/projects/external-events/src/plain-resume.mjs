// A process with no workflow code at all (no `workflow/register`, no bundler): it only resumes a hook.
import { resumeHook } from "workflow/api";

const [token, payload] = process.argv.slice(2);
await resumeHook(token, payload);
console.log(`DELIVERED ${token}`);
process.exit(0);
