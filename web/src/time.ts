// Times are shown in Brasília time, the exchange's clock (B3's sessions are set in it),
// whatever the trader's own time zone.
export const EXCHANGE_TIME_ZONE = "America/Sao_Paulo";

// Brazilian conventions in both languages: dd/mm/aaaa and a 24-hour clock.
export const clockTime = new Intl.DateTimeFormat("pt-BR", { timeZone: EXCHANGE_TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
export const dayAndTime = new Intl.DateTimeFormat("pt-BR", {
  timeZone: EXCHANGE_TIME_ZONE,
  day: "2-digit",
  month: "2-digit",
  year: "numeric",
  hourCycle: "h23",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
export const dateAndTime = new Intl.DateTimeFormat("pt-BR", {
  timeZone: EXCHANGE_TIME_ZONE,
  day: "2-digit",
  month: "2-digit",
  year: "numeric",
  hourCycle: "h23",
  hour: "2-digit",
  minute: "2-digit",
});
