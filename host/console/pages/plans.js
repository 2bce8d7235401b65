// Plans: the list, and one plan's versions and activations, with the composer to save a
// new version, its diff to the active one, activate and roll back.

import { api, all, ApiError } from "../api.js";
import { t } from "../i18n.js";
import { h, table, section, time, loading, actionButton, errorBox } from "../ui.js";
import { composer } from "./composer.js";

const planLink = (id) => `#/plans/${encodeURIComponent(id)}`;

export async function render(main, params, ctx) {
  if (params.length) return plan(main, params[0], ctx);
  const list = h("div");
  const id = h("input", { id: "new-plan-id", type: "text", required: true, pattern: "[^\\s/]+", maxlength: 128 });
  main.append(
    h("h1", {}, t("nav.plans")),
    h(
      "form",
      { class: "card inline", onsubmit: (e) => { e.preventDefault(); ctx.navigate(planLink(id.value.trim())); } },
      h("h2", {}, t("plans.new")),
      h("div", { class: "field" }, h("label", { for: id.id }, t("plan.id")), id),
      h("button", { type: "submit", class: "primary" }, t("plans.create")),
    ),
    list,
  );
  await loading(list, async () => {
    const plans = await all("/v1/plans");
    return section(
      t("plans.all"),
      table(
        [
          [t("plan.id"), (p) => h("a", { href: planLink(p.id) }, p.id)],
          [t("plan.latest"), (p) => String(p.latest)],
          [t("plan.active"), (p) => (p.active === null || p.active === undefined ? t("plan.inactive") : String(p.active))],
        ],
        plans,
        { empty: t("plans.none") },
      ),
    );
  });
}

async function plan(main, id, ctx) {
  let head = null;
  try {
    head = await api("GET", `/v1/plans/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  main.append(h("p", {}, h("a", { href: "#/plans" }, `← ${t("nav.plans")}`)), h("h1", {}, id));
  if (!head) {
    main.append(h("p", { class: "hint" }, t("plans.is_new")));
    const doc = { id, steps: [] };
    main.append(await composer(doc, { based: 0, ctx, onSaved: (saved) => ctx.navigate(`${planLink(id)}?saved=${saved.latest}`) }));
    return;
  }
  // The route's query: `?edit=N` (the version to compose from), `?saved=N` (just saved).
  const query = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const editing = Number(query.get("edit")) || head.latest;
  const doc = await api("GET", `/v1/plans/${encodeURIComponent(id)}/versions/${editing}`);
  const status = h("div", { role: "status", "aria-live": "polite", id: "plan-status" });
  const diff = h("div", { id: "plan-diff" });
  main.append(
    section(
      t("plan.versions"),
      h(
        "p",
        { id: "plan-state" },
        head.active === null || head.active === undefined
          ? t("plan.none_active")
          : t("plan.active_is", { version: head.active }),
        head.scheduled ? ` · ${t("plan.scheduled", { version: head.scheduled.version, at: time(head.scheduled.at_ms, ctx.offset) })}` : "",
      ),
      table(
        [
          [t("plan.version"), (v) => String(v.version)],
          [t("plan.created"), (v) => time(v.created_ms, ctx.offset)],
          [t("plan.steps"), (v) => String(v.steps)],
          [t("plan.state"), (v) => (v.version === head.active ? h("strong", {}, t("plan.active")) : "")],
          [
            "",
            (v) =>
              h(
                "span",
                { class: "actions" },
                h("a", { href: `${planLink(id)}?edit=${v.version}` }, t("plan.edit")),
                v.version === head.active ? null : activate(id, v.version, status, ctx),
                h("button", { type: "button", class: "link", onclick: () => showDiff(diff, id, head.active, v.version) }, t("plan.diff")),
              ),
          ],
        ],
        [...head.versions].reverse(),
      ),
      head.activations.length > 1
        ? actionButton(t("plan.rollback"), async () => {
            await api("POST", `/v1/plans/${encodeURIComponent(id)}/rollback`);
            ctx.navigate(`${planLink(id)}?rolled`);
          }, { status })
        : null,
      status,
      diff,
    ),
    section(t("plan.history"), table(
      [
        [t("plan.when"), (a) => time(a.at_ms, ctx.offset)],
        [t("plan.action"), (a) => t(`activation.${a.action}`)],
        [t("plan.version"), (a) => (a.version === null || a.version === undefined ? "—" : String(a.version))],
      ],
      [...head.activations].reverse(),
    )),
    h("h2", {}, t("plan.compose", { version: editing })),
    await composer(doc, {
      based: head.latest,
      ctx,
      onSaved: async (saved) => {
        ctx.navigate(`${planLink(id)}?saved=${saved.latest}`);
      },
    }),
  );
  const saved = Number(query.get("saved"));
  if (saved) {
    status.replaceChildren(h("span", { class: "ok" }, t("plan.saved", { version: saved })));
    await showDiff(diff, id, head.active, saved);
  }
}

function activate(id, version, status, ctx) {
  return actionButton(t("plan.activate"), async () => {
    await api("POST", `/v1/plans/${encodeURIComponent(id)}/activate`, { body: { version } });
    ctx.navigate(`${planLink(id)}?activated=${version}`);
  }, { status, className: "link activate" });
}

async function showDiff(container, id, from, to) {
  if (from === null || from === undefined || from === to) {
    container.replaceChildren(h("p", { class: "hint" }, from === to ? t("diff.same") : t("diff.no_active")));
    return;
  }
  await loading(container, async () => {
    const d = await api("GET", `/v1/plans/${encodeURIComponent(id)}/diff`, { query: { from, to } });
    return h(
      "div",
      { class: "diff" },
      h("h3", {}, t("diff.title", { from, to })),
      d.patch.length
        ? h("ul", {}, d.patch.map((op) => h("li", { class: `op-${op.op}` }, h("code", {}, op.op), " ", h("code", {}, op.path), op.value !== undefined ? [" → ", h("code", {}, JSON.stringify(op.value))] : null)))
        : h("p", {}, t("diff.same")),
    );
  }).catch((e) => container.replaceChildren(errorBox(e)));
}
