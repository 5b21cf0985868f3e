export {
  createLocalWorld,
  type LocalRunRecord,
  type LocalWorldOptions,
} from "./local-world.js";
