/**
 * @actionqueue/engine — run derivation, run indices, promotion, selection,
 * concurrency keys, leases and the attempt-finish seam between executor and
 * storage.
 */
export {
  AttemptFinishSubmissionError,
  buildAttemptFinishCommand,
  mapExecutorResponseToOutcome,
  submitAttemptFinishViaAuthority,
} from "./scheduler/attempt-finish.js";
