import pytest

# Helpers imported by test modules (and loaded as a plugin by the API tests): rewrite their asserts too.
pytest.register_assert_rewrite(
    "tests.api.support",
    "tests.support.services",
    "tests.support.browser",
    "tests.focal.helpers",
    "tests.reminders.helpers",
)
