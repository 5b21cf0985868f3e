export {
  createLocalWorld,
  type LocalRunRecord,
  type LocalWorldOptions,
  type RunQuarantine,
} from "./local-world.js";
