"""What the tests share that is not a fixture: fakes, the deploy harness's parts, local servers, reference helpers.

Test modules import from here (and fixtures come from `tests/conftest.py`), never from one another.
"""
