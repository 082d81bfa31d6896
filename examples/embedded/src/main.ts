/**
 * Placeholder `pnpm demo`: a short walkthrough of @actionqueue/core until the
 * embedded runtime exists. It builds a task spec for each run-policy kind,
 * walks one run through its legal transitions, and shows how an illegal
 * transition and a bad spec are rejected with stable error codes.
 */
import {
  ActionQueueError,
  AttemptOutcome,
  ManualClock,
  RunInstance,
  createIdFactory,
  createTaskSpec,
  cronPolicy,
  displayRunState,
  jsonPayload,
  nextCronOccurrences,
  oncePolicy,
  repeatPolicy,
  taskSpecToJson,
} from "@actionqueue/core";
import type { RunPolicy } from "@actionqueue/core";

const clock = new ManualClock({ startMs: Date.UTC(2024, 0, 1, 8, 0, 0) });
const ids = createIdFactory(clock);
const iso = (ms: number): string => new Date(ms).toISOString();

console.log(`ActionQueue core walkthrough (clock at ${iso(clock.now())})\n`);

// 1. One task spec per run-policy kind.
const policies: RunPolicy[] = [oncePolicy(), repeatPolicy(3, 15 * 60_000), cronPolicy("0 9 * * MON-FRI", { maxOccurrences: 20 })];
for (const runPolicy of policies) {
  const payload = jsonPayload({ report: "daily-sales" });
  const spec = createTaskSpec({
    id: ids.taskId(),
    name: "send-report",
    payload: payload.bytes,
    contentType: payload.contentType ?? "application/json",
    runPolicy,
    constraints: { maxAttempts: 3, timeoutMs: 30_000 },
  });
  console.log(`task ${spec.id}  policy ${JSON.stringify(taskSpecToJson(spec).runPolicy)}`);
  if (runPolicy.kind === "cron") {
    const next = nextCronOccurrences(runPolicy.expression, clock.now(), 3);
    console.log(`  next cron instants: ${next.map(iso).join(", ")}`);
  }
}

// 2. One run through its legal transitions.
console.log("\nrun lifecycle:");
const run = RunInstance.newScheduled({ id: ids.runId(), taskId: ids.taskId(), scheduledAt: clock.now() + 1_000, createdAt: clock.now() });
const show = (what: string): void =>
  console.log(`  ${what.padEnd(28)} state=${displayRunState(run.state).padEnd(10)} attempts=${run.attemptCount} active=${run.currentAttemptId ?? "-"}`);
show("created");
clock.advance(1_000);
run.promoteToReady(5);
show("promoted (priority 5)");
run.transitionTo("leased");
show("leased");
run.transitionTo("running");
show("running");
const attempt = ids.attemptId();
run.startAttempt(attempt);
show("attempt started");
const outcome = AttemptOutcome.successWithOutput(new TextEncoder().encode("sent"));
run.finishAttempt(attempt);
show(`attempt finished (${outcome.result})`);
run.transitionTo("completed");
show("completed");

// 3. What rejection looks like: typed errors with stable codes.
console.log("\nrejections:");
const report = (label: string, action: () => unknown): void => {
  try {
    action();
    throw new Error(`${label} was not rejected`);
  } catch (error) {
    if (!ActionQueueError.is(error)) throw error;
    console.log(`  ${label}: ${error.code} — ${error.message}`);
  }
};
report("completed → running", () => run.transitionTo("running"));
report("repeat with count 0", () => createTaskSpec({ id: ids.taskId(), runPolicy: { kind: "repeat", count: 0, intervalMs: 60_000 } }));

console.log("\ndone.");
