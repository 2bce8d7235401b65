// The simulator: edit a cart (lines, buyer, channel, attribution, coupons, time), quote it
// against any version of a plan, and read each line's price, each step's adjustments, the
// commission, and why every step applied, did not, or failed (with its fuel).

import { api, all } from "../api.js";
import { t } from "../i18n.js";
import { h, table, section, yuan, parseYuan, toLocalInput, fromLocalInput, zone, errorBox } from "../ui.js";
import { explanation } from "./explain.js";

const CART = "plaza.cart";
const CHANNELS = ["live_room", "short_video", "official_account", "mini_program", "search", "community", "private_chat", "offline_qr"];
const PARTIES = ["promoter", "share_link", "promoter_agency", "creator", "livestreamer", "carrying_agency", "helper_agency"];

function defaultCart() {
  return {
    lines: [{ id: "l1", sku: "sku-1", merchant: "m-1", categories: [], quantity: 1, unit_price: 10000 }],
    buyer: { id: "b-1" },
    channel: "mini_program",
    coupon_codes: [],
    shipping_fee: 0,
    now_ms: Date.now(),
  };
}

export async function render(main, params, ctx) {
  const plans = await all("/v1/plans");
  main.append(h("h1", {}, t("nav.simulator")));
  if (!plans.length) {
    main.append(h("p", { class: "empty" }, t("simulator.no_plans")), h("a", { href: "#/plans" }, t("plans.new")));
    return;
  }
  let cart = JSON.parse(sessionStorage.getItem(CART) ?? "null") ?? defaultCart();
  const planSelect = h("select", { id: "sim-plan" }, plans.map((p) => h("option", { value: p.id }, p.id)));
  planSelect.value = params[0] && plans.some((p) => p.id === params[0]) ? params[0] : (plans.find((p) => p.active != null) ?? plans[0]).id;
  const versionSelect = h("select", { id: "sim-version" });
  const fillVersions = async () => {
    const head = await api("GET", `/v1/plans/${encodeURIComponent(planSelect.value)}`);
    versionSelect.replaceChildren(
      h("option", { value: "" }, head.active == null ? t("simulator.no_active") : t("simulator.active", { version: head.active })),
      ...[...head.versions].reverse().map((v) => h("option", { value: String(v.version) }, t("simulator.version", { version: v.version }))),
    );
    if (head.active == null) versionSelect.value = String(head.latest);
  };
  planSelect.addEventListener("change", fillVersions);
  await fillVersions();

  const editor = h("div", { class: "cart-editor" });
  const json = h("textarea", { id: "cart-json", rows: 16, class: "code", spellcheck: "false" });
  const jsonDetails = h("details", {}, h("summary", {}, t("simulator.json")), h("p", { class: "hint" }, t("simulator.json_hint")), json);
  let jsonDirty = false;
  json.addEventListener("input", () => (jsonDirty = true));
  jsonDetails.addEventListener("toggle", () => {
    if (jsonDetails.open && !jsonDirty) json.value = JSON.stringify(read(), null, 2);
  });
  let read = () => cart;
  const draw = () => {
    const built = cartForm(cart, ctx);
    read = built.read;
    editor.replaceChildren(built.element);
    jsonDirty = false;
  };
  draw();

  const result = h("div", { id: "quote-result", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "primary", id: "quote" }, t("simulator.quote"));
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          cart = jsonDirty ? JSON.parse(json.value) : read();
        } catch (error) {
          result.replaceChildren(errorBox(new Error(t("simulator.bad_json", { message: error.message }))));
          return;
        }
        sessionStorage.setItem(CART, JSON.stringify(cart));
        if (jsonDirty) draw();
        button.disabled = true;
        result.replaceChildren(h("p", { class: "loading", role: "status" }, t("simulator.quoting")));
        try {
          const quote = await api("POST", `/v1/plans/${encodeURIComponent(planSelect.value)}/quote`, {
            body: cart,
            query: { version: versionSelect.value },
          });
          result.replaceChildren(...quoteView(quote, ctx));
        } catch (error) {
          result.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
        }
      },
    },
    h(
      "div",
      { class: "inline" },
      h("div", { class: "field" }, h("label", { for: planSelect.id }, t("simulator.plan")), planSelect),
      h("div", { class: "field" }, h("label", { for: versionSelect.id }, t("plan.version")), versionSelect),
    ),
    editor,
    jsonDetails,
    h("div", { class: "inline" }, button, h("button", { type: "button", class: "link", onclick: () => { cart = defaultCart(); draw(); } }, t("simulator.reset"))),
  );
  main.append(form, result);
}

