// Small DOM and formatting helpers shared by every page.

import { t } from "./i18n.js";

/** An element: `h("button", { class: "primary", onclick }, "Save")`. Children may be
 *  strings, nodes, arrays or null (skipped). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Fen as yuan with two decimals: 58475 → "¥584.75". Exact for every safe integer. */
export function yuan(fen) {
  if (typeof fen !== "number" || !Number.isSafeInteger(fen)) return "—";
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** "584.75" (or "¥584.75", "584.7", "584") → 58475 fen; null when it is not an amount. */
export function parseYuan(text) {
  const m = /^\s*(-)?¥?\s*(\d{1,13})(?:\.(\d{1,2}))?\s*$/.exec(String(text));
  if (!m) return null;
  const fen = Number(m[2]) * 100 + Number((m[3] ?? "0").padEnd(2, "0"));
  return m[1] ? -fen : fen;
}

/** A time in the merchant's zone: "2026-12-07 10:00 (UTC+08:00)". */
export function time(ms, offsetMinutes = 480) {
  if (typeof ms !== "number") return "—";
  const local = new Date(ms + offsetMinutes * 60000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 16)} (${zone(offsetMinutes)})`;
}

export function zone(offsetMinutes) {
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** A `datetime-local` value in the merchant's zone, and back. */
export function toLocalInput(ms, offsetMinutes) {
  return new Date(ms + offsetMinutes * 60000).toISOString().slice(0, 16);
}
export function fromLocalInput(value, offsetMinutes) {
  const utc = Date.parse(`${value}:00Z`);
  return Number.isNaN(utc) ? null : utc - offsetMinutes * 60000;
}

/** A region that shows loading, then the content or the error of `work`. */
export async function loading(container, work) {
  container.replaceChildren(h("p", { class: "loading", role: "status" }, t("loading")));
  try {
    const content = await work();
    container.replaceChildren(...[content].flat().filter(Boolean));
  } catch (error) {
    container.replaceChildren(errorBox(error));
  }
}

/** An error as the page shows it: the API's message, and its type for support. */
export function errorBox(error) {
  return h(
    "div",
    { class: "error", role: "alert" },
    h("strong", {}, t("error")),
    " ",
    error?.message ?? String(error),
    error?.type ? h("code", { class: "error-type" }, error.type) : null,
  );
}

/** A button that disables itself and shows progress while `action` runs; its result or
 *  error goes to `status` (an element with role=status). */
export function actionButton(label, action, { status, className = "" } = {}) {
  const button = h("button", { type: "button", class: className }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    status?.replaceChildren(h("span", { class: "loading" }, t("working")));
    try {
      const done = await action();
      status?.replaceChildren(...[done ?? ""].flat());
    } catch (error) {
      status?.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });
  return button;
}

/** A table from rows and columns `[header, (row) => cell]`. */
export function table(columns, rows, { empty = t("none"), caption } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map(([head]) => h("th", { scope: "col" }, head)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))),
    ),
  );
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}
