/**
 * The one place the CLI reaches into `@actionqueue/runtime`: the queue, the
 * read-only inspector, the handler loader and the input parsers. Commands
 * import them from here, so an API change in the runtime is adapted in one
 * file.
 */
export {
  ActionQueue,
  QueueInspector,
  loadHandlerModule,
  parseDuration,
  parseRunPolicyText,
  parseStartAtText,
  formatRunPolicy,
  parseConstraintsJson,
  parseMetadataJson,
  encodeJsonPayload,
} from "@actionqueue/runtime";
export type {
  ActionQueueOptions,
  Handler,
  LoadedHandlers,
  SubmitInput,
  SubmitResult,
  TaskView,
  AttemptView,
  RunView,
  ListRunsQuery,
  RunPage,
  Stats,
  Explanation,
  CloseOptions,
  PurgeOptions,
  TerminalRunState,
} from "@actionqueue/runtime";
export type { ActionQueue as Queue } from "@actionqueue/runtime";
