import { useEffect, useState } from "preact/hooks";
import { gql } from "../api/graphql";
import type { Statement, StatementLine } from "../api/types";
import { plainMessage } from "../errors";
import { t } from "../i18n";
import { direction, formatAmount, formatBRL, formatInteger, formatSignedBRL } from "../money";
import { wallet } from "../state/account";
import { EXCHANGE_TIME_ZONE } from "../time";

const STATEMENT = `query Statement($month: String!) { me { wallet { statement(month: $month) {
  month openingBalance closingBalance
  lines { id kind ticker quantity price amount balance settlesOn feeKind postedAt } } } } }`;
// Links are asked for at the click: they live a few minutes, a page may stay open longer.
const LINKS = `query StatementLinks($month: String!) { me { wallet { statement(month: $month) { csvUrl pdfUrl } } } }`;

const day = new Intl.DateTimeFormat("pt-BR", { timeZone: EXCHANGE_TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric" });

/** This month in Brasília, as the API names months: "2026-12". */
function currentMonth(): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: EXCHANGE_TIME_ZONE, year: "numeric", month: "2-digit" }).formatToParts(new Date());
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}`;
}

/** "2026-12-09" (a Date scalar) -> 09/12/2026. */
function calendarDay(date: string): string {
  const [year, month, dayOfMonth] = date.split("-");
  return `${dayOfMonth}/${month}/${year}`;
}

/** "Compra PETR4 100 @ 31,45": the kind in the screen's language, then what the line carries. */
export function describeLine(line: StatementLine): string {
  const label = line.kind === "FEE" && line.feeKind
    ? t(`wallet.monthly.fees.${line.feeKind}`, { defaultValue: line.feeKind })
    : t(`wallet.monthly.kinds.${line.kind}`, { defaultValue: line.kind });
  const parts = [label];
  if (line.ticker) parts.push(line.ticker);
  if (line.quantity !== null) parts.push(formatInteger(line.quantity));
  if (line.price !== null) parts.push(`@ ${formatAmount(line.price)}`);
  return parts.join(" ");
}

export function MonthlyStatement() {
  const [month, setMonth] = useState(currentMonth());
  const [statement, setStatement] = useState<Statement | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Re-read when the cash moves (the wallet is re-read every few seconds; the statement only then).
  const cash = wallet.value ? `${wallet.value.available}/${wallet.value.blocked}` : "";

  useEffect(() => {
    let current = true;
    gql<{ me: { wallet: { statement: Statement | null } } | null }>(STATEMENT, { month })
      .then((data) => {
        if (!current) return;
        setStatement(data.me?.wallet.statement ?? null);
        setError(null);
      })
      .catch((failure) => current && setError(plainMessage(failure)));
    return () => {
      current = false;
    };
  }, [month, cash]);

  const download = async (format: "csvUrl" | "pdfUrl") => {
    try {
      const data = await gql<{ me: { wallet: { statement: { csvUrl: string; pdfUrl: string } } } }>(LINKS, { month });
      window.location.assign(data.me.wallet.statement[format]);
    } catch (failure) {
      setError(plainMessage(failure));
    }
  };

  return (
    <section class="panel monthly-statement" aria-labelledby="monthly-title">
      <h2 id="monthly-title">{t("wallet.monthly.title")}</h2>
      <div class="actions">
        <label>
          {t("wallet.monthly.month")}{" "}
          <input type="month" name="month" value={month} max={currentMonth()} onInput={(e) => e.currentTarget.value && setMonth(e.currentTarget.value)} />
        </label>
        <button type="button" class="secondary" onClick={() => void download("csvUrl")}>{t("wallet.monthly.csv")}</button>
        <button type="button" class="secondary" onClick={() => void download("pdfUrl")}>{t("wallet.monthly.pdf")}</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {statement && (
        <div class="scroll">
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">{t("wallet.monthly.date")}</th>
                <th scope="col">{t("wallet.monthly.settles")}</th>
                <th scope="col">{t("wallet.what")}</th>
                <th scope="col" class="num">{t("wallet.amountColumn")}</th>
                <th scope="col" class="num">{t("wallet.monthly.balance")}</th>
              </tr>
            </thead>
            <tbody>
              <tr class="opening">
                <td colSpan={4}>{t("wallet.monthly.opening")}</td>
                <td class="num" data-testid="opening-balance">{formatBRL(statement.openingBalance)}</td>
              </tr>
              {statement.lines.map((line) => (
                <tr key={line.id} data-kind={line.kind}>
                  <td data-label={t("wallet.monthly.date")}>{day.format(new Date(line.postedAt))}</td>
                  <td data-label={t("wallet.monthly.settles")}>{line.settlesOn ? calendarDay(line.settlesOn) : "—"}</td>
                  <td class="wide" data-label={t("wallet.what")}>{describeLine(line)}</td>
                  <td class={`num ${direction(line.amount) > 0 ? "up" : "down"}`} data-label={t("wallet.amountColumn")}>{formatSignedBRL(line.amount)}</td>
                  <td class="num" data-label={t("wallet.monthly.balance")}>{formatBRL(line.balance)}</td>
                </tr>
              ))}
              <tr class="closing">
                <td colSpan={4}>{t("wallet.monthly.closing")}</td>
                <td class="num" data-testid="closing-balance">{formatBRL(statement.closingBalance)}</td>
              </tr>
            </tbody>
          </table>
          {statement.lines.length === 0 && <p class="muted">{t("wallet.monthly.empty")}</p>}
        </div>
      )}
    </section>
  );
}
