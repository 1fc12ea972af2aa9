"""Diffs agree with difflib and rebuild the new source from the old; input checks say what is wrong."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanta.workspace._checks import check_description, check_source, check_tags, check_title
from quanta.workspace._diff import diff_sources
from quanta.workspace.errors import InvalidInput, InvalidSource
from quanta.workspace.models import MAX_SOURCE_BYTES, DiffHunk

lines = st.lists(
    st.sampled_from(["a = 1", "b = 2", "", "    pass", "def f():", "return x", "# note"]), max_size=30
)


def apply(old: list[str], hunks: list[DiffHunk]) -> list[str]:
    """Rebuild the new lines from the old ones and the hunks alone."""
    result: list[str] = []
    position = 0  # 0-based index into old
    for hunk in hunks:
        start = hunk.old_start - 1 if hunk.old_count else hunk.old_start
        result.extend(old[position:start])
        position = start
        for line in hunk.lines:
            if line.kind == "context":
                assert old[position] == line.text
                result.append(line.text)
                position += 1
            elif line.kind == "remove":
                assert old[position] == line.text
                position += 1
            else:
                result.append(line.text)
    return result + old[position:]


@given(old=lines, new=lines, context=st.integers(0, 4))
def test_the_diff_is_difflibs_unified_diff_and_its_hunks_rebuild_the_new_source(
    old: list[str], new: list[str], context: int
) -> None:
    unified, hunks = diff_sources(_text(old), _text(new), old_label="v1", new_label="v2", context=context)

    expected = list(difflib.unified_diff(old, new, "v1", "v2", n=context, lineterm=""))
    assert unified.splitlines() == expected
    assert apply(old, hunks) == new


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def test_line_numbers_count_from_one_on_each_side() -> None:
    _, hunks = diff_sources("a\nb\nc\n", "a\nB\nc\nd\n", context=0)

    numbered = [(line.kind, line.old_line, line.new_line, line.text) for hunk in hunks for line in hunk.lines]
    assert numbered == [("remove", 2, None, "b"), ("add", None, 2, "B"), ("add", None, 4, "d")]
    assert [h.header for h in hunks] == ["@@ -2 +2 @@", "@@ -3,0 +4 @@"]


def test_identical_sources_have_no_diff() -> None:
    assert diff_sources("x = 1\n", "x = 1\n") == ("", [])


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("def f(:\n    pass\n", 1, 7, "Line 1, column 7: invalid syntax."),
        ("x = 1\n  y = 2\n", 2, 2, "Line 2, column 2: unexpected indent."),
        ("s = 'unclosed\n", 1, 5, "Line 1, column 5: unterminated string literal (detected at line 1)."),
    ],
)
def test_a_source_that_does_not_parse_is_refused_with_its_position(
    source: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(InvalidSource) as caught:
        check_source(source)

    assert (caught.value.line, caught.value.column, str(caught.value)) == (line, column, message)


def test_sources_are_limited_to_200_kb_and_must_not_be_empty_or_binary() -> None:
    big = "x = 1\n" * (MAX_SOURCE_BYTES // 6 + 1)

    with pytest.raises(InvalidSource, match="the limit is 200,000 bytes"):
        check_source(big)
    with pytest.raises(InvalidSource, match="empty"):
        check_source("  \n")
    with pytest.raises(InvalidSource, match="not valid Python"):
        check_source("x = 1\x00\n")
    with pytest.raises(InvalidSource):
        check_source("x = '\ud800'\n")
    assert check_source("x = '\\d'\n") == "x = '\\d'\n"


def test_tags_titles_and_descriptions() -> None:
    assert check_tags([" Trend ", "trend", "mean-reversion", "fx2"]) == ["trend", "mean-reversion", "fx2"]
    for bad in (["-lead"], ["trail-"], ["a" * 25], ["émoji"], [str(n) for n in range(11)]):
        with pytest.raises(InvalidInput):
            check_tags(bad)
    assert check_title("  Golden cross ") == "Golden cross"
    with pytest.raises(InvalidInput, match="control character"):
        check_title("Tab\there")
    assert check_description("Line one\r\nLine two\t ok") == "Line one\nLine two\t ok"
    with pytest.raises(InvalidInput):
        check_description("bell \x07")
