import { LANGUAGES, language, setLanguage, t, type Language } from "../i18n";

/** pt-BR first, English second; the choice is kept in localStorage. */
export function LanguageSwitch() {
  return (
    <select class="language" aria-label={t("language.label")} value={language.value} onChange={(e) => setLanguage(e.currentTarget.value as Language)}>
      {LANGUAGES.map((code) => (
        <option value={code} lang={code}>
          {code === "pt-BR" ? "PT" : "EN"} · {t(`language.${code}`)}
        </option>
      ))}
    </select>
  );
}
