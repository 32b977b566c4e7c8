"""The heading or checklist line a person most likely meant, for a fix or rule that binds to nothing.

Binding is exact (up to case and markdown), so "Pydantic Compatibility" does not bind to the heading
"3. Pydantic v2 Compatibility - 1 hour ⏳": the fix still completes, but no mark follows it.
``check-config --issue-body`` names the closest candidate so the config or the issue can be corrected.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from difflib import SequenceMatcher
from typing import TypeVar

from bot.rules.headings import SEPARATORS, Heading, headings, title_key, written_title
from bot.tracking.body import ChecklistItem, checklist_items
from bot.tracking.body import match_key as checklist_key

# Below this similarity (difflib's ratio, 0..1) a candidate is not offered: a guess that is merely the
# least unlike would send people to the wrong heading.
CLOSE_ENOUGH = 0.6
_Candidate = TypeVar("_Candidate", Heading, ChecklistItem)


def closest_heading(body: str, name: str, taken: Collection[int] = ()) -> Heading | None:
    """The heading most like a fix's ``name``, its title compared with and without what follows a
    separator (" - 2 hours"); headings on lines in ``taken`` (bound to other fixes) are not offered."""
    wanted = checklist_key(name)
    candidates = [heading for heading in headings(body) if heading.line_index not in taken]
    scored = ((_best(wanted, _titles(title_key(heading.text))), heading) for heading in candidates)
    return _pick(scored)


def closest_item(body: str, line: str, taken: Collection[int] = ()) -> ChecklistItem | None:
    """The checklist line most like ``line``; lines in ``taken`` (bound to other rules) are not offered."""
    wanted = checklist_key(line)
    candidates = [item for item in checklist_items(body) if item.line_index not in taken]
    return _pick((_best(wanted, [checklist_key(item.text)]), item) for item in candidates)


def heading_name(heading: Heading) -> str:
    """What a fix would be named to bind to ``heading``: its title before the first separator, as written."""
    title = written_title(heading.text)
    cuts = [title.index(separator) for separator in SEPARATORS if separator in title]
    return title[: min(cuts)].strip() if cuts else title


def _titles(key: str) -> list[str]:
    return [key, *(key[: key.index(s)] for s in SEPARATORS if s in key)]


def _best(wanted: str, keys: Iterable[str]) -> float:
    return max(SequenceMatcher(None, wanted, key).ratio() for key in keys)


def _pick(scored: Iterable[tuple[float, _Candidate]]) -> _Candidate | None:
    """The best scored candidate at least ``CLOSE_ENOUGH`` alike; the first of equals."""
    best: tuple[float, _Candidate] | None = None
    for score, candidate in scored:
        if score >= CLOSE_ENOUGH and (best is None or score > best[0]):
            best = (score, candidate)
    return None if best is None else best[1]
