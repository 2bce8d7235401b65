// A JavaScript rule that misbehaves on purpose, for the large plugins' lane tests. Never
// put it in a real plan. Configuration: {"mode": "…"}, one of `counter` (notes how many
// times this instance evaluated: 1 when every evaluation has a fresh instance), `loop`
// (never returns), `memory` (allocates without end), `throw`, `huge-output` (past the
// output limit), `huge-answer` (past what the host copies out of one call), `bad-effect`
// (an effect the contract does not have), `log-flood`.

import { Effect, Stage, log, rule } from "plaza-rules";

let evaluations = 0;

export const { describe, validate, evaluate } = rule({
  name: "js-hostile",
  version: "0.1.0",
  stage: Stage.StorePromotion,
  description: "Misbehaves on purpose (sandbox tests)",
  configSchema: {
    type: "object",
    required: ["mode"],
    additionalProperties: false,
    properties: { mode: { type: "string" } },
  },
  evaluate(config) {
    evaluations += 1;
    switch (config.mode) {
      case "counter":
        return [Effect.note(`evaluation ${evaluations}`)];
      case "loop":
        for (;;) evaluations += 1;
      case "memory": {
        const hoard = [];
        for (;;) hoard.push(new Uint8Array(1 << 24));
      }
      case "throw":
        throw new Error("hostile rule threw on purpose");
      case "huge-output":
        return Array.from({ length: 100 }, () => Effect.note("x".repeat(300)));
      case "huge-answer":
        return [Effect.note("x".repeat(80000))];
      case "bad-effect":
        return [{ teleport: { discount: 1 } }];
      case "log-flood":
        for (let i = 0; i < 10000; i++) log(`line ${i}`);
        return [];
      default:
        return [];
    }
  },
});
