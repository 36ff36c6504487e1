"""What the tests share that is not a fixture: fakes, the deploy harness's parts, local servers, reference helpers.

Test modules import from here and take fixtures from `tests/conftest.py`, never from one another
(`tests/test_layout.py` holds them to it).
"""

from pathlib import Path

# The tests folder (its `golden/` and `data/`).
TESTS = Path(__file__).resolve().parents[1]
