// Orders: the list (a range of days in the merchant's calendar, newest first, by status),
// and one order with its lines, commission
// shares, events, refunds, the explanation it was priced with and its ledger.

import { api, all, upTo } from "../api.js";
import { t } from "../i18n.js";
import { h, table, section, yuan, time, loading, toLocalInput, fromLocalInput, zone } from "../ui.js";
import { explanation } from "./explain.js";

const STATUSES = ["placed", "partially_refunded", "refunded", "cancelled"];

/** At most this many orders in the list: a narrower range shows the rest. */
const SHOWN = 1000;
const DAY = 86_400_000;

/** A `date` input's day as ms at the merchant's midnight. */
const midnight = (value, offset) => fromLocalInput(`${value}T00:00`, offset);

export async function render(main, params, ctx) {
  if (params.length) return order(main, params[0], ctx);
  const status = h("select", { id: "order-status" }, h("option", { value: "" }, t("orders.any_status")), STATUSES.map((s) => h("option", { value: s }, t(`status.${s}`))));
  // The last seven days of the merchant's calendar, by default.
  const today = toLocalInput(Date.now(), ctx.offset).slice(0, 10);
  const from = h("input", { id: "orders-from", type: "date", value: toLocalInput(Date.now() - 6 * DAY, ctx.offset).slice(0, 10) });
  const until = h("input", { id: "orders-until", type: "date", value: today });
  const list = h("div");
  const load = () =>
    loading(list, async () => {
      const query = { status: status.value, from_ms: midnight(from.value, ctx.offset), until_ms: midnight(until.value, ctx.offset) };
      if (query.until_ms !== null) query.until_ms += DAY;
      const { items: orders, more } = await upTo("/v1/orders", query, SHOWN);
      orders.reverse();
      return [
        more ? h("p", { class: "hint" }, t("orders.more", { shown: orders.length })) : null,
        table(
          [
            [t("order.id"), (o) => h("a", { href: `#/orders/${encodeURIComponent(o.id)}` }, o.id)],
            [t("order.created"), (o) => time(o.created_ms, ctx.offset)],
            [t("order.status"), (o) => t(`status.${o.status}`)],
            [t("order.buyer"), (o) => o.buyer],
            [t("order.plan"), (o) => `${o.plan.id} v${o.plan.version}`],
            [t("order.paid"), (o) => yuan(o.paid)],
            [t("order.refunded"), (o) => yuan(o.refunded)],
            [t("order.commission"), (o) => yuan(o.commission)],
            [t("order.promoter"), (o) => o.promoter ?? "—"],
          ],
          orders,
          { empty: t("orders.none") },
        ),
      ];
    });
  for (const input of [status, from, until]) input.addEventListener("change", load);
  main.append(
    h("h1", {}, t("nav.orders")),
    h(
      "div",
      { class: "card inline" },
      h("div", { class: "field" }, h("label", { for: status.id }, t("order.status")), status),
      h("div", { class: "field" }, h("label", { for: from.id }, `${t("orders.from")} (${zone(ctx.offset)})`), from),
      h("div", { class: "field" }, h("label", { for: until.id }, t("orders.until")), until),
    ),
    list,
  );
  await load();
}

async function order(main, id, ctx) {
  const path = `/v1/orders/${encodeURIComponent(id)}`;
  const [o, ledger] = await Promise.all([api("GET", path), all(`${path}/ledger`)]);
  const quote = o.quote ?? {};
  main.append(
    h("p", {}, h("a", { href: "#/orders" }, `← ${t("nav.orders")}`)),
    h("h1", {}, t("order.title", { id: o.id })),
    section(
      t("order.summary"),
      h(
        "dl",
        { class: "facts" },
        [
          [t("order.status"), t(`status.${o.status}`)],
          [t("order.state"), o.state ? t(`state.${o.state}`) : "—"],
          [t("order.created"), time(o.created_ms, ctx.offset)],
          [t("order.buyer"), o.cart?.buyer?.id ?? "—"],
          [t("order.plan"), `${o.plan.id} v${o.plan.version}`],
          [t("quote.total"), quote.total ? yuan(quote.total.payable) : "—"],
          [t("quote.shipping"), yuan(o.shipping)],
        ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
      ),
    ),
    section(
      t("quote.lines"),
      table(
        [
          [t("line.id"), (l) => l.id],
          [t("line.quantity"), (l) => String(l.quantity)],
          [t("amount.payable"), (l) => yuan(l.payable)],
          [t("order.refunded_units"), (l) => String(l.refunded_quantity ?? 0)],
          [t("order.refunded"), (l) => yuan(l.refunded ?? 0)],
        ],
        o.lines ?? [],
      ),
    ),
    section(
      t("quote.commission"),
      table(
        [
          [t("quote.line"), (c) => c.line],
          [t("quote.payee"), (c) => c.payee],
          [t("quote.amount"), (c) => yuan(c.amount)],
          [t("order.share_state"), (c) => (c.state ? t(`share.${c.state}`) : "—")],
          [t("order.clawed_back"), (c) => yuan(c.clawed_back ?? 0)],
        ],
        o.commissions ?? [],
        { empty: t("quote.no_commission") },
      ),
    ),
    section(
      t("order.ledger"),
      h("div", { id: "order-ledger" }, table(
        [
          ["#", (e) => String(e.seq)],
          [t("ledger.kind"), (e) => t(`ledger.${e.kind}`)],
          [t("quote.amount"), (e) => yuan(e.amount)],
          [t("quote.line"), (e) => e.line ?? "—"],
          [t("quote.step"), (e) => e.step ?? "—"],
          [t("quote.payer"), (e) => e.payer ?? "—"],
          [t("ledger.party"), (e) => e.party ?? "—"],
          [t("ledger.reference"), (e) => e.reference],
          [t("plan.when"), (e) => time(e.at_ms, ctx.offset)],
        ],
        ledger,
      )),
    ),
    (o.events ?? []).length
      ? section(t("order.events"), table([[t("plan.when"), (e) => time(e.at_ms, ctx.offset)], [t("ledger.kind"), (e) => e.type], [t("order.state"), (e) => `${t(`state.${e.from}`)} → ${t(`state.${e.to}`)}`], ["id", (e) => e.event_id]], o.events))
      : null,
    quote.explanation ? section(t("quote.explanation"), explanation(quote.explanation)) : null,
  );
}
