// Host-only (uses node:util): values crossing the workflow boundary, between the host and sandbox realms.
export {
  CLASS_REGISTRY_KEY,
  registerSerializableClass,
  type SerializableClass,
  WORKFLOW_DESERIALIZE,
  WORKFLOW_SERIALIZE,
} from "./classes.js";
export {
  type DeserializeOptions,
  deserialize,
  deserializeError,
  type Reducer,
  registerReducer,
  type SerializeOptions,
  serialize,
  serializeAsync,
  serializeError,
} from "./codec.js";
export { ERROR_CLASSES_KEY } from "./error-data.js";
export { SerializationError, UNKNOWN_CLASS_SLUG, UNSUPPORTED_VALUE_SLUG } from "./errors.js";
export { adoptBody, BODY_READER_KEY, type BodyReader } from "./web.js";
