'use strict';
// Function-call harness for JavaScript "function" jobs: /sandbox/code/main.js,
// run as `node main.js <entry>`. Loads $HARNESS_ROOT/code/solution.js (a plain
// script defining function/const/let/var <entry>, or class Solution with a
// method <entry>; module.exports works too), calls the entry once per JSON
// text of $HARNESS_ROOT/code/inputs.json (an array is spread as the arguments;
// a returned Promise is awaited) and appends one line per testcase to
// $HARNESS_ROOT/results/output.json:
//   {"index":i,"actual":<json>|"error":"<Type>: <message>","executionTimeMs":t}
// HARNESS_ROOT defaults to /sandbox. Loading failures: stderr and exit 1.

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const ROOT = process.env.HARNESS_ROOT || '/sandbox';
const CODE_DIR = path.join(ROOT, 'code');
const RESULTS = path.join(ROOT, 'results', 'output.json');
const MAX_ERROR = 2000;

// Keep our own references: user code may replace globals.
const { stringify, parse } = JSON;
const { writeSync, closeSync } = fs;
const now = process.hrtime.bigint;
const exit = process.exit.bind(process);

function fail(msg) {
  writeSync(2, `harness: ${msg}\n`);
  exit(1);
}

function describe(e) {
  let msg;
  try {
    msg = e instanceof Error || (e && typeof e.name === 'string' && 'message' in e)
      ? `${e.name}: ${e.message}` : `Error: ${String(e)}`;
  } catch (err) {
    msg = 'Error: (unprintable exception)';
  }
  return msg.length <= MAX_ERROR ? msg : msg.slice(0, MAX_ERROR) + '...';
}

function trace(e) {
  try {
    return (e && typeof e.stack === 'string' && e.stack) || describe(e);
  } catch (err) {
    return describe(e);
  }
}

// JSON text of a result: Set -> array, Map -> object, typed array -> array,
// safe BigInt -> number, undefined -> null; NaN and Infinity are errors.
function encode(value) {
  const text = stringify(value, (key, v) => {
    if (v instanceof Set) return [...v];
    if (v instanceof Map) return Object.fromEntries(v);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`${v} is not valid JSON`);
    if (typeof v === 'bigint') {
      if (Number.isSafeInteger(Number(v))) return Number(v);
      throw new TypeError('BigInt out of the safe integer range');
    }
    return v;
  });
  return text === undefined ? 'null' : text;
}

function load(entry) {
  if (!/^[A-Za-z_$][\w$]*$/.test(entry)) fail(`invalid entry name ${stringify(entry)}`);
  const file = path.join(CODE_DIR, 'solution.js');
  // The code is a script, not a module: give it the usual CommonJS names.
  globalThis.require = require;
  globalThis.module = { exports: {} };
  globalThis.exports = globalThis.module.exports;
  globalThis.__filename = file;
  globalThis.__dirname = CODE_DIR;
  try {
    vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });
  } catch (e) {
    writeSync(2, `${trace(e)}\n`);
    fail('could not load solution.js');
  }
  // Top-level let/const/class are not properties of globalThis, but a later
  // script in the same context sees them.
  const lookup = (name) => vm.runInThisContext(
    `typeof ${name} === 'undefined' ? undefined : ${name}`);
  const exported = globalThis.module.exports || {};
  const isClass = (f) => /^class\b/.test(Function.prototype.toString.call(f));
  const fn = [lookup(entry), exported[entry]].find((f) => typeof f === 'function' && !isClass(f));
  if (fn) return (args) => fn(...args);
  const Solution = [lookup('Solution'), exported.Solution]
    .find((c) => typeof c === 'function' && c.prototype && typeof c.prototype[entry] === 'function');
  if (Solution) return (args) => new Solution()[entry](...args); // fresh instance per call
  fail(`entry ${stringify(entry)} not found: define a function ${entry} or a class Solution with a method ${entry}`);
}

async function main() {
  if (process.argv.length !== 3) fail('usage: main.js <entry>');
  let inputs, out;
  try {
    inputs = parse(fs.readFileSync(path.join(CODE_DIR, 'inputs.json'), 'utf8'));
    if (!Array.isArray(inputs) || !inputs.every((s) => typeof s === 'string')) {
      throw new Error('inputs.json must be a JSON array of strings');
    }
    const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
    out = fs.openSync(RESULTS, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o644);
  } catch (e) {
    fail(describe(e));
  }
  process.exit = (code) => { throw new Error(`process.exit(${code === undefined ? '' : code}) called`); };
  const call = load(process.argv[2]);

  const keepAlive = setInterval(() => {}, 1 << 30); // a never-settling Promise hangs, not exits

  for (let i = 0; i < inputs.length; i++) {
    let field, value, elapsed;
    try {
      value = parse(inputs[i]);
    } catch (e) {
      writeSync(out, `{"index":${i},"error":${stringify(`InputError: ${describe(e)}`)},"executionTimeMs":0}\n`);
      continue;
    }
    const start = now();
    try {
      let result = call(Array.isArray(value) ? value : [value]);
      if (result && typeof result.then === 'function') result = await result;
      elapsed = now() - start;
      try {
        field = `"actual":${encode(result)}`;
      } catch (e) {
        field = `"error":${stringify(`unserializable result: ${describe(e)}`)}`;
      }
    } catch (e) {
      elapsed = now() - start;
      field = `"error":${stringify(describe(e))}`;
      writeSync(2, `testcase ${i}: ${trace(e)}\n`);
    }
    const ms = (Number(elapsed) / 1e6).toFixed(3);
    writeSync(out, `{"index":${i},${field},"executionTimeMs":${ms}}\n`);
  }
  clearInterval(keepAlive);
  closeSync(out);
  exit(0); // do not wait for timers the user left running
}

main().catch((e) => fail(describe(e)));
