import { ActionQueueError, createIdFactory, ManualClock } from "@actionqueue/core";
import type { DurabilityPolicy, GroupCommitMutationAuthority, MutationAuthority, MutationCommand, MutationOutcome } from "@actionqueue/core";
import type { ExecutorResponse } from "@actionqueue/executor-local";
import { describe, expect, it } from "vitest";
import {
  AttemptFinishSubmissionError,
  buildAttemptFinishCommand,
  mapExecutorResponseToOutcome,
  submitAttemptFinishInGroupCommit,
  submitAttemptFinishViaAuthority,
  submitFencedAttemptFinish,
} from "./attempt-finish.js";
import { LeaseTable } from "../lease/lease-table.js";

const ids = createIdFactory(new ManualClock());

/** Records every command; answers attempt-finish with an applied mutation and refuses anything else. */
class MockAuthority implements MutationAuthority {
  readonly submitted: MutationCommand[] = [];
  async submitCommand(command: MutationCommand, _durability: DurabilityPolicy): Promise<MutationOutcome> {
    this.submitted.push(command);
    if (command.kind !== "attemptFinish") throw new Error("unexpected command");
    return {
      sequence: command.sequence,
      applied: { kind: "attemptFinish", runId: command.runId, attemptId: command.attemptId, outcome: command.outcome },
    };
  }
  async submitBatch(commands: readonly MutationCommand[], durability: DurabilityPolicy): Promise<readonly MutationOutcome[]> {
    const out: MutationOutcome[] = [];
    for (const c of commands) out.push(await this.submitCommand(c, durability));
    return out;
  }
  latestSequence(): number {
    return this.submitted.length;
  }
}

describe("attempt finish (seed port)", () => {
  it("timeout response maps to timeout result kind", () => {
    const response: ExecutorResponse = { kind: "timeout", timeoutMs: 5 };
    expect(mapExecutorResponseToOutcome(response).result).toBe("timeout");
  });

  it("failure responses map to failure result kind", () => {
    expect(mapExecutorResponseToOutcome({ kind: "retryableFailure", error: "retryable" }).result).toBe("failure");
    expect(mapExecutorResponseToOutcome({ kind: "terminalFailure", error: "terminal" }).result).toBe("failure");
  });

  it("success response maps to success result kind", () => {
    expect(mapExecutorResponseToOutcome({ kind: "success", output: new Uint8Array([1, 2, 3]) }).result).toBe("success");
  });

  it("build attempt finish command populates result and error from response", () => {
    const runId = ids.runId();
    const attemptId = ids.attemptId();
    const command = buildAttemptFinishCommand(11, runId, attemptId, { kind: "timeout", timeoutMs: 9 }, 1_234);
    expect(command.sequence).toBe(11);
    expect(command.runId).toBe(runId);
    expect(command.attemptId).toBe(attemptId);
    expect(command.outcome.result).toBe("timeout");
    expect(command.outcome.error).toBe("attempt timed out after 9ms");
    expect(command.timestamp).toBe(1_234);
  });

  it("submit via authority maps timeout and submits the canonical command", async () => {
    const runId = ids.runId();
    const attemptId = ids.attemptId();
    const authority = new MockAuthority();
    const finish = buildAttemptFinishCommand(17, runId, attemptId, { kind: "timeout", timeoutMs: 5 }, 1_700);
    const outcome = await submitAttemptFinishViaAuthority(finish, "immediate", authority);

    expect(outcome.sequence).toBe(17);
    expect(outcome.applied).toEqual({
      kind: "attemptFinish",
      runId,
      attemptId,
      outcome: { result: "timeout", error: "attempt timed out after 5ms" },
    });
    expect(authority.submitted).toHaveLength(1);
    expect(authority.submitted[0]).toEqual({
      kind: "attemptFinish",
      sequence: 17,
      runId,
      attemptId,
      outcome: { result: "timeout", error: "attempt timed out after 5ms" },
      timestamp: 1_700,
    });
  });

  it("success with output maps to outcome with output", () => {
    const data = new TextEncoder().encode("data");
    const outcome = mapExecutorResponseToOutcome({ kind: "success", output: data });
    expect(outcome.result).toBe("success");
    expect(outcome.output).toEqual(data);
  });

  it("success without output maps to outcome without output", () => {
    const outcome = mapExecutorResponseToOutcome({ kind: "success" });
    expect(outcome.result).toBe("success");
    expect(outcome.output).toBeUndefined();
  });

  it("failure maps to outcome without output", () => {
    const outcome = mapExecutorResponseToOutcome({ kind: "retryableFailure", error: "err" });
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toBeUndefined();
  });

  it("submit via authority maps failure to failure taxonomy", async () => {
    const runId = ids.runId();
    const attemptId = ids.attemptId();
    const authority = new MockAuthority();
    const finish = buildAttemptFinishCommand(21, runId, attemptId, { kind: "retryableFailure", error: "transient network failure" }, 2_100);
    const outcome = await submitAttemptFinishViaAuthority(finish, "immediate", authority);
    expect(outcome.applied).toEqual({
      kind: "attemptFinish",
      runId,
      attemptId,
      outcome: { result: "failure", error: "transient network failure" },
    });
  });
});

