// The console's words in Simplified Chinese and English. `t("plan.saved", {version: 3})`
// fills `{version}`; a key with no entry shows its last part (an enum value the API added
// later still reads).

import { en } from "./words/en.js";
import { zh } from "./words/zh.js";

const LANG = "plaza.lang";

export const languages = [["zh", "简体中文"], ["en", "English"]];

const dictionaries = { en, zh };

export function lang() {
  const chosen = localStorage.getItem(LANG);
  if (chosen && dictionaries[chosen]) return chosen;
  return navigator.language?.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function setLang(code) {
  localStorage.setItem(LANG, code);
}

export function t(key, vars = {}) {
  const text = dictionaries[lang()][key] ?? en[key] ?? key.split(".").pop().replace(/_/g, " ");
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? `{${name}}`));
}
