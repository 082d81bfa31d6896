/**
 * The one place the CLI reaches into `@actionqueue/runtime`. Every command
 * imports the queue, the handler loader and the input parsers from here, so
 * an API change in the runtime is adapted in one file.
 *
 * INTERIM: written while the runtime's `ActionQueue` was still being built;
 * the shapes below follow the announced API and are read off the module at
 * run time. Replace with plain re-exports once the runtime exports them.
 */
import * as runtimeModule from "@actionqueue/runtime";
import type { RunId, RunPolicy, RunState, TaskConstraintsInput, TaskId, TaskMetadata, AttemptId, AttemptResultKind } from "@actionqueue/core";
import type { WalFinding } from "@actionqueue/storage";

/** A handler as the runtime calls it. */
export type Handler = (ctx: never) => unknown;

export interface SubmitInput {
  readonly name?: string;
  readonly payload?: unknown;
  readonly contentType?: string;
  readonly runPolicy: RunPolicy;
  readonly constraints?: TaskConstraintsInput;
  readonly metadata?: Partial<TaskMetadata>;
  readonly taskId?: TaskId;
}
export interface SubmitResult {
  readonly taskId: TaskId;
  readonly runIds: readonly RunId[];
  readonly existing: boolean;
  readonly latestSequence: number;
}
export interface TaskView {
  readonly taskId: TaskId;
  readonly name?: string;
  readonly runPolicy: RunPolicy;
  readonly metadata: TaskMetadata;
  readonly contentType?: string;
  readonly payload: Uint8Array;
  readonly createdAt: number;
  readonly canceledAt?: number;
  readonly runIds: readonly RunId[];
}
export interface AttemptView {
  readonly attemptId: AttemptId;
  readonly attemptNumber: number;
  readonly startedAt: number;
  readonly finishedAt?: number;
  readonly result?: AttemptResultKind;
  readonly error?: string;
  readonly output?: Uint8Array;
}
export interface RunView {
  readonly runId: RunId;
  readonly taskId: TaskId;
  readonly state: RunState;
  readonly createdAt: number;
  readonly scheduledAt: number;
  readonly priority: number;
  readonly attemptCount: number;
  readonly currentAttemptId?: AttemptId;
  readonly lease?: { readonly owner: string; readonly expiresAt: number };
  readonly attempts: readonly AttemptView[];
  readonly history: ReadonlyArray<{ readonly from: RunState | null; readonly to: RunState; readonly at: number }>;
}
export interface ListRunsQuery {
  readonly state?: RunState;
  readonly taskId?: TaskId;
  readonly limit?: number;
  readonly cursor?: string;
}
export interface RunPage {
  readonly runs: readonly RunView[];
  readonly nextCursor?: string;
}
export interface Stats {
  readonly tasks: number;
  readonly runs: number;
  readonly runsByState: Readonly<Record<string, number>>;
  readonly attemptsByResult: Readonly<Record<string, number>>;
  readonly latestSequence: number;
  readonly paused: boolean;
}
export type Explanation = { readonly kind: string; readonly runId: RunId; readonly message: string } & Readonly<Record<string, unknown>>;
export interface CloseOptions {
  readonly mode?: "drain" | "abort";
  readonly graceMs?: number;
}
export interface ActionQueueOptions {
  readonly dataDir: string;
  readonly handler?: Handler;
  readonly handlers?: Readonly<Record<string, Handler>>;
  readonly concurrency?: number;
}
export interface QueueReader {
  getTask(id: TaskId): TaskView | undefined;
  listTasks(query?: { limit?: number; cursor?: string }): { tasks: TaskView[]; nextCursor?: string };
  getRun(id: RunId): RunView | undefined;
  listRuns(query?: ListRunsQuery): RunPage;
  stats(): Stats;
  explain(runId: RunId): Explanation;
}
export interface QueueInspector extends QueueReader {
  readonly findings: readonly WalFinding[];
  close(): Promise<void>;
}
export interface Queue extends QueueReader {
  submit(input: SubmitInput): Promise<SubmitResult>;
  start(): void;
  runUntilIdle(): Promise<void>;
  close(options?: CloseOptions): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  cancelTask(id: TaskId): Promise<{ canceledRuns: number }>;
  cancelRun(id: RunId): Promise<void>;
  resumeRun(id: RunId): Promise<void>;
  writeSnapshot(): Promise<{ sequence: number }>;
  on(name: string, listener: (event: Record<string, unknown>) => void): () => void;
}
interface RuntimeModule {
  readonly ActionQueue: {
    open(options: ActionQueueOptions): Promise<Queue>;
    inspect(dataDir: string): Promise<QueueInspector>;
  };
  loadHandlerModule(path: string): Promise<{ handler?: Handler; handlers?: Record<string, Handler> }>;
  parseDuration(text: string, field?: string): number;
  parseRunPolicyText(text: string, field?: string): RunPolicy;
  formatRunPolicy(policy: RunPolicy): string;
  parseConstraintsJson(value: unknown, field?: string): TaskConstraintsInput;
  parseMetadataJson(value: unknown, field?: string): Partial<TaskMetadata>;
}

const runtime = runtimeModule as unknown as Partial<RuntimeModule>;

function need<TKey extends keyof RuntimeModule>(key: TKey): RuntimeModule[TKey] {
  const value = runtime[key];
  if (value === undefined) throw new Error(`@actionqueue/runtime does not export ${key} yet`);
  return value;
}

export const ActionQueue = {
  open: (options: ActionQueueOptions): Promise<Queue> => need("ActionQueue").open(options),
  inspect: (dataDir: string): Promise<QueueInspector> => need("ActionQueue").inspect(dataDir),
};
export const loadHandlerModule = (path: string): ReturnType<RuntimeModule["loadHandlerModule"]> => need("loadHandlerModule")(path);
export const parseRunPolicyText = (text: string, field?: string): RunPolicy => need("parseRunPolicyText")(text, field);
export const formatRunPolicy = (policy: RunPolicy): string => need("formatRunPolicy")(policy);
export const parseConstraintsJson = (value: unknown, field?: string): TaskConstraintsInput => need("parseConstraintsJson")(value, field);
export const parseMetadataJson = (value: unknown, field?: string): Partial<TaskMetadata> => need("parseMetadataJson")(value, field);
