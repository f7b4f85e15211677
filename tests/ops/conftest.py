"""Shared by the gradient checks: every test starts from seed 0, so its inputs are the same each run."""

import pytest

import nnrun


@pytest.fixture(autouse=True)
def _seed():
    nnrun.manual_seed(0)
