"""Any JSON value, for the property tests that feed every place of the config and of the components' inputs
(tests/test_config_shapes.py, tests/test_input_shapes.py): one strategy and one budget for both."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st


def json_values(max_leaves: int) -> st.SearchStrategy[Any]:
    """Scalars, lists and mappings, nested, of at most `max_leaves` leaves."""
    return st.recursive(
        st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=max_leaves,
    )


# 100 examples, the same ones every run (derandomized: a failure is reproducible; no shrinking phase to stall CI).
ANY_JSON_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
