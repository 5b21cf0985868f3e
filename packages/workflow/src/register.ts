/** `node --import workflow/register app.ts`: see plugins/node. */
import "@wfkit/node/register";
