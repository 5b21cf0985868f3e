export { createLocalWorld, type LocalWorldOptions } from "./local-world.js";
