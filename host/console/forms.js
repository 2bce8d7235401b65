// Forms generated from a JSON Schema (a plugin's configuration schema, or a part of the
// API's OpenAPI document): objects, maps, lists, choices between variants (oneOf/anyOf),
// enums, numbers, strings and booleans, each with a label, its description as a hint, and
// a place for an error. What JSON Schema says across fields (if/then) is left to the
// plugin's own check on save, whose message lands on the field it names.

import { h, yuan, toLocalInput, fromLocalInput, zone } from "./ui.js";
import { t } from "./i18n.js";

let counter = 0;
const nextId = () => `f${++counter}`;

/** A form for `schema` filled with `value`. `root` resolves `$ref`s. */
export function schemaForm(schema, value, { root = schema, label, offset = 480 } = {}) {
  const ctx = { root, offset };
  const field = build(schema, value, "", label ?? null, true, ctx);
  const element = h("div", { class: "schema-form" }, field.el);
  return {
    element,
    /** The value the form holds now. */
    get: () => field.get(),
    /** Show `message` on the field `path` names ("tiers[0].discount", "tiers: …"), or on
     *  the form when no field matches. */
    showError(path, message) {
      clearErrors(element);
      const target = closestField(element, normalize(path)) ?? element;
      const id = nextId();
      const note = h("p", { class: "field-error", id, role: "alert" }, message);
      target.classList.add("invalid");
      const input = target.querySelector(":scope > input, :scope > select, :scope > textarea");
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", id);
      }
      target.append(note);
      (input ?? target).scrollIntoView?.({ block: "center" });
    },
    clearErrors: () => clearErrors(element),
  };
}

/** The field path at the start of a plugin's message ("tiers[0].discount: …"). */
export function errorPath(message) {
  const m = /^([A-Za-z_][\w.[\]-]*):\s/.exec(message ?? "");
  return m ? m[1] : "";
}

function normalize(path) {
  return String(path ?? "").replace(/\[(\d+)\]/g, ".$1").replace(/^\./, "");
}

function closestField(element, path) {
  let best = null;
  for (const node of element.querySelectorAll("[data-path]")) {
    const p = node.dataset.path;
    if (p && (path === p || path.startsWith(`${p}.`)) && (!best || p.length > best.dataset.path.length)) best = node;
  }
  return best;
}

function clearErrors(element) {
  for (const n of element.querySelectorAll(".field-error")) n.remove();
  for (const n of element.querySelectorAll(".invalid")) n.classList.remove("invalid");
  for (const n of element.querySelectorAll("[aria-invalid]")) {
    n.removeAttribute("aria-invalid");
    n.removeAttribute("aria-describedby");
  }
}

function resolve(schema, ctx) {
  let s = schema ?? {};
  for (let depth = 0; s.$ref && depth < 32; depth++) {
    const target = s.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((node, key) => node?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], ctx.root);
    const { $ref, ...rest } = s;
    s = { ...(target ?? {}), ...rest };
  }
  return s;
}

function types(s) {
  return Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
}

/** `oneOf: [{type: null}, X]` and `type: [T, "null"]`: X or T, optional. */
function unwrapNull(s, ctx) {
  const variants = s.oneOf ?? s.anyOf;
  if (variants) {
    const rest = variants.filter((v) => !types(resolve(v, ctx)).includes("null") || types(resolve(v, ctx)).length > 1);
    if (rest.length === 1 && variants.length === 2) {
      const { oneOf, anyOf, ...outer } = s;
      return { schema: { ...resolve(rest[0], ctx), ...outer }, nullable: true };
    }
  }
  const ts = types(s);
  if (ts.includes("null") && ts.length === 2) return { schema: { ...s, type: ts.find((x) => x !== "null") }, nullable: true };
  return { schema: s, nullable: false };
}

function wrap(path, label, description, control, extra = []) {
  return h(
    "div",
    { class: "field", dataset: { path } },
    label ? h("label", { for: control?.id ?? "" }, label) : null,
    control,
    description ? h("small", { class: "hint" }, description) : null,
    ...extra,
  );
}