/** The cart's form; `read()` gives the cart it describes (fields it has no input for are
 *  kept from `cart`). */
function cartForm(cart, ctx) {
  const input = (id, label, value, props = {}) => {
    const el = h("input", { id, type: "text", value: value ?? "", ...props });
    return [el, h("div", { class: "field" }, h("label", { for: id }, label), el)];
  };
  const lines = [];
  const body = h("tbody");
  const addLine = (line) => {
    const n = lines.length + Date.now();
    const cells = {
      id: h("input", { type: "text", value: line.id, "aria-label": t("line.id"), size: 4, required: true }),
      sku: h("input", { type: "text", value: line.sku, "aria-label": t("line.sku"), required: true }),
      merchant: h("input", { type: "text", value: line.merchant, "aria-label": t("line.merchant"), required: true }),
      categories: h("input", { type: "text", value: (line.categories ?? []).join(", "), "aria-label": t("line.categories") }),
      quantity: h("input", { type: "number", min: 1, max: 99999, step: 1, value: line.quantity, "aria-label": t("line.quantity"), required: true }),
      price: h("input", { type: "text", inputmode: "decimal", value: (yuan(line.unit_price) ?? "").replace("¥", ""), "aria-label": t("line.unit_price"), required: true, class: "money" }),
    };
    const entry = { line, cells };
    const row = h(
      "tr",
      { dataset: { line: n } },
      Object.values(cells).map((c) => h("td", {}, c)),
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => { lines.splice(lines.indexOf(entry), 1); row.remove(); } }, t("form.remove"))),
    );
    lines.push(entry);
    body.append(row);
  };
  for (const line of cart.lines ?? []) addLine(line);
  const [buyerId, buyerField] = input("cart-buyer", t("cart.buyer"), cart.buyer?.id);
  const [tier, tierField] = input("cart-tier", t("cart.member_tier"), cart.buyer?.member_tier);
  const [tags, tagsField] = input("cart-buyer-tags", t("cart.buyer_tags"), (cart.buyer?.tags ?? []).join(", "));
  const newCustomer = h("input", { id: "cart-new", type: "checkbox", checked: cart.buyer?.new_customer === true });
  const channel = h("select", { id: "cart-channel" }, CHANNELS.map((c) => h("option", { value: c, selected: c === cart.channel }, t(`channel.${c}`))));
  const parties = PARTIES.map((p) => input(`cart-${p}`, t(`party.${p}`), cart.attribution?.[p]));
  const [coupons, couponsField] = input("cart-coupons", t("cart.coupons"), (cart.coupon_codes ?? []).join(", "));
  const [shipping, shippingField] = input("cart-shipping", t("cart.shipping"), yuan(cart.shipping_fee ?? 0).replace("¥", ""), { inputmode: "decimal", class: "money" });
  const when = h("input", { id: "cart-time", type: "datetime-local", value: toLocalInput(cart.now_ms ?? Date.now(), ctx.offset) });
  // The input shows minutes: an untouched time keeps the cart's exact one.
  let whenTouched = cart.now_ms === undefined;
  when.addEventListener("input", () => (whenTouched = true));
  const list = (text) => text.split(/[,，]/).map((x) => x.trim()).filter(Boolean);
  const money = (text, what) => {
    const fen = parseYuan(text);
    if (fen === null) throw new Error(t("cart.bad_amount", { what, text }));
    return fen;
  };
  const read = () => {
    const attribution = {};
    PARTIES.forEach((p, i) => {
      const v = parties[i][0].value.trim();
      if (v) attribution[p] = v;
    });
    const out = {
      ...cart,
      lines: lines.map(({ line, cells }) => ({
        ...line,
        id: cells.id.value.trim(),
        sku: cells.sku.value.trim(),
        merchant: cells.merchant.value.trim(),
        categories: list(cells.categories.value),
        quantity: Number(cells.quantity.value),
        unit_price: money(cells.price.value, t("line.unit_price")),
      })),
      buyer: {
        ...cart.buyer,
        id: buyerId.value.trim(),
        member_tier: tier.value.trim() || null,
        tags: list(tags.value),
        new_customer: newCustomer.checked,
      },
      channel: channel.value,
      attribution,
      coupon_codes: list(coupons.value),
      shipping_fee: money(shipping.value, t("cart.shipping")),
      now_ms: whenTouched ? (fromLocalInput(when.value, ctx.offset) ?? cart.now_ms) : cart.now_ms,
    };
    if (!Object.keys(attribution).length) delete out.attribution;
    return out;
  };
  const element = h(
    "div",
    {},
    h("h3", {}, t("cart.lines")),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "edit" },
        h("thead", {}, h("tr", {}, ["line.id", "line.sku", "line.merchant", "line.categories", "line.quantity", "line.unit_price_yuan"].map((k) => h("th", { scope: "col" }, t(k))), h("th"))),
        body,
      ),
    ),
    h("button", { type: "button", id: "add-line", onclick: () => addLine({ id: `l${lines.length + 1}`, sku: "", merchant: cart.lines?.[0]?.merchant ?? "", categories: [], quantity: 1, unit_price: 0 }) }, t("cart.add_line")),
    h(
      "div",
      { class: "grid" },
      buyerField,
      tierField,
      tagsField,
      h("div", { class: "field check" }, newCustomer, h("label", { for: newCustomer.id }, t("cart.new_customer"))),
      h("div", { class: "field" }, h("label", { for: channel.id }, t("cart.channel")), channel),
      couponsField,
      shippingField,
      h("div", { class: "field" }, h("label", { for: when.id }, `${t("cart.time")} (${zone(ctx.offset)})`), when),
    ),
    h("details", { open: Boolean(cart.attribution) }, h("summary", {}, t("cart.attribution")), h("div", { class: "grid" }, parties.map(([, f]) => f))),
  );
  return { element, read };
}

