/**
 * Regenerates the golden WAL fixtures in test/fixtures/events/: one framed
 * record per sample event. Run it only when the format changes on purpose
 * (and bump FRAME_VERSION): `npx tsx scripts/generate-fixtures.ts`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeEvent } from "../src/codec/event-codec.js";
import { sampleEvents } from "../src/codec/sample-events.js";
import { encodeFrame } from "../src/wal/frame.js";

const dir = fileURLToPath(new URL("../test/fixtures/events/", import.meta.url));
mkdirSync(dir, { recursive: true });
for (const { name, command } of sampleEvents()) {
  writeFileSync(join(dir, `${name}.bin`), encodeFrame(command.sequence, 0, encodeEvent(command)));
}
console.log(`wrote ${sampleEvents().length} fixtures to ${dir}`);
