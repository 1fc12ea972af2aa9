"""Line diffs between two sources: unified diff text and the same changes as hunks of numbered lines.

Both come from one ``difflib.SequenceMatcher`` grouping, so the text and the structure always agree.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from quanta.workspace.models import DiffHunk, DiffLine

Opcode = tuple[str, int, int, int, int]


def diff_sources(
    old: str, new: str, *, old_label: str = "old", new_label: str = "new", context: int = 3
) -> tuple[str, list[DiffHunk]]:
    """The unified diff of ``old`` → ``new`` (``context`` lines around changes) and its hunks."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    hunks = [_hunk(group, old_lines, new_lines) for group in matcher.get_grouped_opcodes(context)]
    if not hunks:
        return "", []
    text = [f"--- {old_label}", f"+++ {new_label}"]
    for hunk in hunks:
        text.append(hunk.header)
        text.extend(_PREFIX[line.kind] + line.text for line in hunk.lines)
    return "\n".join(text) + "\n", hunks


_PREFIX = {"add": "+", "remove": "-", "context": " "}


def _hunk(group: list[Opcode], old_lines: list[str], new_lines: list[str]) -> DiffHunk:
    first, last = group[0], group[-1]
    old_start, old_end, new_start, new_end = first[1], last[2], first[3], last[4]
    lines: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            lines.extend(
                DiffLine(kind="context", old_line=i + 1, new_line=j + 1, text=old_lines[i])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            )
            continue
        lines.extend(
            DiffLine(kind="remove", old_line=i + 1, new_line=None, text=old_lines[i]) for i in range(i1, i2)
        )
        lines.extend(
            DiffLine(kind="add", old_line=None, new_line=j + 1, text=new_lines[j]) for j in range(j1, j2)
        )
    old_count, new_count = old_end - old_start, new_end - new_start
    header = f"@@ -{_range(old_start, old_count)} +{_range(new_start, new_count)} @@"
    return DiffHunk(
        header=header,
        old_start=old_start + 1 if old_count else old_start,
        old_count=old_count,
        new_start=new_start + 1 if new_count else new_start,
        new_count=new_count,
        lines=lines,
    )


def _range(start: int, count: int) -> str:
    """A unified diff range, as ``difflib.unified_diff`` writes it."""
    beginning = start + 1 if count else start
    return str(beginning) if count == 1 else f"{beginning},{count}"
