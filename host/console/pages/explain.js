// A quote's explanation: each step, whether it applied, did not (and why) or failed (and
// why), with its fuel, discount, commission, what the host clipped and the plugin's log.

import { t } from "../i18n.js";
import { h, table, yuan } from "../ui.js";

/** The details a reason or an error carries besides its type ("by: vip-price"). */
function details(object) {
  return Object.entries(object ?? {})
    .filter(([k]) => k !== "type")
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join("; ") : typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(", ");
}

export function why(step) {
  if (step.outcome === "not_applied" && step.reason) {
    const extra = details(step.reason);
    return [t(`reason.${step.reason.type}`), extra ? h("small", { class: "hint" }, ` (${extra})`) : null];
  }
  if (step.outcome === "failed" && step.error) {
    const extra = details(step.error);
    return [h("strong", {}, t(`failure.${step.error.type}`)), extra ? h("small", { class: "hint" }, ` (${extra})`) : null];
  }
  return "";
}

export function explanation(steps) {
  return table(
    [
      [t("quote.step"), (s) => h("code", {}, s.step)],
      [t("quote.plugin"), (s) => s.plugin],
      [t("plugin.stage"), (s) => t(`stage.${s.stage}`)],
      [t("quote.outcome"), (s) => h("span", { class: `outcome ${s.outcome}`, dataset: { step: s.step } }, t(`outcome.${s.outcome}`))],
      [t("quote.why"), (s) => h("span", { class: "why", dataset: { step: s.step } }, why(s))],
      [t("quote.fuel"), (s) => s.fuel.toLocaleString()],
      [t("amount.discount"), (s) => yuan(s.discount)],
      [t("quote.commission"), (s) => yuan(s.commission)],
      [
        t("quote.log"),
        (s) => [
          s.clipped?.length ? h("ul", { class: "plain" }, s.clipped.map((c) => h("li", {}, c))) : null,
          s.log ? h("pre", { class: "log" }, s.log, s.log_truncated ? "…" : "") : null,
        ],
      ],
    ],
    steps,
  );
}
