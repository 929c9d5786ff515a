"""Installed versions are at or above the fix of every known advisory (RELIABILITY.md's table).

Vulnerability databases are not reachable offline, so the table is kept by hand: add a row
when an advisory appears; this test then fails until the pin is raised.
"""

import importlib.metadata
import re
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\|\s*([a-z0-9][a-z0-9._-]*)\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", re.M)
FIXED = re.compile(r"^[0-9][0-9a-z.]*$")


def advisories() -> list[tuple[str, str, str]]:
    """(package, advisory ids, fixed version) rows of RELIABILITY.md's advisory table."""
    text = (ROOT / "RELIABILITY.md").read_text()
    table = text.split("## Known advisories", 1)[1].split("\n## ", 1)[0]
    return [row for row in ROW.findall(table) if row[0] != "package"]  # not the header


def installed(package: str) -> Version | None:
    try:
        return Version(importlib.metadata.version(package))
    except importlib.metadata.PackageNotFoundError:
        return None


def test_the_table_covers_the_packages_that_face_input():
    covered = {row[0] for row in advisories()}
    assert {"gradio", "chromadb", "fastapi", "starlette", "llama-index-core", "pypdf",
            "beautifulsoup4", "lxml", "python-multipart"} <= covered


def test_every_row_has_a_fixed_version_or_says_none():
    assert all(FIXED.match(fixed) or fixed.startswith("none") for _p, _i, fixed in advisories())


@pytest.mark.parametrize("package, ids, fixed", [r for r in advisories() if FIXED.match(r[2])])
def test_installed_version_is_not_below_the_fix(package, ids, fixed):
    version = installed(package)
    if version is None:
        pytest.skip(f"{package} is not installed")
    assert version >= Version(fixed), f"{package} {version} is below {fixed}, the fix of {ids}"
