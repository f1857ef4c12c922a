"""The ITSCI incident level of a report, from its category and answers.

ITSCI grades incidents in three levels; level 1 is kept for serious abuses and the gravest
risks of Annex II of the OECD Due Diligence Guidance for Responsible Supply Chains of
Minerals from Conflict-Affected and High-Risk Areas (paragraph 1: torture, cruel and
inhuman treatment, forced labour, the worst forms of child labour, widespread sexual
violence, war crimes), level 2 for the other Annex II risks and serious harm (illegal
taxation and extortion by armed groups or security forces, bribery, misrepresenting the
origin of minerals; accidents and deadly hazards), level 3 for the rest.

The rule is the table `_RULES`, read top to bottom, first match wins; a row's `danger_now`
of None matches either answer:

| category         | danger now | level | why                                               |
|------------------|------------|-------|---------------------------------------------------|
| sexual_violence  | any        | 1     | Annex II 1: widespread sexual violence            |
| child_labour     | any        | 1     | Annex II 1: worst forms of child labour (mining)  |
| violence         | any        | 1     | Annex II 1: torture, cruel treatment, killing     |
| accident         | yes        | 1     | people hurt or killed, the danger still there     |
| accident         | no         | 2     | injury or death at work                           |
| illegal_tax      | any        | 2     | Annex II: illegal taxation, extortion, bribes     |
| mineral_fraud    | any        | 2     | Annex II: misrepresenting the minerals' origin    |
| ohs_hazard       | yes        | 2     | a pit hazard with someone in danger now           |
| anything else    | any        | 3     |                                                   |

Revision 0014 filled in existing cases by this table; a change here applies to new cases.
"""

from __future__ import annotations

from storage.models.cases import Category, ItsciLevel

__all__ = ["derive_level"]

# (category, danger now or None for either, level)
_RULES: tuple[tuple[str, bool | None, ItsciLevel], ...] = (
    (Category.SEXUAL_VIOLENCE, None, ItsciLevel.ONE),
    (Category.CHILD_LABOUR, None, ItsciLevel.ONE),
    (Category.VIOLENCE, None, ItsciLevel.ONE),
    (Category.ACCIDENT, True, ItsciLevel.ONE),
    (Category.ACCIDENT, False, ItsciLevel.TWO),
    (Category.ILLEGAL_TAX, None, ItsciLevel.TWO),
    (Category.MINERAL_FRAUD, None, ItsciLevel.TWO),
    (Category.OHS_HAZARD, True, ItsciLevel.TWO),
)


def derive_level(*, category: str, danger_now: bool) -> ItsciLevel:
    """Return the ITSCI incident level of a report (1 is the gravest)."""
    for rule_category, rule_danger, level in _RULES:
        if category == rule_category and rule_danger in (None, danger_now):
            return level
    return ItsciLevel.THREE
