// The interface languages. zh-CN is the default; English is complete. The
// chosen language is saved by the Rust side (preferences.json), so it is
// remembered across restarts; this module only switches what is shown.
import { addMessages, init, locale } from "svelte-i18n";
import { get } from "svelte/store";
import type { Language, UiError } from "../bindings";
import { en } from "./en";
import { zhCN } from "./zh-CN";

export const DEFAULT_LANGUAGE: Language = "zh-CN";

/** Each language named in its own script, as a language switch shows it. */
export const LANGUAGE_NAMES: Record<Language, string> = {
  "zh-CN": "中文（简体）",
  en: "English",
};

export const LANGUAGES = Object.keys(LANGUAGE_NAMES) as Language[];

export function setUpLanguages(): void {
  addMessages("zh-CN", zhCN);
  addMessages("en", en);
  init({ fallbackLocale: DEFAULT_LANGUAGE, initialLocale: DEFAULT_LANGUAGE });
  document.documentElement.lang = DEFAULT_LANGUAGE;
}

/** Shows the interface in `language` (does not save the choice). */
export function showLanguage(language: Language): void {
  void locale.set(language);
  document.documentElement.lang = language;
}

export function currentLanguage(): Language {
  return get(locale) === "en" ? "en" : "zh-CN";
}

/** The message of a back-end error in the language on screen. */
export function errorMessage(error: UiError, language: Language): string {
  return language === "en" ? error.message_en : error.message_zh;
}
