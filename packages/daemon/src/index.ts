/**
 * @actionqueue/daemon — ActionQueue as an HTTP service: a fastify server with
 * read and authenticated control routes, Prometheus metrics, a Server-Sent
 * Events stream of engine events and structured logs, around a queue that
 * recovers its data directory and dispatches to a handler module.
 */
export { startDaemon, validateDaemonOptions, DEFAULT_GRACE_MS } from "./daemon.js";
export type { DaemonOptions, RunningDaemon } from "./daemon.js";
export { createServer, DEFAULT_BODY_LIMIT_BYTES } from "./server.js";
export type { ServerOptions } from "./server.js";
export { createDaemonState, requireQueue } from "./state.js";
export type { DaemonState, DaemonPhase } from "./state.js";
export { checkControlAccess, tokensEqual, validateToken, TOKEN_ENV, MIN_TOKEN_LENGTH } from "./auth.js";
export type { AuthConfig } from "./auth.js";
export { parseBindAddress, isLoopback, baseUrl, DEFAULT_BIND } from "./bind.js";
export type { BindAddress } from "./bind.js";
export { HttpError, DAEMON_ERROR_CODES, daemonError, errorResponse, statusForActionQueueError } from "./errors.js";
export type { DaemonErrorCode, ErrorBody } from "./errors.js";
export { DaemonMetrics, STATE_LABELS, RESULT_LABELS } from "./metrics.js";
export { EventHub, STREAMED_EVENTS, MAX_CLIENT_BUFFER_BYTES, HEARTBEAT_MS } from "./sse.js";
export { createLogger, attachRunLogging, isLogLevel, LOG_LEVELS } from "./logger.js";
export type { Logger } from "./logger.js";
export { daemonOptionsFromFlags, interruptedMessage, resolveToken, runDaemonProcess } from "./process.js";
export type { DaemonFlags, DaemonProcessIo, DaemonRunSummary } from "./process.js";
export { MAX_PAGE_SIZE } from "./routes/read.js";
export { DAEMON_FLAG_HELP } from "./flag-help.js";
export type { DaemonFlagHelp } from "./flag-help.js";