function quoteView(q, ctx) {
  const amounts = (a) => [yuan(a.original), yuan(a.discount), yuan(a.payable)];
  return [
    section(
      t("quote.totals", { plan: q.plan.id, version: q.plan.version }),
      table(
        [
          ["", (r) => r[0]],
          [t("amount.original"), (r) => r[1][0]],
          [t("amount.discount"), (r) => r[1][1]],
          [t("amount.payable"), (r) => h("strong", {}, r[1][2])],
        ],
        [[t("quote.items"), amounts(q.items)], [t("quote.shipping"), amounts(q.shipping)], [t("quote.total"), amounts(q.total)]],
      ),
    ),
    section(
      t("quote.lines"),
      table(
        [
          [t("line.sku"), (l) => l.sku],
          [t("line.quantity"), (l) => String(l.quantity)],
          [t("line.unit_price"), (l) => yuan(l.unit_price)],
          [t("amount.original"), (l) => yuan(l.original)],
          [t("amount.discount"), (l) => yuan(l.discount)],
          [t("amount.payable"), (l) => yuan(l.payable)],
          [t("quote.adjustments"), (l) => h("ul", { class: "plain" }, l.adjustments.map((a) => h("li", {}, h("code", {}, a.step), ` ${a.label} −${yuan(a.amount)}`)))],
        ],
        q.lines,
      ),
      q.shipping_adjustments?.length
        ? h("p", {}, t("quote.shipping"), ": ", q.shipping_adjustments.map((a) => `${a.label} −${yuan(a.amount)}`).join("; "))
        : null,
      q.gifts?.length ? h("p", {}, t("quote.gifts"), ": ", q.gifts.map((g) => `${g.sku} ×${g.quantity}`).join(", ")) : null,
    ),
    section(
      t("quote.commission"),
      table(
        [
          [t("quote.step"), (c) => c.step],
          [t("quote.line"), (c) => c.line],
          [t("quote.payer"), (c) => t(`party.${c.payer}`)],
          [t("quote.payee"), (c) => t(`party.${c.payee}`)],
          [t("quote.beneficiary"), (c) => c.beneficiary],
          [t("quote.amount"), (c) => yuan(c.amount)],
        ],
        q.commissions,
        { empty: t("quote.no_commission") },
      ),
    ),
    section(t("quote.explanation"), explanation(q.explanation), q.notes?.length ? h("ul", {}, q.notes.map((n) => h("li", {}, h("code", {}, n.step), " ", n.text))) : null),
    q.attribution ? section(t("quote.attribution"), attribution(q.attribution, ctx)) : null,
  ].filter(Boolean);
}

function attribution(a, ctx) {
  const resolved = Object.entries(a.resolved ?? {}).filter(([, v]) => v);
  return h(
    "div",
    {},
    h("p", {}, t("attribution.source", { source: a.source })),
    h("ul", { class: "plain" }, resolved.map(([k, v]) => h("li", {}, `${t(`party.${k}`)}: ${v}`))),
    (a.claims ?? []).length ? h("ul", { class: "plain" }, a.claims.map((c) => h("li", {}, `${t(`party.${c.field}`)} ${c.claimed}: ${t(`claim.${c.outcome}`)}`))) : null,
  );
}
