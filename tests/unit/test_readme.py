"""The README as a newcomer meets it: rendered as Markdown (CommonMark, markdown-it-py), its headings
are real headings in a sensible outline, no code block swallows the text after it, and every Python
block compiles, passes ruff with the project's rules and runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
REQUIRED_SECTIONS = ["Try it", "Web form webhook", "Email", "Agent API", "Notifications", "Writing rules",
                     "Layout", "Writing a plugin", "Deploying", "Configuration"]


def tokens():
    return MarkdownIt("commonmark").enable("table").parse(README)


def headings() -> list[tuple[int, str]]:
    toks = tokens()
    return [(int(t.tag[1]), toks[i + 1].content) for i, t in enumerate(toks) if t.type == "heading_open"]


def python_blocks() -> list[tuple[int, str]]:
    return [(t.map[0] + 1, t.content) for t in tokens() if t.type == "fence" and t.info.strip() == "python"]


def test_readme_renders_with_one_title_and_an_outline_without_gaps():
    html = MarkdownIt("commonmark").enable("table").render(README)
    assert html.startswith("<h1>helpdesk-rules</h1>")
    found = headings()
    assert [level for level, _ in found].count(1) == 1
    for (prev, _), (level, text) in zip(found, found[1:], strict=False):
        assert level <= prev + 1, f"heading {text!r} skips a level"
    titles = [text for level, text in found if level == 2]
    positions = [titles.index(t) for t in REQUIRED_SECTIONS]  # ValueError: a section is not a heading
    assert positions == sorted(positions)
    first_code = next(t for t in tokens() if t.type == "fence")
    assert "make run" in first_code.content and "make test" in first_code.content


def test_no_code_block_swallows_what_follows_it():
    lines = README.splitlines()
    fences = [t for t in tokens() if t.type == "fence"]
    starts = {t.map[0] for t in fences}
    for number, line in enumerate(lines):
        if re.match(r"^```\w", line):  # an opening fence with an info string must open a block
            assert number in starts, f"README line {number + 1} ({line!r}) is inside another code block"
    for t in fences:
        assert t.map[1] <= len(lines) and lines[t.map[1] - 1].lstrip().startswith(("```", "~~~")), \
            f"code block at line {t.map[0] + 1} is never closed"
        assert not re.search(r"^#{2,6} \S", t.content, re.M), f"code block at line {t.map[0] + 1} holds a heading"


def test_there_are_python_blocks():
    assert len(python_blocks()) >= 4


@pytest.mark.parametrize("line,code", python_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_python_block_compiles_passes_ruff_and_runs(line: int, code: str, tmp_path: Path):
    compile(code, f"README.md:{line}", "exec")
    ruff = Path(sys.executable).parent / "ruff"
    proc = subprocess.run([str(ruff), "check", "--no-cache", "--stdin-filename", f"readme_line{line}.py", "-"],
                          input=code, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, f"README.md line {line}:\n{proc.stdout}"
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": f"readme_line{line}"})
