// The plan composer: a plan's steps, each with its plugin (own or shared on the plaza), its
// configuration as a form generated from the plugin's JSON Schema, and the rest of the
// step (scope, priority, exclusive group, stacking, window, budget …) as a form generated
// from the API's own OpenAPI document. Saving sends the plan to the API, where every
// plugin checks its configuration; a refusal lands on the field it names.

import { api, all } from "../api.js";
import { t } from "../i18n.js";
import { schemaForm, errorPath } from "../forms.js";
import { h, errorBox } from "../ui.js";

let openapi = null;
async function apiDocument() {
  openapi ??= await api("GET", "/openapi.json");
  return openapi;
}

const pluginKey = (p, self) => `${p.owner ?? self}/${p.name}@${p.version}`;

/** The composer for `doc` (a plan version, or `{id, steps: []}`); `based` is the latest
 *  version it was loaded from, sent as `If-Match` so that a concurrent save is not lost. */
export async function composer(doc, { based, ctx, onSaved }) {
  const [document, plugins] = await Promise.all([apiDocument(), all("/v1/plugins")]);
  const self = ctx.me.tenant;
  const byKey = new Map(plugins.map((p) => [pluginKey(p, self), p]));
  const stepSchema = document.components.schemas.Step;
  const planSchema = document.components.schemas.Plan;
  // The step's own settings: everything of `Step` but its id, plugin and configuration.
  const { id: _id, plugin: _plugin, config: _config, ...settings } = stepSchema.properties;
  const settingsSchema = { type: "object", properties: settings, additionalProperties: false };

  const cards = h("ol", { class: "steps" });
  const steps = [];
  const status = h("div", { role: "status", "aria-live": "polite", id: "composer-status" });

  const renumber = () => steps.forEach((s, i) => (s.number.textContent = `${i + 1}`));

  const addStep = (step) => {
    const plugin = byKey.get(pluginKey(step.plugin, self));
    const entry = { step };
    const idInput = h("input", { type: "text", id: `step-id-${steps.length}-${Date.now()}`, value: step.id, required: true, class: "step-id" });
    const number = h("span", { class: "number" });
    const configSlot = h("div", { class: "config" });
    entry.number = number;
    entry.id = () => idInput.value.trim();
    entry.plugin = step.plugin;
    entry.config = plugin
      ? schemaForm(plugin.config_schema, step.config, { label: null })
      : { element: h("p", { class: "error" }, t("composer.plugin_missing", { plugin: pluginKey(step.plugin, self) })), get: () => step.config, showError() {}, clearErrors() {} };
    configSlot.append(entry.config.element);
    const { id, plugin: _p, config, ...rest } = step;
    entry.settings = schemaForm(settingsSchema, rest, { root: document, offset: ctx.offset });
    const error = h("div", { class: "step-error", role: "alert" });
    entry.error = error;
    const card = h(
      "li",
      { class: "card step", dataset: { plugin: step.plugin.name } },
      h(
        "div",
        { class: "step-head" },
        number,
        h("div", { class: "field" }, h("label", { for: idInput.id }, t("composer.step_id")), idInput),
        h("span", { class: "plugin-name" }, `${step.plugin.name}@${step.plugin.version}`, plugin ? h("small", { class: "hint" }, ` ${t(`stage.${plugin.stage}`)} · ${plugin.owner}`) : null),
        h(
          "span",
          { class: "actions" },
          h("button", { type: "button", class: "link", "aria-label": t("composer.up"), onclick: () => move(entry, -1) }, "↑"),
          h("button", { type: "button", class: "link", "aria-label": t("composer.down"), onclick: () => move(entry, 1) }, "↓"),
          h("button", { type: "button", class: "link danger", onclick: () => { steps.splice(steps.indexOf(entry), 1); card.remove(); renumber(); } }, t("composer.remove")),
        ),
      ),
      plugin?.description ? h("p", { class: "hint" }, plugin.description) : null,
      h("h4", {}, t("composer.config")),
      configSlot,
      h("details", { class: "settings" }, h("summary", {}, t("composer.settings")), entry.settings.element),
      error,
    );
    entry.card = card;
    steps.push(entry);
    cards.append(card);
    renumber();
  };

  const move = (entry, by) => {
    const i = steps.indexOf(entry);
    const j = i + by;
    if (j < 0 || j >= steps.length) return;
    steps.splice(i, 1);
    steps.splice(j, 0, entry);
    if (by < 0) cards.insertBefore(entry.card, steps[j + 1].card);
    else cards.insertBefore(entry.card, steps[j - 1].card.nextSibling);
    renumber();
  };

  for (const step of doc.steps) addStep(step);

  // Adding a step: own plugins first, then the plaza's shared ones.
  const picker = h(
    "select",
    { id: "add-step-plugin" },
    h("option", { value: "" }, t("composer.pick")),
    [["composer.own", plugins.filter((p) => p.owner === self)], ["composer.shared", plugins.filter((p) => p.owner !== self)]].map(([label, list]) =>
      h("optgroup", { label: t(label) }, list.map((p) => h("option", { value: pluginKey(p, self) }, `${p.name}@${p.version}${p.owner === self ? "" : ` (${p.owner})`} · ${t(`stage.${p.stage}`)}`))),
    ),
  );
  const add = h("button", {
    type: "button",
    id: "add-step",
    onclick: () => {
      const p = byKey.get(picker.value);
      if (!p) return;
      const taken = new Set(steps.map((s) => s.id()));
      let n = 1;
      while (taken.has(`${p.name}-${n}`)) n++;
      const plugin = { name: p.name, version: p.version };
      if (p.owner !== self) plugin.owner = p.owner;
      addStep({ id: `${p.name}-${n}`, plugin, config: {} });
      steps[steps.length - 1].card.querySelector("input")?.focus();
    },
  }, t("composer.add"));

  const { id: _pid, steps: _s, version: _v, ...planRest } = planSchema.properties;
  const { id: _i, steps: _st, version: _ve, ...docRest } = doc;
  const planSettings = schemaForm({ type: "object", properties: planRest, additionalProperties: false }, docRest, { root: document, offset: ctx.offset });

  const save = h("button", { type: "submit", class: "primary", id: "save-plan" }, t("composer.save"));
  const form = h(
    "form",
    {
      class: "composer",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        for (const s of steps) {
          s.error.replaceChildren();
          s.config.clearErrors();
          s.settings.clearErrors();
        }
        const plan = {
          id: doc.id,
          ...planSettings.get(),
          steps: steps.map((s) => ({ id: s.id(), plugin: s.plugin, config: s.config.get() ?? {}, ...s.settings.get() })),
        };
        save.disabled = true;
        status.replaceChildren(h("span", { class: "loading" }, t("composer.saving")));
        try {
          const head = await api("POST", "/v1/plans", { body: plan, headers: { "If-Match": `"${based}"` } });
          status.replaceChildren(h("span", { class: "ok" }, t("plan.saved", { version: head.latest })));
          await onSaved(head);
        } catch (error) {
          showError(error);
        } finally {
          save.disabled = false;
        }
      },
    },
    h("fieldset", { class: "card" }, h("legend", {}, t("composer.plan_settings")), planSettings.element),
    cards,
    h("div", { class: "card inline" }, h("label", { for: picker.id }, t("composer.add_label")), picker, add),
    h("div", { class: "sticky-actions" }, save, status),
  );

  /** A refusal on the field it names: a plugin's message on its step's form, the API's
   *  `field` (`steps[2].scope.skus`) on the step's settings, anything else on top. */
  function showError(error) {
    status.replaceChildren(errorBox(error));
    const detail = error.detail ?? {};
    const stepId = detail.step;
    const field = detail.field ?? "";
    const byIndex = /^steps\[(\d+)\]\.?(.*)$/.exec(field);
    const entry = stepId ? steps.find((s) => s.id() === stepId) : byIndex ? steps[Number(byIndex[1])] : null;
    if (!entry) return;
    if (stepId) {
      const message = detail.message ?? error.message;
      entry.config.showError(errorPath(message), message);
    } else {
      const details = entry.card.querySelector("details.settings");
      if (details) details.open = true;
      entry.settings.showError(byIndex[2], error.message);
    }
    entry.error.replaceChildren(errorBox(error));
  }

  return form;
}
