import { useState } from "preact/hooks";
import { signIn, signUp } from "../api/session";
import { errorCode, plainMessage } from "../errors";
import { t } from "../i18n";
import { Field } from "./Field";
import { LanguageSwitch } from "./LanguageSwitch";

type Mode = "signIn" | "signUp";

// Which field each code concerns; anything else is shown for the whole form.
const FIELD_OF: Record<string, "email" | "password"> = { EMAIL_TAKEN: "email", INVALID_CREDENTIALS: "password" };

/** BAD_USER_INPUT names what it is about ("The password must have..."). */
function fieldNamedIn(message: string): string {
  const lower = message.toLowerCase();
  if (lower.includes("password")) return "password";
  if (lower.includes("mail")) return "email";
  if (lower.includes("name")) return "name";
  return "form";
}

export function AuthView() {
  const [mode, setMode] = useState<Mode>("signIn");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      if (mode === "signUp") await signUp(name.trim(), email.trim(), password);
      else await signIn(email.trim(), password);
    } catch (error) {
      const code = errorCode(error) ?? "";
      const field = FIELD_OF[code] ?? (code === "BAD_USER_INPUT" ? fieldNamedIn(plainMessage(error)) : "form");
      setErrors({ [field]: plainMessage(error) });
    } finally {
      setBusy(false);
    }
  };

  const choose = (next: Mode) => {
    setMode(next);
    setErrors({});
  };

  return (
    <main class="auth" id="main">
      <h1 class="brand">
        My Broker <span>B3</span>
      </h1>
      <p class="tagline">{t("brand.tagline")}</p>
      <LanguageSwitch />
      <div class="tabs" role="group" aria-label={t("auth.account")}>
        <button type="button" aria-pressed={mode === "signIn"} onClick={() => choose("signIn")}>
          {t("auth.signIn")}
        </button>
        <button type="button" aria-pressed={mode === "signUp"} onClick={() => choose("signUp")}>
          {t("auth.signUp")}
        </button>
      </div>
      <form class="panel" onSubmit={submit} aria-label={mode === "signUp" ? t("auth.signUpForm") : t("auth.signIn")}>
        {mode === "signUp" && (
          <Field label={t("auth.name")} error={errors.name}>
            {(props) => <input {...props} autoComplete="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />}
          </Field>
        )}
        <Field label={t("auth.email")} error={errors.email}>
          {(props) => (
            <input {...props} type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          )}
        </Field>
        <Field label={t("auth.password")} error={errors.password} hint={mode === "signUp" ? t("auth.passwordHint") : undefined}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete={mode === "signUp" ? "new-password" : "current-password"}
              required
              minLength={mode === "signUp" ? 8 : undefined}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          )}
        </Field>
        {errors.form && (
          <p class="error" role="alert">
            {errors.form}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {mode === "signUp" ? t("auth.createAccount") : t("auth.signIn")}
        </button>
      </form>
    </main>
  );
}
