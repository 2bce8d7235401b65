// Plugins: the tenant's own and every one shared on the plaza; upload with progress; a
// plugin's descriptor, configuration schema (and the form it gives), its other versions
// and the plans that use it.

import { api, all, upload } from "../api.js";
import { t } from "../i18n.js";
import { schemaForm } from "../forms.js";
import { h, table, section, time, errorBox, loading } from "../ui.js";

const link = (p) => `#/plugins/${encodeURIComponent(p.owner)}/${encodeURIComponent(p.name)}/${encodeURIComponent(p.version)}`;

export async function render(main, params, ctx) {
  if (params.length === 3) return detail(main, params, ctx);
  const list = h("div");
  main.append(h("h1", {}, t("nav.plugins")), uploadForm(ctx), list);
  const mine = ctx.me.tenant;
  await loading(list, async () => {
    const plugins = await all("/v1/plugins");
    const own = plugins.filter((p) => p.owner === mine);
    const shared = plugins.filter((p) => p.owner !== mine);
    const columns = [
      [t("plugin.name"), (p) => h("a", { href: link(p) }, p.name)],
      [t("plugin.version"), (p) => p.version],
      [t("plugin.stage"), (p) => t(`stage.${p.stage}`)],
      [t("plugin.visibility"), (p) => t(`visibility.${p.visibility}`)],
      [t("plugin.size"), (p) => `${Math.ceil(p.size / 1024)} KiB`],
      [t("plugin.description"), (p) => p.description],
    ];
    const stats = await api("GET", "/v1/plugin-stats").catch(() => null);
    return [
      section(t("plugins.own"), table(columns, own, { empty: t("plugins.none") })),
      stats ? section(t("stats.title"), h("p", { class: "hint" }, t("stats.hint")), statsTable(stats)) : null,
      section(
        t("plugins.shared"),
        table([[t("plugin.owner"), (p) => p.owner], ...columns], shared, { empty: t("plugins.none_shared") }),
      ),
    ];
  });
}

function uploadForm(ctx) {
  const file = h("input", { id: "upload-file", type: "file", accept: ".wasm,application/wasm", required: true });
  const visibility = h(
    "select",
    { id: "upload-visibility" },
    h("option", { value: "private" }, t("visibility.private")),
    h("option", { value: "shared" }, t("visibility.shared")),
  );
  const progress = h("progress", { max: 1, value: 0, hidden: true, "aria-label": t("upload.progress") });
  const status = h("div", { role: "status", "aria-live": "polite", id: "upload-status" });
  const button = h("button", { type: "submit", class: "primary", id: "upload-submit" }, t("upload.submit"));
  const form = h(
    "form",
    {
      class: "card inline",
      onsubmit: async (e) => {
        e.preventDefault();
        if (!file.files[0]) return;
        button.disabled = true;
        progress.hidden = false;
        try {
          // The page stays usable while the server compiles: nothing here blocks it.
          const record = await upload("/v1/plugins", file.files[0], { visibility: visibility.value }, (done, phase) => {
            progress.value = done;
            status.replaceChildren(h("span", { class: "loading" }, t(`upload.${phase}`), ` ${Math.round(done * 100)}%`));
          });
          status.replaceChildren(h("span", { class: "ok" }, t("upload.done", { plugin: `${record.name}@${record.version}` })));
          ctx.navigate(link(record));
        } catch (error) {
          status.replaceChildren(errorBox(error));
        } finally {
          button.disabled = false;
          progress.hidden = true;
        }
      },
    },
    h("h2", {}, t("upload.title")),
    h("div", { class: "field" }, h("label", { for: file.id }, t("upload.file")), file),
    h("div", { class: "field" }, h("label", { for: visibility.id }, t("plugin.visibility")), visibility),
    button,
    progress,
    status,
  );
  return form;
}

