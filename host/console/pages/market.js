// The 二级团 marketplace. For an agency: the pools on the plaza it may join (with its own
// plan for their goods), the pools it joined, the merchants' offers open to it and what
// each pool earned it. For a merchant: the offers it opened to agencies.

import { api, all } from "../api.js";
import { t } from "../i18n.js";
import { h, table, section, yuan, time, actionButton, loading } from "../ui.js";

/** Parts per million as a percentage: 150000 → "15%". */
const percent = (ppm) => `${(ppm / 10000).toFixed(ppm % 10000 ? 2 : 0)}%`;

export async function render(main, params, ctx) {
  main.append(h("h1", {}, t("nav.market")));
  if (ctx.me.tenant_kind === "agency") return agency(main, ctx);
  const offers = await all("/v1/offers");
  main.append(section(t("market.own_offers"), offerTable(offers, ctx, false)));
}

function offerTable(offers, ctx, withMerchant) {
  return table(
    [
      ...(withMerchant ? [[t("earnings.merchant"), (o) => o.merchant]] : []),
      [t("market.offer"), (o) => o.id],
      [t("market.service_rate"), (o) => percent(o.service_rate_ppm)],
      [t("market.goods"), (o) => [...o.spus, ...o.categories.map((c) => `${t("line.categories")}: ${c}`)].join(", ") || "—"],
      [t("market.window"), (o) => (o.from_ms || o.until_ms ? `${time(o.from_ms, ctx.offset)} – ${time(o.until_ms, ctx.offset)}` : t("market.always"))],
      [t("market.agencies"), (o) => (o.agencies.length ? o.agencies.join(", ") : t("market.every_agency"))],
    ],
    offers,
    { empty: t("market.no_offers") },
  );
}

async function agency(main, ctx) {
  const pools = h("div");
  const joined = h("div");
  const report = h("div");
  const offers = h("div");
  main.append(section(t("market.pools"), pools), section(t("market.memberships"), joined), section(t("market.report"), report), section(t("market.open_offers"), offers));
  const plans = (await all("/v1/plans")).map((p) => p.id);
  const refresh = async () => {
    const memberships = await all("/v1/memberships");
    const member = new Set(memberships.map((m) => `${m.carrier}/${m.pool}`));
    await Promise.all([
      loading(pools, async () => {
        const list = (await all("/v1/plaza/pools")).filter((p) => p.carrier !== ctx.me.tenant);
        return table(
          [
            [t("market.carrier"), (p) => p.carrier],
            [t("market.pool"), (p) => `${p.name} (${p.id})`],
            [t("market.goods"), (p) => `${p.items.length} · ${p.merchants.join(", ")}`],
            [t("market.helper_rate"), (p) => percent(p.helper_rate_ppm)],
            ["", (p) => (member.has(`${p.carrier}/${p.id}`) ? h("span", { class: "ok" }, t("market.joined")) : joinForm(p, plans, refresh))],
          ],
          list,
          { empty: t("market.no_pools") },
        );
      }),
      loading(joined, async () =>
        table(
          [
            [t("market.pool"), (m) => `${m.carrier}/${m.pool}`],
            [t("market.your_plan"), (m) => m.plan ?? "—"],
            [t("market.since"), (m) => time(m.joined_ms, ctx.offset)],
            [
              "",
              (m) => {
                const status = h("span", { role: "status" });
                return [
                  actionButton(t("market.leave"), async () => {
                    await api("DELETE", `/v1/plaza/pools/${encodeURIComponent(m.carrier)}/${encodeURIComponent(m.pool)}/members`);
                    await refresh();
                  }, { status, className: "link danger" }),
                  status,
                ];
              },
            ],
          ],
          memberships,
          { empty: t("market.no_memberships") },
        ),
      ),
      loading(report, async () => {
        const r = await api("GET", "/v1/plaza/report");
        return table(
          [
            [t("market.pool"), (f) => f.pool],
            [t("market.role"), (f) => t(`party.${f.role}`)],
            [t("budget.orders"), (f) => String(f.orders)],
            ["GMV", (f) => yuan(f.gmv)],
            [t("earnings.received"), (f) => yuan(f.received)],
            [t("earnings.paid_on"), (f) => yuan(f.paid_out)],
            [t("earnings.net"), (f) => h("strong", {}, yuan(f.net))],
          ],
          [...r.pools, { ...r.total, pool: t("earnings.total"), role: "" }],
        );
      }),
      loading(offers, async () => offerTable(await all("/v1/plaza/offers"), ctx, true)),
    ]);
  };
  await refresh();
}

function joinForm(pool, plans, refresh) {
  const select = h(
    "select",
    { "aria-label": t("market.your_plan") },
    h("option", { value: "" }, t("market.no_plan")),
    plans.map((id) => h("option", { value: id }, id)),
  );
  const status = h("span", { role: "status" });
  return h(
    "span",
    { class: "inline" },
    select,
    actionButton(t("market.join"), async () => {
      await api("POST", `/v1/plaza/pools/${encodeURIComponent(pool.carrier)}/${encodeURIComponent(pool.id)}/members`, { body: { plan: select.value || null } });
      await refresh();
    }, { status, className: "primary" }),
    status,
  );
}
