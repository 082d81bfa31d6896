#!/usr/bin/env node
/**
 * The `actionqueue` executable: runs the CLI on the process arguments and
 * exits with its code once stdout and stderr have been flushed.
 */
import { installCrashGuard, main, wantsJson } from "./program.js";

const argv = process.argv.slice(2);
installCrashGuard({ stderr: process.stderr }, wantsJson(argv));
const code = await main(argv);
process.exitCode = code;
// Flush, then exit: a handler module or a stray timer must not keep us alive.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
