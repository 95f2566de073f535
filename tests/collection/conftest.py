"""The signed-in counter client of the page tests."""

from tests.pages import client  # noqa: F401  (a fixture)
