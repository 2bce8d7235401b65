// Budgets: for every plan, each step's budget and limits and what its orders used of them.

import { api, all } from "../api.js";
import { t } from "../i18n.js";
import { h, table, section, yuan, loading } from "../ui.js";

const MONEY = new Set(["max_amount", "max_amount_per_day"]);

function limits(budget) {
  const set = Object.entries(budget ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (!set.length) return t("budget.unlimited");
  return h("ul", { class: "plain" }, set.map(([k, v]) => h("li", {}, `${t(`budget.${k}`)}: ${MONEY.has(k) ? yuan(v) : v}`)));
}

function used(amount, max) {
  if (!max) return yuan(amount);
  const share = Math.min(1, amount / max);
  return h("span", {}, `${yuan(amount)} / ${yuan(max)} `, h("meter", { min: 0, max: 1, value: share, "aria-label": t("budget.used") }));
}

export async function render(main, params, ctx) {
  const body = h("div");
  main.append(h("h1", {}, t("nav.budgets")), body);
  await loading(body, async () => {
    const plans = await all("/v1/plans");
    const usage = await Promise.all(plans.map(async (p) => [p, await api("GET", `/v1/plans/${encodeURIComponent(p.id)}/budgets`)]));
    const withBudgets = usage.filter(([, steps]) => steps.length);
    if (!withBudgets.length) return h("p", { class: "empty" }, t("budget.none"));
    return withBudgets.map(([p, steps]) =>
      section(
        p.id,
        table(
          [
            [t("quote.step"), (s) => s.step],
            [t("budget.limits"), (s) => limits(s.budget)],
            [t("budget.orders"), (s) => (s.budget.max_orders ? `${s.orders} / ${s.budget.max_orders}` : String(s.orders))],
            [t("budget.amount"), (s) => used(s.amount, s.budget.max_amount)],
            [t("budget.units"), (s) => String(s.units)],
            [t("budget.today"), (s) => (s.today ? `${s.today.day}: ${s.today.orders} · ${yuan(s.today.amount)}` : "—")],
          ],
          steps,
        ),
      ),
    );
  });
}
