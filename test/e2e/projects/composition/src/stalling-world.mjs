// A world module for the crash test (WORKFLOW_TARGET_WORLD=./src/stalling-world.mjs): the local or Postgres world
// (STALL_INNER), except that creating a child run (an ID ending in "_c1") announces itself on stdout and then never
// answers, so the test can SIGKILL the process between the child's creation and the parent's record of it.
const inner = process.env.STALL_INNER ?? "local";

export async function createWorld() {
  const world =
    inner === "postgres"
      ? await (await import("@wfkit/world-postgres")).createWorld()
      : (await import("@wfkit/world-local")).createLocalWorld({
          dataDir: process.env.WORKFLOW_LOCAL_DATA_DIR,
        });
  const createRun = world.createRun.bind(world);
  world.createRun = async (input) => {
    const result = await createRun(input);
    if (input.runId?.endsWith("_c1")) {
      console.log(`CHILD CREATED ${input.runId}`);
      await new Promise(() => {});
    }
    return result;
  };
  return world;
}
