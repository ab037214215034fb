"""Kernel views (none yet beyond helpers in ``core.web``)."""
