// 满减 and 每满减 in JavaScript: the twin of the Rust rule in plugins/threshold-discount,
// answering the same effects on every one of its fixtures (tests/js_rules/main.rs).
//
// Configuration, one of:
// - {"mode": "tiers", "tiers": [{"threshold": 30000, "discount": 3000}, …]}: 满减, the
//   highest tier reached applies;
// - {"mode": "repeat", "every": 10000, "discount": 1000, "cap": 5000}: 每满减, every full
//   `every` spent takes `discount` off, at most `cap` (optional).

import { Effect, Stage, rule, yuan } from "plaza-rules";

const fen = (description) => ({ type: "integer", minimum: 1, description });

export const { describe, validate, evaluate } = rule({
  name: "threshold-discount-js",
  version: "1.0.0",
  stage: Stage.StorePromotion,
  description: "满减 with tiers, or 每满减 repeating per threshold with a cap (JavaScript)",
  configSchema: {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    oneOf: [
      {
        type: "object",
        description: "满减 with tiers.",
        required: ["mode", "tiers"],
        additionalProperties: false,
        properties: {
          mode: { const: "tiers" },
          tiers: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              required: ["threshold", "discount"],
              additionalProperties: false,
              properties: { threshold: fen("spend at least (fen)"), discount: fen("take off (fen)") },
            },
          },
        },
      },
      {
        type: "object",
        description: "每满减 with an optional cap.",
        required: ["mode", "every", "discount"],
        additionalProperties: false,
        properties: {
          mode: { const: "repeat" },
          every: fen("for every full amount spent (fen)"),
          discount: fen("take off (fen)"),
          cap: { ...fen("at most (fen)"), type: ["integer", "null"] },
        },
      },
    ],
  },

  // What the schema cannot say: one field compared with another.
  validate(config) {
    if (config.mode === "tiers") {
      for (const t of config.tiers) {
        if (t.discount > t.threshold) {
          return `tiers: discount ${yuan(t.discount)} exceeds threshold ${yuan(t.threshold)}`;
        }
      }
    } else if (config.discount > config.every) {
      return "discount exceeds every";
    }
  },

  evaluate(config, input) {
    const spent = input.thresholdAmount();
    if (config.mode === "tiers") {
      // The highest tier reached; of equal thresholds, the last (as the Rust twin).
      let best = null;
      for (const t of config.tiers) {
        if (spent >= t.threshold && (best === null || t.threshold >= best.threshold)) best = t;
      }
      return best === null
        ? []
        : [Effect.orderDiscount(best.discount, `满${yuan(best.threshold)}减${yuan(best.discount)}`)];
    }
    const times = Math.floor(spent / config.every);
    let total = config.discount * times;
    if (config.cap !== undefined && config.cap !== null) total = Math.min(total, config.cap);
    return total > 0 ? [Effect.orderDiscount(total, `每满${yuan(config.every)}减${yuan(config.discount)}`)] : [];
  },
});
