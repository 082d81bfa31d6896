#!/usr/bin/env node
/**
 * The `actionqueue` executable: runs the CLI on the process arguments and
 * exits with its code once stdout and stderr have been flushed.
 */
import { main } from "./program.js";

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Flush, then exit: a handler module or a stray timer must not keep us alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
