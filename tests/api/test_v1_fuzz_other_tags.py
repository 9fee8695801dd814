"""schemathesis against the portal in-process: the /api/v1 operations of every tag but ``files``.

The fixtures, the configuration and the settings are test_v1_fuzz.py's; the
operations are split between the two modules so that two workers share them.
"""

from __future__ import annotations

import pytest

pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements-dev.txt)")

from tests.api.test_v1_fuzz import FILES  # noqa: E402  (after the skip when schemathesis is missing)
from tests.api.test_v1_fuzz import FUZZ_SETTINGS  # noqa: E402
from tests.api.test_v1_fuzz import admin_token  # noqa: E402, F401  (a fixture of api_schema)
from tests.api.test_v1_fuzz import api_schema  # noqa: E402, F401  (the fixture the schema is read from)
from tests.api.test_v1_fuzz import schema  # noqa: E402


@schema.exclude(tag=FILES).parametrize()
@FUZZ_SETTINGS
def test_every_other_operation_answers_as_documented(case):
    case.call_and_validate()
