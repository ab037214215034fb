"""``salesflow forecast-backtest`` (the documented, hyphenated spelling).

Django lists a command per module file in this directory and loads it with
``import_module("….commands.forecast-backtest")``, which accepts the hyphen; the code lives
in :mod:`salesflow.projections.backtest_command` so it stays importable by tests and tools.
"""

from salesflow.projections.backtest_command import Command

__all__ = ["Command"]
