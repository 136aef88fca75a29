"""Which profile's report a folder holds, so that no report is written over another one unasked.

``swarmreg reproduce`` and the experiment scripts write into ``./swarmreg-report`` unless told
otherwise (a folder no checkout commits, so running them in one never touches its committed
``results/``), and record the profile in ``OUT/.swarmreg-report`` before their first run. A folder
holding another profile's report is written over only with ``force``: known by that record, or, for
a report made before the record existed, by the profile its REPORT.md names, or unknown when only
experiment folders are there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

DEFAULT_OUT = Path("swarmreg-report")
MARKER = ".swarmreg-report"
UNKNOWN = "unknown"


class ReportFolderError(ValueError):
    """The folder holds another profile's report (one-line message naming it and ``--force``)."""


def held_profile(out: str | Path, experiments: Iterable[str]) -> str | None:
    """The profile of the report in ``out``, ``"unknown"`` when it holds one of unknown profile, or None."""
    out = Path(out)
    try:
        return json.loads((out / MARKER).read_text())["profile"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        found = re.search(r"\(profile `(\w+)`\)", (out / "REPORT.md").read_text())
        return found.group(1) if found else UNKNOWN
    except OSError:
        pass
    return UNKNOWN if any((out / name).exists() for name in experiments) else None


def claim(out: str | Path, profile: str, experiments: Iterable[str], force: bool = False) -> None:
    """Record that ``out`` holds ``profile``'s report, refusing first (unless ``force``) if it holds another's."""
    out = Path(out)
    held = held_profile(out, experiments)
    if held not in (None, profile) and not force:
        what = "a report of unknown profile" if held == UNKNOWN else f"the {held} profile's report"
        raise ReportFolderError(f"{out} holds {what}; writing the {profile} profile there needs --force "
                                "(or choose another --out folder)")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(json.dumps({"profile": profile}) + "\n")
