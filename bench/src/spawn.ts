/**
 * Forks one workload child (`child.ts`) with the orchestrator's loader flags
 * (tsx), passes it a {@link ChildTask} and exposes its result, its progress
 * messages, its exit and a way to kill it.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, ChildTask, Metrics } from "./workloads/types.js";

const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));

export interface Forked {
  /** The child's result; rejects if it reports an error or exits without one. */
  readonly result: Promise<Metrics>;
  /** How the child ended: `code N` or `signal S`. */
  readonly exit: Promise<string>;
  onProgress(listener: (executions: number) => void): void;
  kill(signal: NodeJS.Signals): void;
}

/** Forks a child for `task`; `nodeArgs` are added to the loader flags (e.g. `--expose-gc`). */
export function forkChild(task: ChildTask, nodeArgs: readonly string[] = [], timeoutMs?: number): Forked {
  const child = fork(CHILD, [JSON.stringify(task)], {
    execArgv: [...process.execArgv, ...nodeArgs],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const listeners: ((executions: number) => void)[] = [];
  let metrics: Metrics | undefined;
  let error: string | undefined;
  child.on("message", (raw: unknown) => {
    const msg = raw as ChildMessage;
    if (msg.kind === "progress") for (const l of listeners) l(msg.executions);
    else if (msg.kind === "result") metrics = msg.metrics;
    else if (msg.kind === "error") error = msg.message;
  });
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, timeoutMs);
  const exit = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve(signal === null ? `code ${code}` : `signal ${signal}`);
    });
  });
  const result = exit.then((how) => {
    if (timedOut) throw new Error(`${task.system} ${task.role}: killed after ${timeoutMs} ms without finishing`);
    if (error !== undefined) throw new Error(`${task.system} ${task.role}: ${error}`);
    if (metrics === undefined) throw new Error(`${task.system} ${task.role}: child ended (${how}) without a result`);
    return metrics;
  });
  // A killed child's result is expected to reject; callers that need it await `result` themselves.
  result.catch(() => undefined);
  return {
    result,
    exit,
    onProgress: (l) => listeners.push(l),
    kill: (signal) => child.kill(signal),
  };
}