describe("attempt finish (additions)", () => {
  it("suspended keeps output; empty output is none", () => {
    expect(mapExecutorResponseToOutcome({ kind: "suspended", output: new Uint8Array([4]) })).toEqual({ result: "suspended", output: new Uint8Array([4]) });
    expect(mapExecutorResponseToOutcome({ kind: "suspended", output: new Uint8Array() })).toEqual({ result: "suspended" });
    expect(mapExecutorResponseToOutcome({ kind: "success", output: new Uint8Array() })).toEqual({ result: "success" });
  });

  it("an authority rejection is wrapped with the run id and the cause", async () => {
    const cause = new Error("run not running");
    const authority: MutationAuthority = {
      submitCommand: () => Promise.reject(cause),
      submitBatch: () => Promise.reject(cause),
      latestSequence: () => 0,
    };
    const runId = ids.runId();
    const finish = buildAttemptFinishCommand(1, runId, ids.attemptId(), { kind: "success" }, 1);
    const error = await submitAttemptFinishViaAuthority(finish, "immediate", authority).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AttemptFinishSubmissionError);
    expect(ActionQueueError.hasCode(error, "ATTEMPT_FINISH_SUBMISSION")).toBe(true);
    expect((error as AttemptFinishSubmissionError).runId).toBe(runId);
    expect((error as AttemptFinishSubmissionError).cause).toBe(cause);
    expect((error as Error).message).toContain(runId);
  });

  it("a synchronous throw from the authority is wrapped too", async () => {
    const authority: MutationAuthority = {
      submitCommand: () => {
        throw new Error("poisoned");
      },
      submitBatch: () => Promise.reject(new Error("x")),
      latestSequence: () => 0,
    };
    const finish = buildAttemptFinishCommand(1, ids.runId(), ids.attemptId(), { kind: "success" }, 1);
    await expect(submitAttemptFinishViaAuthority(finish, "immediate", authority)).rejects.toBeInstanceOf(AttemptFinishSubmissionError);
  });
});

describe("attempt finish with the run's next state", () => {
  it("submits the finish and the transition as one batch and resolves with the finish's outcome", async () => {
    const batches: (readonly MutationCommand[])[] = [];
    const authority: MutationAuthority = {
      submitCommand: () => Promise.reject(new Error("must go as a batch")),
      submitBatch: (commands) => {
        batches.push(commands);
        return Promise.resolve(commands.map((c) => ({ sequence: c.sequence, applied: { kind: "noOp" as const } })));
      },
      latestSequence: () => 0,
    };
    const runId = ids.runId();
    const finish = buildAttemptFinishCommand(7, runId, ids.attemptId(), { kind: "success" }, 1);
    const next: MutationCommand = { kind: "runStateTransition", sequence: 8, timestamp: 1, runId, previousState: "running", newState: "completed" };
    const outcome = await submitAttemptFinishViaAuthority(finish, "immediate", authority, next);
    expect(batches).toEqual([[finish, next]]);
    expect(outcome.sequence).toBe(7);
  });

  it("wraps a refused or throwing batch with the run id and the cause", async () => {
    const cause = new Error("attempt in progress");
    const runId = ids.runId();
    const finish = buildAttemptFinishCommand(1, runId, ids.attemptId(), { kind: "success" }, 1);
    const next: MutationCommand = { kind: "runStateTransition", sequence: 2, timestamp: 1, runId, previousState: "running", newState: "completed" };
    for (const submitBatch of [() => Promise.reject(cause), () => { throw cause; }]) {
      const authority: MutationAuthority = { submitCommand: () => Promise.reject(new Error("unused")), submitBatch, latestSequence: () => 0 };
      const error = await submitAttemptFinishViaAuthority(finish, "immediate", authority, next).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AttemptFinishSubmissionError);
      expect((error as AttemptFinishSubmissionError).runId).toBe(runId);
      expect((error as AttemptFinishSubmissionError).cause).toBe(cause);
    }
  });
});

