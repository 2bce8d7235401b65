// The console's shell: sign in with a key, the navigation, and a page per route
// (`#/plugins`, `#/plans/teahouse-autumn`, …). Each page renders itself from the API.

import { api, session, ApiError } from "./api.js";
import { t, lang, setLang, languages } from "./i18n.js";
import { h, errorBox, zone } from "./ui.js";
import * as plugins from "./pages/plugins.js";
import * as plans from "./pages/plans.js";
import * as simulator from "./pages/simulator.js";
import * as orders from "./pages/orders.js";
import * as budgets from "./pages/budgets.js";
import * as earnings from "./pages/earnings.js";
import * as market from "./pages/market.js";

const root = document.getElementById("app");

/** Pages by the first segment of the route; `roles` are who sees them in the menu. */
const PAGES = [
  { path: "plugins", page: plugins, title: "nav.plugins", members: true },
  { path: "plans", page: plans, title: "nav.plans", members: true },
  { path: "simulator", page: simulator, title: "nav.simulator", members: true },
  { path: "orders", page: orders, title: "nav.orders", members: true },
  { path: "budgets", page: budgets, title: "nav.budgets", members: true },
  { path: "market", page: market, title: "nav.market", members: true },
  { path: "earnings", page: earnings, title: "nav.earnings", beneficiaries: true },
];

/** What every page is given: who is signed in and the merchant's time zone. */
const ctx = { me: null, offset: 480, navigate: (hash) => (location.hash = hash) };

async function start() {
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  if (!session.key) return signIn();
  try {
    ctx.me = await api("GET", "/v1/me");
  } catch (error) {
    session.key = null;
    return signIn(error);
  }
  if (ctx.me.kind === "member") {
    // Times are shown in the merchant's zone (its order settings say which).
    const settings = await api("GET", "/v1/settings/orders").catch(() => null);
    ctx.offset = settings?.utc_offset_minutes ?? 480;
  }
  shell();
  window.onhashchange = route;
  route();
}

function signIn(error) {
  const input = h("input", {
    id: "key",
    type: "password",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
  });
  const status = h("div", { role: "status", "aria-live": "polite" });
  if (error && !(error instanceof ApiError && error.status === 401)) status.append(errorBox(error));
  if (error instanceof ApiError && error.status === 401) status.append(errorBox(new Error(t("signin.wrong"))));
  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: async (e) => {
        e.preventDefault();
        status.replaceChildren(h("span", { class: "loading" }, t("working")));
        try {
          await api("GET", "/v1/me", { key: input.value.trim() });
        } catch (err) {
          const wrong = err instanceof ApiError && err.status === 401;
          status.replaceChildren(errorBox(wrong ? new Error(t("signin.wrong")) : err));
          return;
        }
        session.key = input.value.trim();
        start();
      },
    },
    h("h1", {}, t("title")),
    h("p", {}, t("signin.intro")),
    h("label", { for: "key" }, t("signin.key")),
    input,
    h("button", { type: "submit", class: "primary" }, t("signin.submit")),
    status,
    languageSwitch(),
  );
  root.replaceChildren(h("main", { class: "center" }, form));
  input.focus();
}

function languageSwitch() {
  const select = h(
    "select",
    { id: "lang", "aria-label": t("language"), onchange: (e) => { setLang(e.target.value); start(); } },
    languages.map(([code, name]) => h("option", { value: code, selected: code === lang() }, name)),
  );
  return h("span", { class: "lang" }, select);
}

function who() {
  const me = ctx.me;
  if (me.kind === "member") {
    return `${me.tenant_name} · ${t(`kind.${me.tenant_kind}`)} · ${t(`role.${me.role}`)}`;
  }
  if (me.kind === "beneficiary") return `${me.beneficiary} · ${t("kind.beneficiary")}`;
  return t("kind.operator");
}

function shell() {
  const visible = PAGES.filter((p) => (ctx.me.kind === "member" ? p.members : ctx.me.kind === "beneficiary" && p.beneficiaries));
  const nav = h(
    "nav",
    { "aria-label": t("nav.label") },
    h("ul", {}, visible.map((p) => h("li", {}, h("a", { href: `#/${p.path}`, dataset: { path: p.path } }, t(p.title))))),
  );
  const header = h(
    "header",
    {},
    h("a", { class: "brand", href: "#/" }, "Plaza"),
    h("span", { class: "who", id: "who" }, who()),
    ctx.me.kind === "member" ? h("span", { class: "zone" }, zone(ctx.offset)) : null,
    languageSwitch(),
    h("button", { type: "button", class: "link", id: "signout", onclick: () => { session.key = null; location.hash = ""; start(); } }, t("signout")),
  );
  root.replaceChildren(header, nav, h("main", { id: "page", tabindex: "-1" }));
}

function route() {
  const parts = location.hash.split("?")[0].replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const allowed = PAGES.filter((p) => (ctx.me.kind === "member" ? p.members : p.beneficiaries));
  const entry = allowed.find((p) => p.path === parts[0]) ?? allowed[0];
  const main = document.getElementById("page");
  if (!entry) {
    main.replaceChildren(h("p", {}, t("nothing_here")));
    return;
  }
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.path === entry.path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  main.replaceChildren();
  main.dataset.page = entry.path;
  delete main.dataset.ready;
  delete main.dataset.readyMs;
  Promise.resolve(entry.page.render(main, parts.slice(1), ctx))
    .catch((error) => main.replaceChildren(errorBox(error)))
    .finally(() => {
      // When the page finished drawing, in ms since navigation started (the console's
      // load benchmark reads it).
      main.dataset.readyMs = performance.now().toFixed(1);
      main.dataset.ready = "true";
    });
}

start();
