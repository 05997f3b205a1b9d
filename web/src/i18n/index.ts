// Translations through i18next: plural rules per language (Intl.PluralRules), interpolation
// and a fallback to pt-BR, without a React binding. `t` reads the `language` signal, so
// every component that calls it re-renders when the trader switches language.
import { signal } from "@preact/signals";
import i18next from "i18next";
import { en } from "./en";
import { ptBR } from "./pt-BR";

export const LANGUAGES = ["pt-BR", "en"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "mybroker.language";

function stored(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  return (LANGUAGES as readonly string[]).includes(saved ?? "") ? (saved as Language) : "pt-BR";
}

const i18n = i18next.createInstance();
void i18n.init({
  lng: stored(),
  fallbackLng: "pt-BR",
  resources: { "pt-BR": { translation: ptBR }, en: { translation: en } },
  // Preact escapes text itself; i18next escaping would show "&amp;".
  interpolation: { escapeValue: false },
  initAsync: false,
  returnNull: false,
});

export const language = signal<Language>(i18n.language as Language);
document.documentElement.lang = language.value;

export function t(key: string, options?: Record<string, unknown>): string {
  void language.value; // subscribes the caller's component to the language
  return i18n.t(key, options ?? {}) as string;
}

export function setLanguage(next: Language): void {
  void i18n.changeLanguage(next);
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  language.value = next;
}