describe("fenced attempt finish", () => {
  it("a finish from a stale holder is refused before submission", async () => {
    const authority = new MockAuthority();
    const leases = new LeaseTable();
    const runId = ids.runId();
    const stale = ids.attemptId();
    const current = ids.attemptId();
    leases.set({ runId, owner: "runtime", attemptId: current, expiresAt: 10 });
    expect(() => submitFencedAttemptFinish(buildAttemptFinishCommand(1, runId, stale, { kind: "success" }, 1), "immediate", authority, leases)).toThrow(
      /stale/,
    );
    expect(authority.submitted).toHaveLength(0);
    await submitFencedAttemptFinish(buildAttemptFinishCommand(1, runId, current, { kind: "success" }, 1), "immediate", authority, leases);
    expect(authority.submitted).toHaveLength(1);
  });
});

/** Accepts batches whose first command is an attempt finish into one shared group commit; refuses anything else. */
class GroupCommitMock extends MockAuthority implements GroupCommitMutationAuthority {
  readonly batches: MutationCommand[][] = [];
  readonly commit = Promise.resolve();
  submitBatchDurable(commands: readonly MutationCommand[], _durability: DurabilityPolicy): Promise<void> {
    if (commands[0]?.kind !== "attemptFinish" && commands[0]?.kind !== "runFinish") return Promise.reject(new Error("refused: not an attempt finish"));
    this.batches.push([...commands]);
    this.submitted.push(...commands);
    return this.commit;
  }
}

describe("submitAttemptFinishInGroupCommit", () => {
  it("submits the finish and the next state as one batch and returns the group commit's shared promise", async () => {
    const authority = new GroupCommitMock();
    const runId = ids.runId();
    const attemptId = ids.attemptId();
    const finish = buildAttemptFinishCommand(1, runId, attemptId, { kind: "success" }, 10);
    const next: MutationCommand = { kind: "runStateTransition", sequence: 2, timestamp: 10, runId, previousState: "running", newState: "completed" };
    const durable = submitAttemptFinishInGroupCommit(finish, "immediate", authority, next);
    expect(durable).toBe(authority.commit);
    await durable;
    // The run's move out of running travels with the finish as one runFinish record.
    expect(authority.batches).toEqual([[{ kind: "runFinish", sequence: 1, timestamp: 10, runId, attemptId, outcome: finish.outcome, newState: "completed" }]]);
    const alone = buildAttemptFinishCommand(3, runId, attemptId, { kind: "success" }, 11);
    expect(submitAttemptFinishInGroupCommit(alone, "immediate", authority)).toBe(authority.commit);
    expect(authority.batches[1]).toEqual([alone]);
  });

  it("fuses a suspension without a reason, and keeps two commands when the follow-up is not the finish's own move", () => {
    const authority = new GroupCommitMock();
    const runId = ids.runId();
    const attemptId = ids.attemptId();
    const finish = buildAttemptFinishCommand(1, runId, attemptId, { kind: "suspended" }, 10);
    void submitAttemptFinishInGroupCommit(finish, "immediate", authority, { kind: "runSuspend", sequence: 2, timestamp: 10, runId });
    expect(authority.batches[0]).toEqual([{ kind: "runFinish", sequence: 1, timestamp: 10, runId, attemptId, outcome: finish.outcome, newState: "suspended" }]);
    const apart: MutationCommand[] = [
      { kind: "runSuspend", sequence: 2, timestamp: 10, runId, reason: "budget" }, // a reason the fused record would lose
      { kind: "runStateTransition", sequence: 2, timestamp: 11, runId, previousState: "running", newState: "completed" }, // another time
      { kind: "runStateTransition", sequence: 2, timestamp: 10, runId: ids.runId(), previousState: "running", newState: "completed" }, // another run
      { kind: "runStateTransition", sequence: 3, timestamp: 10, runId, previousState: "running", newState: "completed" }, // not next in line
      { kind: "enginePause", sequence: 2, timestamp: 10 },
    ];
    for (const next of apart) {
      void submitAttemptFinishInGroupCommit(finish, "immediate", authority, next);
      expect(authority.batches.at(-1)).toEqual([finish, next]);
    }
  });

  it("wraps a refusal in AttemptFinishSubmissionError naming the run", async () => {
    const authority = new GroupCommitMock();
    const runId = ids.runId();
    const transition: MutationCommand = { kind: "runStateTransition", sequence: 1, timestamp: 1, runId, previousState: "running", newState: "completed" };
    // A refused batch: the mock rejects anything not led by an attempt finish, and its sequence does not move.
    const refused = submitAttemptFinishInGroupCommit(transition as never, "immediate", authority);
    await expect(refused).rejects.toBeInstanceOf(AttemptFinishSubmissionError);
    await expect(refused).rejects.toMatchObject({ runId, message: expect.stringContaining("refused: not an attempt finish") });
    expect(authority.batches).toEqual([]);
  });
});