function build(raw, value, path, label, required, ctx) {
  const resolved = resolve(raw, ctx);
  const { schema: s, nullable } = unwrapNull(resolved, ctx);
  const optional = nullable || !required;
  const description = s.description ?? resolved.description;
  if (s.const !== undefined) return { el: h("span", { hidden: true }), get: () => s.const };
  if (s.enum) return enumField(s, value, path, label, optional, description);
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return choice(s, variants, value, path, label, optional, description, ctx);
  const ts = types(s);
  const type = ts[0] ?? (s.properties ? "object" : s.items ? "array" : null);
  if (type === "object") {
    if (s.properties) return object(s, value, path, label, optional, description, ctx);
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      return map(s, value, path, label, optional, description, ctx);
    }
    return json(value, path, label, optional, description);
  }
  if (type === "array") return array(s, value, path, label, optional, description, ctx);
  if (type === "integer" && MOMENT.test(path)) return moment(value, path, label, optional, description, ctx);
  if (type === "integer" || type === "number") return number(s, type, value, path, label, optional, description);
  if (type === "string") return text(s, value, path, label, optional, description);
  if (type === "boolean") return boolean(value, path, label, description);
  return json(value, path, label, optional, description);
}

/** A point in time in ms since the epoch (`from_ms`, `until_ms`, `at_ms`). */
const MOMENT = /(^|[._])(from|until|at)_ms$/;

/** A moment, entered and shown in the merchant's time zone. */
function moment(value, path, label, optional, description, ctx) {
  const input = h("input", {
    id: nextId(),
    type: "datetime-local",
    required: !optional,
    value: typeof value === "number" ? toLocalInput(value, ctx.offset) : "",
  });
  // The input shows minutes: an untouched moment keeps its exact value.
  let touched = false;
  input.addEventListener("input", () => (touched = true));
  const get = () => {
    if (!touched && typeof value === "number") return value;
    if (input.value === "") return optional ? undefined : null;
    return fromLocalInput(input.value, ctx.offset) ?? input.value;
  };
  return { el: wrap(path, `${label ?? ""} (${zone(ctx.offset)})`, description, input), get };
}

function number(s, type, value, path, label, optional, description) {
  const input = h("input", {
    id: nextId(),
    type: "number",
    inputmode: type === "integer" ? "numeric" : "decimal",
    step: type === "integer" ? "1" : "any",
    min: s.minimum ?? s.exclusiveMinimum,
    max: s.maximum ?? s.exclusiveMaximum,
    required: !optional,
    value: value ?? "",
  });
  const get = () => {
    if (input.value === "") return optional ? undefined : null;
    const n = Number(input.value);
    return Number.isFinite(n) ? n : input.value;
  };
  // An amount in fen (its description says so) reads back in yuan as it is typed.
  const extra = [];
  if (type === "integer" && /\bfen\b/i.test(description ?? "")) {
    const shown = h("output", { class: "yuan", for: input.id });
    const update = () => (shown.textContent = input.value === "" ? "" : `= ${yuan(Number(input.value))}`);
    input.addEventListener("input", update);
    update();
    extra.push(shown);
  }
  return { el: wrap(path, label, description, input, extra), get };
}

function text(s, value, path, label, optional, description) {
  const input = h("input", {
    id: nextId(),
    type: "text",
    required: !optional,
    minlength: s.minLength,
    maxlength: s.maxLength,
    value: value ?? "",
  });
  const get = () => (input.value === "" && optional ? undefined : input.value);
  return { el: wrap(path, label, description, input), get };
}

function boolean(value, path, label, description) {
  const input = h("input", { id: nextId(), type: "checkbox", checked: value === true });
  const el = h(
    "div",
    { class: "field check", dataset: { path } },
    input,
    label ? h("label", { for: input.id }, label) : null,
    description ? h("small", { class: "hint" }, description) : null,
  );
  return { el, get: () => input.checked };
}