async function detail(main, [owner, name, version], ctx) {
  const query = owner === ctx.me.tenant ? {} : { owner };
  const p = await api("GET", `/v1/plugins/${encodeURIComponent(name)}/${encodeURIComponent(version)}`, { query });
  const usedBy = h("div");
  const versions = h("div");
  const own = p.owner === ctx.me.tenant;
  const status = h("div", { role: "status", "aria-live": "polite" });
  main.append(
    h("p", {}, h("a", { href: "#/plugins" }, `← ${t("nav.plugins")}`)),
    h("h1", {}, `${p.name}@${p.version}`),
    section(
      t("plugin.descriptor"),
      h(
        "dl",
        { class: "facts" },
        fact(t("plugin.description"), p.description),
        fact(t("plugin.owner"), p.owner),
        fact(t("plugin.stage"), t(`stage.${p.stage}`)),
        fact(t("plugin.visibility"), t(`visibility.${p.visibility}`)),
        fact(t("plugin.size"), `${p.size} B`),
        fact("sha256", h("code", {}, p.sha256)),
        fact(t("plugin.uploaded"), time(p.uploaded_ms, ctx.offset)),
      ),
      own
        ? h(
            "button",
            {
              type: "button",
              class: "danger",
              onclick: async () => {
                if (!confirm(t("plugin.delete_confirm", { plugin: `${p.name}@${p.version}` }))) return;
                try {
                  await api("DELETE", `/v1/plugins/${encodeURIComponent(p.name)}/${encodeURIComponent(p.version)}`);
                  ctx.navigate("#/plugins");
                } catch (error) {
                  status.replaceChildren(errorBox(error));
                }
              },
            },
            t("plugin.delete"),
          )
        : null,
      status,
    ),
    section(t("plugin.form_preview"), schemaForm(p.config_schema, undefined).element),
    section(t("plugin.schema"), h("details", {}, h("summary", {}, "JSON Schema"), h("pre", { class: "code" }, JSON.stringify(p.config_schema, null, 2)))),
    section(t("plugin.versions"), versions),
    section(t("plugin.used_by"), usedBy),
  );
  await Promise.all([
    loading(versions, async () => {
      const same = (await all("/v1/plugins")).filter((x) => x.owner === p.owner && x.name === p.name);
      return table(
        [
          [t("plugin.version"), (x) => (x.version === p.version ? h("strong", {}, x.version) : h("a", { href: link(x) }, x.version))],
          [t("plugin.uploaded"), (x) => time(x.uploaded_ms, ctx.offset)],
          [t("plugin.visibility"), (x) => t(`visibility.${x.visibility}`)],
        ],
        same,
      );
    }),
    loading(usedBy, async () => {
      const uses = await plansUsing(p, ctx);
      return table(
        [
          [t("plan.id"), (u) => h("a", { href: `#/plans/${encodeURIComponent(u.plan)}` }, u.plan)],
          [t("plan.version"), (u) => String(u.version)],
          [t("plan.steps"), (u) => u.steps.join(", ")],
        ],
        uses,
        { empty: t("plugin.unused") },
      );
    }),
  ]);
}

/** The tenant's plans whose active (or else latest) version has a step running `p`. */
async function plansUsing(p, ctx) {
  const plans = await all("/v1/plans");
  const found = await Promise.all(
    plans.map(async (plan) => {
      const version = plan.active ?? plan.latest;
      const doc = await api("GET", `/v1/plans/${encodeURIComponent(plan.id)}/versions/${version}`);
      const steps = doc.steps
        .filter((s) => s.plugin.name === p.name && s.plugin.version === p.version && (s.plugin.owner ?? ctx.me.tenant) === p.owner)
        .map((s) => s.id);
      return steps.length ? { plan: plan.id, version, steps } : null;
    }),
  );
  return found.filter(Boolean);
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

/** How the tenant's quotes ran each plugin on the host that answered. */
export function statsTable(stats) {
  const failures = (u) => Object.entries(u.failures).map(([kind, n]) => `${t(`failure.${kind}`)} ×${n}`).join(", ");
  return table(
    [
      [t("plugin.name"), (u) => u.plugin],
      [t("stats.runs"), (u) => u.runs.toLocaleString()],
      [t("stats.failures"), (u) => h("span", { class: Object.keys(u.failures).length ? "outcome failed" : "" }, failures(u) || "0")],
      [t("stats.fuel"), (u) => `${u.fuel_mean.toLocaleString()} / ${u.fuel_max.toLocaleString()}`],
      [t("stats.latency"), (u) => `${u.micros_p50} / ${u.micros_p99} / ${u.micros_max}`],
    ],
    stats,
    { empty: t("stats.none") },
  );
}
