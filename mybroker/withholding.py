"""Income tax withheld at source (IRRF) on what a company pays its shareholders: JCP
(juros sobre capital próprio) and dividends. One dated table (`WITHHOLDING_RULES`, oldest
first per kind), each rule naming the law it follows, and pure arithmetic on Decimals; the
wallet applies it when it credits a payment (subgraphs/wallet/corporate_events.py).

**The rules, and what could be checked (2026-12-07).**

- JCP, 15% up to 31/12/2025: Lei 9.249/1995, art. 9, § 2.
- JCP, 17.5% from 01/01/2026: Lei Complementar 224/2025 (DOU 26/12/2025, extra edition)
  raised the rate from 15% to 17.5%; its income-tax changes take effect on 1 January 2026
  (secondary sources read through the project's search copy: sdhlaw.com.br, sartoriadvogados
  .com.br, orizzomarques.com.br; we did not read the law's own text). The rate is the one in
  force on the payment date (the simulator credits JCP on its payment date; a real company
  may credit it earlier, which fixes the rate at the credit).
- Dividends, exempt up to 31/12/2025: Lei 9.249/1995, art. 10.
- Dividends, 10% from 01/01/2026 when one company (pessoa jurídica) pays one individual more
  than R$ 50,000.00 in a calendar month, on the month's whole amount, not only the excess:
  Lei 15.270/2025 (26/11/2025), which adds art. 6-A to Lei 9.250/1995 (secondary sources:
  laborcontabilistas.com.br, chavesemaran.com.br). Dividends of results computed up to 2025
  whose distribution was approved by 31/12/2025 stay exempt even when paid in 2026-2028
  (the law's transition): an event approved by that day is exempt here. The withholding is
  an advance on the annual minimum tax (IRPFM), which the simulator does not compute.

How the monthly threshold is applied: the wallet sums what the same company (B3's 4-letter
issuer code, PETR for PETR3 and PETR4) paid the holder in dividends in the payment's month,
this payment included. When the sum passes R$ 50,000.00, this payment withholds 10% of the
month's total less what the month's earlier payments withheld, so the month ends at 10% of
its total whichever payment crosses the line. Amounts are rounded half-even to the centavo.

Rates change: add a rule with its date and law, never edit a past one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Sequence

from mybroker.money import cents

ZERO = Decimal("0.00")


class IncomeKind(str, Enum):
    DIVIDEND = "DIVIDEND"
    JCP = "JCP"


@dataclass(frozen=True)
class WithholdingRule:
    kind: IncomeKind
    effective_from: date  # the payment dates it governs start here
    rate: Decimal  # a fraction of the gross
    law: str
    # Withheld only when one company's payments of this kind to one person in a calendar
    # month pass this amount (None: always); then on the month's whole amount.
    monthly_threshold: Decimal | None = None
    # Payments of events approved on or before this day are exempt (a law's transition).
    exempt_if_approved_by: date | None = None


WITHHOLDING_RULES: tuple[WithholdingRule, ...] = (
    WithholdingRule(IncomeKind.JCP, date.min, Decimal("0.15"), "Lei 9.249/1995, art. 9, § 2"),
    WithholdingRule(IncomeKind.JCP, date(2026, 1, 1), Decimal("0.175"), "Lei Complementar 224/2025"),
    WithholdingRule(IncomeKind.DIVIDEND, date.min, Decimal("0"), "Lei 9.249/1995, art. 10 (exempt)"),
    WithholdingRule(
        IncomeKind.DIVIDEND,
        date(2026, 1, 1),
        Decimal("0.10"),
        "Lei 15.270/2025 (Lei 9.250/1995, art. 6-A)",
        monthly_threshold=Decimal("50000.00"),
        exempt_if_approved_by=date(2025, 12, 31),
    ),
)


def rule_for(kind: IncomeKind, paid_on: date, rules: Sequence[WithholdingRule] = WITHHOLDING_RULES) -> WithholdingRule:
    """The rule in force for a payment of `kind` on `paid_on`: the latest one begun by then."""
    in_force = [rule for rule in rules if rule.kind is kind and rule.effective_from <= paid_on]
    if not in_force:
        raise ValueError(f"no withholding rule for {kind.value} on {paid_on}")
    return max(in_force, key=lambda rule: rule.effective_from)


@dataclass(frozen=True)
class Withholding:
    gross: Decimal
    withheld: Decimal
    rule: WithholdingRule

    @property
    def net(self) -> Decimal:
        return self.gross - self.withheld


def withhold(
    kind: IncomeKind,
    gross: Decimal,
    paid_on: date,
    *,
    approved_on: date | None = None,
    month_gross_before: Decimal = ZERO,
    month_withheld_before: Decimal = ZERO,
    rules: Sequence[WithholdingRule] = WITHHOLDING_RULES,
) -> Withholding:
    """What a payment of `gross` withholds. `month_gross_before` and `month_withheld_before`:
    what the same company paid and withheld this person in the same kind earlier in the
    payment's month (the monthly threshold counts them)."""
    if gross < 0:
        raise ValueError("a payment is not negative")
    rule = rule_for(kind, paid_on, rules)
    if rule.exempt_if_approved_by is not None and approved_on is not None and approved_on <= rule.exempt_if_approved_by:
        return Withholding(gross, ZERO, rule)
    if rule.monthly_threshold is None:
        return Withholding(gross, cents(gross * rule.rate), rule)
    month = month_gross_before + gross
    if month <= rule.monthly_threshold:
        return Withholding(gross, ZERO, rule)
    return Withholding(gross, max(ZERO, cents(month * rule.rate) - month_withheld_before), rule)