function enumField(s, value, path, label, optional, description) {
  const select = h(
    "select",
    { id: nextId(), required: !optional },
    optional ? h("option", { value: "" }, "—") : null,
    s.enum.map((v, i) => h("option", { value: String(i), selected: v === value }, String(v))),
  );
  if (value === undefined && !optional) select.value = "0";
  const get = () => (select.value === "" ? undefined : s.enum[Number(select.value)]);
  return { el: wrap(path, label, description, select), get };
}

function json(value, path, label, optional, description) {
  const area = h("textarea", { id: nextId(), rows: 4, spellcheck: "false", class: "code" });
  area.value = value === undefined ? "" : JSON.stringify(value, null, 2);
  const get = () => {
    if (area.value.trim() === "") return optional ? undefined : {};
    try {
      return JSON.parse(area.value);
    } catch {
      return area.value;
    }
  };
  return { el: wrap(path, label, description, area), get };
}

function object(s, value, path, label, optional, description, ctx) {
  const required = new Set(s.required ?? []);
  const v = value && typeof value === "object" ? value : {};
  const fields = Object.entries(s.properties).map(([name, sub]) => [
    name,
    build(sub, v[name], path ? `${path}.${name}` : name, name, required.has(name), ctx),
  ]);
  const body = h("div", { class: "fields" }, fields.map(([, f]) => f.el));
  const get = () => {
    const out = {};
    for (const [name, f] of fields) {
      const x = f.get();
      if (x !== undefined) out[name] = x;
    }
    return out;
  };
  if (!label) return { el: h("div", { dataset: { path } }, description ? h("p", { class: "hint" }, description) : null, body), get };
  return toggled(path, label, description, optional && value === undefined, optional, body, get);
}

/** A group: a fieldset, which an optional group can leave out (a checkbox). */
function toggled(path, label, description, startOff, optional, body, get) {
  const legend = h("legend", {}, label);
  const fieldset = h("fieldset", { class: "group", dataset: { path } }, legend);
  if (optional) {
    const box = h("input", { id: nextId(), type: "checkbox", checked: !startOff });
    const toggle = () => (body.hidden = !box.checked);
    box.addEventListener("change", toggle);
    legend.replaceChildren(box, h("label", { for: box.id }, label));
    toggle();
    if (description) fieldset.append(h("small", { class: "hint" }, description));
    fieldset.append(body);
    return { el: fieldset, get: () => (box.checked ? get() : undefined) };
  }
  if (description) fieldset.append(h("small", { class: "hint" }, description));
  fieldset.append(body);
  return { el: fieldset, get };
}

function map(s, value, path, label, optional, description, ctx) {
  const rows = h("div", { class: "rows" });
  const entries = [];
  const add = (key, v) => {
    const keyInput = h("input", { id: nextId(), type: "text", value: key ?? "", required: true, "aria-label": t("form.key") });
    const entry = { keyInput };
    const itemPath = () => (path ? `${path}.${keyInput.value}` : keyInput.value);
    entry.field = build(s.additionalProperties, v, itemPath(), null, true, ctx);
    keyInput.addEventListener("input", () => entry.field.el.querySelector("[data-path]")?.setAttribute("data-path", itemPath()));
    const row = h(
      "div",
      { class: "row" },
      h("div", { class: "field key" }, h("label", { for: keyInput.id }, t("form.key")), keyInput),
      entry.field.el,
      h("button", { type: "button", class: "link", onclick: () => { row.remove(); entries.splice(entries.indexOf(entry), 1); } }, t("form.remove")),
    );
    entries.push(entry);
    rows.append(row);
  };
  for (const [k, v] of Object.entries(value ?? {})) add(k, v);
  const body = h("div", {}, rows, h("button", { type: "button", onclick: () => add("", undefined) }, t("form.add_entry")));
  const get = () => {
    const out = {};
    for (const e of entries) out[e.keyInput.value] = e.field.get();
    return out;
  };
  return toggled(path, label ?? "", description, false, false, body, () => {
    const out = get();
    return optional && Object.keys(out).length === 0 ? undefined : out;
  });
}

