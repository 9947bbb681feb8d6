// The launcher of a Node.js run (etc/languages.conf `launch`; spawn.h,
// "launched"): preloaded, as `node -r /sandbox/launch.js PROGRAM
// ARGS...`, in a process started with its box before the step. Node.js
// has started when it runs: it says so with a byte on fd 5, waits for its
// go on fd 4, and returns; Node.js then runs PROGRAM as `node PROGRAM
// ARGS...` would. It leaves no trace the program could see: not in
// require.cache, not in process.execArgv.
"use strict";
const fs = require("fs");
fs.writeSync(5, "r");
fs.closeSync(5);
const go = Buffer.alloc(1);
let n;
for (;;) {
	try {
		n = fs.readSync(4, go, 0, 1, null);
		break;
	} catch (e) {
		if (e.code !== "EAGAIN" && e.code !== "EINTR")
			throw e;
	}
}
fs.closeSync(4);
if (n !== 1 || go[0] !== 0x67)
	process.exit(0);	// the step will not run
delete require.cache[__filename];
const at = process.execArgv.indexOf("-r");
if (at >= 0)
	process.execArgv.splice(at, 2);
