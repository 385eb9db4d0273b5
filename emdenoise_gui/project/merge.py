"""Two writers of one project.json (two EMDenoise windows, or a window and a script): what the other added.

When a save finds project.json changed since this window last read or wrote it, the stacks and results
the other writer added since then are taken into this window's project before it writes, so neither
window's new results drop out of the project. Only additions are merged: what either side removed or
renamed stays as this window has it (the other version is kept beside it as a file as well).
"""

from __future__ import annotations

import json
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.project.identity import SameFiles, next_id
from emdenoise_gui.project.records import ResultRecord, StackRecord


def _records(text: str | None) -> tuple[list[dict], list[dict]] | None:
    """(stacks, results) as raw dicts of a project.json ``text``; None when it does not read as one."""
    try:
        data = json.loads(text or "")
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    stacks, results = data.get("stacks"), data.get("results")
    if not isinstance(stacks, list) or not isinstance(results, list):
        return None
    return [s for s in stacks if isinstance(s, dict)], [r for r in results if isinstance(r, dict)]


def _stack_key(raw: dict) -> str | None:
    path = raw.get("path")
    return str(Path(path).expanduser().resolve()) if isinstance(path, str) and path else None


def added_by_other(base_text: str | None, their_text: str
                   ) -> tuple[list[StackRecord], list[tuple[ResultRecord, str | None]]]:
    """The stack records, and the (result record, its stack's file) pairs, in ``their_text`` (project.json as
    another writer left it) that were not in ``base_text`` (as this window last read or wrote it), validated;
    records that do not validate are left out (the other version is kept as a file). Stacks are matched by
    file (resolved path), results by path; the ids are the other writer's."""
    base, theirs = _records(base_text), _records(their_text)
    if base is None or theirs is None:
        return [], []
    base_stacks = {_stack_key(s) for s in base[0]}
    base_results = {r.get("path") for r in base[1]}
    stacks, results = [], []
    for i, raw in enumerate(theirs[0]):
        if _stack_key(raw) not in base_stacks:
            try:
                stacks.append(StackRecord.from_dict(raw, f"stacks[{i}]"))
            except (InputError, ValueError, TypeError):
                continue
    for i, raw in enumerate(theirs[1]):
        if raw.get("path") not in base_results:
            try:
                results.append(ResultRecord.from_dict(raw, f"results[{i}]"))
            except (InputError, ValueError, TypeError):
                continue
    their_paths = {raw.get("id"): _stack_key(raw) for raw in theirs[0]}
    return stacks, [(result, their_paths.get(result.stack_id)) for result in results]


def only_additions(base_text: str | None, their_text: str) -> bool:
    """Whether ``their_text`` is ``base_text`` with stacks and results added and nothing else changed (what
    ``emdenoise denoise --project`` writes): taking their additions in then loses nothing of theirs."""
    try:
        base, theirs = json.loads(base_text or ""), json.loads(their_text)
    except (ValueError, RecursionError):
        return False
    if not isinstance(base, dict) or not isinstance(theirs, dict):
        return False
    lists = ("stacks", "results")
    if any(not isinstance(d.get(key), list) for d in (base, theirs) for key in lists):
        return False
    if {k: v for k, v in base.items() if k not in lists} != {k: v for k, v in theirs.items() if k not in lists}:
        return False
    for key in lists:  # as sets of canonical texts: a list's `in` made a project of 20,000 results take minutes
        have = {_canonical(key, entry) for entry in theirs[key]}
        if not all(_canonical(key, entry) in have for entry in base[key]):
            return False
    return True


def _canonical(key: str, entry) -> str:
    """An entry of the list ``key`` ("stacks" or "results") as text to compare, a stack's relative path left
    out: a writer that opens a project of a version before relative paths writes them. (A stack's new place,
    found or located by the other writer, is a change: not taken in quietly, its version is kept aside.)"""
    if key == "stacks" and isinstance(entry, dict):
        entry = {k: v for k, v in entry.items() if k != "relative"}
    return json.dumps(entry, sort_keys=True)


def take_additions(project, their_text: str) -> int:
    """Add to ``project`` (a :class:`~.project.Project`) the stacks and results another writer added to its
    project.json (``their_text``) since the project last read or wrote it, under ids of its own; returns how
    many were added."""
    stacks, results = added_by_other(project._disk_text, their_text)
    same, added = SameFiles([s.path for s in project.stacks]), 0
    for record in stacks:
        if same.find(Path(record.path)) is None:
            record.id = next_id("s", [s.id for s in project.stacks])
            project.stacks.append(record)
            same.add(record.path)
            added += 1
    paths = {r.path for r in project.results}
    for result, stack_path in results:
        found = same.find(Path(stack_path)) if stack_path else None
        if result.path in paths or found is None:
            continue
        result.stack_id, result.id = project.stacks[found].id, next_id("r", [r.id for r in project.results])
        project.results.append(result)
        paths.add(result.path)
        added += 1
    return added
