import type { WalFinding } from "@actionqueue/storage";
import { describe, expect, it } from "vitest";
import { describeRepair, findingJson, walDirOf } from "./wal.js";

const finding: WalFinding = {
  kind: "incomplete_payload",
  file: "/d/wal/00000000000000000001.wal",
  offset: 310,
  message: "record is cut short",
  repair: "automatic",
  truncateAt: 300,
  bytesRemoved: 17,
  deleteFile: false,
};

describe("wal findings", () => {
  it("say what the next open does", () => {
    expect(describeRepair({ repair: "automatic" })).toBe("the next open removes it by itself");
    expect(describeRepair({ repair: "truncatePartial" })).toContain("wal repair --truncate-partial");
    expect(describeRepair({ repair: "none" })).toContain("no automatic repair");
  });

  it("print file, offset, kind and the repair plan as JSON", () => {
    expect(findingJson(finding)).toEqual({
      kind: "incomplete_payload",
      file: "/d/wal/00000000000000000001.wal",
      offset: 310,
      message: "record is cut short",
      repair: "automatic",
      repairedByNextOpen: true,
      truncateAt: 300,
      bytesRemovedByRepair: 17,
      deletesFile: false,
    });
    expect(findingJson({ ...finding, repair: "truncatePartial" }).repairedByNextOpen).toBe(false);
    expect(walDirOf("/d")).toBe("/d/wal");
  });
});
