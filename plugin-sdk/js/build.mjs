#!/usr/bin/env node
// Build a JavaScript rule to a Plaza plugin: `node build.mjs <rule.js> <out.wasm>`.
//
// The rule and this SDK (with its JSON Schema validator) are bundled into one module with
// rolldown, then componentize-js turns the module into a component of contract 0.2's
// component world (plugin-sdk/wit/component/rule.wit) with every WASI feature off: the
// component imports nothing. Both tools come from npm (`npm ci` in this folder); nothing
// is downloaded from anywhere else (ahead-of-time compilation, which would fetch weval,
// stays off).

import { componentize } from "@bytecodealliance/componentize-js";
import { rolldown } from "rolldown";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [rule, out] = process.argv.slice(2);
if (!rule || !out) {
  console.error("usage: node build.mjs <rule.js> <out.wasm>");
  process.exit(2);
}

const bundle = await rolldown({
  input: resolve(rule),
  platform: "neutral",
  resolve: { alias: { "plaza-rules": join(here, "plaza-rules.js") }, modules: [join(here, "node_modules")] },
  logLevel: "warn",
});
// StarlingMonkey's `location` throws outside a request; the schema validator only asks it
// for a base URI, and a rule has none.
const banner = 'Object.defineProperty(globalThis, "location", { value: undefined });';
const { output } = await bundle.generate({ format: "esm", banner });
const work = await mkdtemp(join(tmpdir(), "plaza-js-"));
try {
  const bundled = join(work, "rule.js");
  await writeFile(bundled, output[0].code);
  const { component } = await componentize({
    sourcePath: bundled,
    witPath: join(here, "..", "wit", "component", "rule.wit"),
    worldName: "rule",
    disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
  });
  await writeFile(out, component);
  console.log(JSON.stringify({ wasm: resolve(out), bytes: component.length }));
} finally {
  await rm(work, { recursive: true, force: true });
}
