"""Statistical disclosure control of additive tables, independent of where the tables come from.

``build_problem`` joins the tables of one release into one set of cells and additivity constraints;
``apply_rules`` finds the primary (unsafe) cells; ``suppress`` finds the optimal secondary pattern; ``controlled_round``
is controlled rounding, the alternative; ``audit`` finds every hidden cell's feasible interval.
"""

from pupildata.publish.sdc.attacker import AttackerError
from pupildata.publish.sdc.audit import AuditResult, Interval, audit
from pupildata.publish.sdc.rounding import controlled_round
from pupildata.publish.sdc.rules import Dominance, MinFrequency, PPercent, Primary, Rule, apply_rules
from pupildata.publish.sdc.secondary import Pattern, suppress
from pupildata.publish.sdc.table import CellKey, Dimension, Problem, Table, build_problem

__all__ = [
    "AttackerError",
    "AuditResult",
    "CellKey",
    "Dimension",
    "Dominance",
    "Interval",
    "MinFrequency",
    "PPercent",
    "Pattern",
    "Primary",
    "Problem",
    "Rule",
    "Table",
    "apply_rules",
    "audit",
    "build_problem",
    "controlled_round",
    "suppress",
]
