// Money arrives as Decimal strings with two places ("1234.50"). Arithmetic happens in
// whole centavos (bigint), so products like price x quantity are exact; numbers are only
// used to hand a value to Intl for display or to draw a chart.
const brl = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
const plain = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat("pt-BR", { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "always" });
const integer = new Intl.NumberFormat("pt-BR");

export type Cents = bigint;

/** "1234.5", "-0.07" -> centavos; throws on anything else. */
export function toCents(decimal: string): Cents {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(decimal.trim());
  if (!match) throw new Error(`not a decimal with two places: ${decimal}`);
  const [, sign, units, fraction = ""] = match;
  const cents = BigInt(units) * 100n + BigInt(fraction.padEnd(2, "0"));
  return sign ? -cents : cents;
}

/** centavos -> the API's Decimal string ("1234.50"). */
export function toDecimal(cents: Cents): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const fraction = (abs % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${abs / 100n}.${fraction}`;
}

/** R$ 1.234,56 */
export function formatBRL(value: string | Cents): string {
  const decimal = typeof value === "bigint" ? toDecimal(value) : value;
  return brl.format(Number(decimal));
}

/** 1.234,56 with an explicit sign when asked (changes, P&L). */
export function formatAmount(value: string | Cents, signed = false): string {
  const decimal = typeof value === "bigint" ? toDecimal(value) : value;
  const text = plain.format(Number(decimal));
  return signed && !decimal.startsWith("-") && Number(decimal) !== 0 ? `+${text}` : text;
}

export function formatSignedBRL(value: string | Cents): string {
  const decimal = typeof value === "bigint" ? toDecimal(value) : value;
  return decimal.startsWith("-") || Number(decimal) === 0 ? formatBRL(decimal) : `+${formatBRL(decimal)}`;
}

/** changePercent is a Float in percent units (1.5 = 1,5%). */
export function formatPercent(changePercent: number): string {
  return percent.format(changePercent / 100);
}

export function formatInteger(value: number): string {
  return integer.format(value);
}

/** What a Brazilian types: "10.000", "10.000,00", "10000", "1234,5", "R$ 10" -> "10000.00", or null.
 * The comma is the decimal mark and dots group thousands; without a comma, dots in groups
 * of three are thousands ("10.000" is ten thousand) and a lone dot before one or two
 * digits is a decimal point, as pasted from elsewhere ("31.45"). */
export function parseAmountInput(text: string): string | null {
  const cleaned = text.replace(/R\$|\s|\u00a0/g, "");
  let decimal: string;
  if (/^\d{1,3}(\.\d{3})+(,\d{1,2})?$/.test(cleaned) || /^\d+(,\d{1,2})?$/.test(cleaned)) {
    decimal = cleaned.replace(/\./g, "").replace(",", ".");
  } else if (/^\d+\.\d{1,2}$/.test(cleaned)) {
    decimal = cleaned;
  } else {
    return null;
  }
  return toDecimal(toCents(decimal));
}

/** -1, 0 or 1: the direction of a signed Decimal string, for colour and arrows. */
export function direction(decimal: string): -1 | 0 | 1 {
  const cents = toCents(decimal);
  return cents > 0n ? 1 : cents < 0n ? -1 : 0;
}
