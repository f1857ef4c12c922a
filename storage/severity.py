"""How urgent a report is, from its category and answers.

Rules, first match wins:
1. someone is in danger now -> critical;
2. accident, violence, sexual violence -> high (people hurt, or Annex II serious abuses);
3. an OHS hazard that can kill (collapse, flooding, bad air, explosives, landslide) -> high;
4. child labour, other OHS hazards, illegal taxes, mineral fraud -> medium;
5. anything else -> low.
"""

from __future__ import annotations

from storage.models.cases import Category, Severity

LIFE_THREATENING_HAZARDS = frozenset({"collapse", "flooding", "bad_air", "explosives", "landslide"})

_BY_CATEGORY: dict[str, Severity] = {
    Category.ACCIDENT: Severity.HIGH,
    Category.VIOLENCE: Severity.HIGH,
    Category.SEXUAL_VIOLENCE: Severity.HIGH,
    Category.CHILD_LABOUR: Severity.MEDIUM,
    Category.OHS_HAZARD: Severity.MEDIUM,
    Category.ILLEGAL_TAX: Severity.MEDIUM,
    Category.MINERAL_FRAUD: Severity.MEDIUM,
}


def derive_severity(*, category: str, hazard: str | None, danger_now: bool) -> Severity:
    """Return the severity of a report."""
    if danger_now:
        return Severity.CRITICAL
    if category == Category.OHS_HAZARD and hazard in LIFE_THREATENING_HAZARDS:
        return Severity.HIGH
    return _BY_CATEGORY.get(category, Severity.LOW)
