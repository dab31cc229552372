"""Hypothesis's entry point into together-billing: register the library's strategies.

Hypothesis runs :func:`setup` when it is imported (the ``hypothesis`` entry point
in ``pyproject.toml``). When that import comes from
:mod:`together_billing.strategies` itself, the module is only half built at that
moment; it then registers its strategies at its own end instead.
"""

from __future__ import annotations

import sys

__all__ = ["setup"]


def setup() -> None:
    """Register the strategies with ``st.from_type`` (see :mod:`together_billing.strategies`)."""
    module = sys.modules.get("together_billing.strategies")
    if module is not None and not hasattr(module, "_hypothesis_setup_hook"):
        return
    from together_billing.strategies import _hypothesis_setup_hook  # noqa: PLC0415 - on demand

    _hypothesis_setup_hook()