function array(s, value, path, label, optional, description, ctx) {
  const item = unwrapNull(resolve(s.items ?? {}, ctx), ctx).schema;
  const itemType = types(item)[0];
  if (!item.enum && !item.oneOf && (itemType === "string" || itemType === "integer")) {
    // A list of words or numbers: one input, separated by commas.
    const input = h("input", { id: nextId(), type: "text", value: (value ?? []).join(", ") });
    const get = () => {
      const parts = input.value.split(/[,，]/).map((x) => x.trim()).filter(Boolean);
      if (!parts.length && optional) return undefined;
      return itemType === "integer" ? parts.map((x) => (Number.isFinite(Number(x)) ? Number(x) : x)) : parts;
    };
    return { el: wrap(path, label, [description, t("form.comma")].filter(Boolean).join(" "), input), get };
  }
  const rows = h("div", { class: "rows" });
  const fields = [];
  const add = (v) => {
    const index = fields.length;
    const field = build(s.items ?? {}, v, path ? `${path}.${index}` : String(index), `#${index + 1}`, true, ctx);
    const row = h(
      "div",
      { class: "row" },
      field.el,
      h("button", { type: "button", class: "link", onclick: () => { row.remove(); fields.splice(fields.indexOf(field), 1); } }, t("form.remove")),
    );
    fields.push(field);
    rows.append(row);
  };
  for (const v of value ?? []) add(v);
  const body = h("div", {}, rows, h("button", { type: "button", onclick: () => add(undefined) }, t("form.add_item")));
  const get = () => {
    const out = fields.map((f) => f.get());
    return optional && out.length === 0 ? undefined : out;
  };
  return toggled(path, label ?? "", description, false, false, body, get);
}

function branchLabel(v, i) {
  if (v.title) return v.title;
  if (v.const !== undefined) return String(v.const);
  if (v.enum?.length === 1) return String(v.enum[0]);
  const props = Object.entries(v.properties ?? {});
  const tag = props.find(([, p]) => p.const !== undefined);
  if (tag) return String(tag[1].const);
  if (v.required?.length === 1 && props.length === 1) return v.required[0];
  if (v.description) return v.description.split(/[.\n。]/)[0].slice(0, 48);
  return `#${i + 1}`;
}

function matches(v, value) {
  if (value === undefined) return false;
  if (v.const !== undefined) return v.const === value;
  if (v.enum) return v.enum.includes(value);
  const ts = types(v);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    if (ts.length && !ts.includes("object") && !v.properties) return false;
    const props = v.properties ?? {};
    if ((v.required ?? []).some((k) => !(k in value))) return false;
    if (Object.entries(props).some(([k, p]) => p.const !== undefined && value[k] !== p.const)) return false;
    return v.additionalProperties !== false || Object.keys(value).every((k) => k in props);
  }
  if (Array.isArray(value)) return ts.includes("array");
  if (typeof value === "number") return ts.includes("integer") || ts.includes("number");
  return ts.includes(typeof value);
}

function choice(s, variants, value, path, label, optional, description, ctx) {
  const resolved = variants.map((v) => resolve(v, ctx));
  let chosen = resolved.findIndex((v) => matches(v, value));
  const select = h(
    "select",
    { id: nextId(), "aria-label": label ?? t("form.variant") },
    optional ? h("option", { value: "" }, "—") : null,
    resolved.map((v, i) => h("option", { value: String(i) }, branchLabel(v, i))),
  );
  if (chosen < 0) chosen = optional && value === undefined ? -1 : 0;
  select.value = chosen < 0 ? "" : String(chosen);
  const slot = h("div", { class: "variant" });
  let current = null;
  const show = (keep) => {
    const i = select.value === "" ? -1 : Number(select.value);
    current = i < 0 ? null : build(variants[i], keep ? value : undefined, path, null, true, ctx);
    slot.replaceChildren(current ? current.el : "");
  };
  select.addEventListener("change", () => show(false));
  show(true);
  const el = h(
    "div",
    { class: "field choice", dataset: { path } },
    label ? h("label", { for: select.id }, label) : null,
    select,
    description ? h("small", { class: "hint" }, description) : null,
    slot,
  );
  return { el, get: () => (current ? current.get() : undefined) };
}
