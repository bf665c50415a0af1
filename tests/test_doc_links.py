"""Every relative link of README.md, DEVELOPERS.md and docs/**/*.md resolves: the file exists and a
`#anchor` matches a heading of the file it points to, slugged as GitHub does. The README's
configuration table names exactly the keys of SelfLearningConfig."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from self_learning.config import SelfLearningConfig

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def prose(text: str) -> str:
    """The text without fenced code blocks (their lines kept empty, so line numbers hold)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def github_slug(heading: str) -> str:
    """GitHub's anchor of a heading: its rendered text lower-cased, every character but
    letters, digits, `_`, `-` and spaces dropped, spaces turned into `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a file's headings; a repeated slug gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for match in HEADING.finditer(prose(path.read_text())):
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def broken_links(path: Path) -> list[str]:
    """`line: target (why)` for each relative link of `path` that does not resolve."""
    text = prose(path.read_text())
    scanned = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    broken = []
    for match in LINK.finditer(scanned):
        target = match.group(1)
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        goal = (path.parent / file_part).resolve() if file_part else path
        line = text.count("\n", 0, match.start()) + 1
        if not goal.exists():
            broken.append(f"{line}: {target} (no such file)")
        elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
            broken.append(f"{line}: {target} (no heading with this anchor in {goal.name})")
    return broken


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


def test_the_checker_reports_a_missing_file_a_wrong_anchor_and_skips_code(tmp_path):
    """The check fails on a broken link (so the test above can fail), and only then."""
    (tmp_path / "other.md").write_text("# Other\n\n## Does it pay? (dev only)\n## Other\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Top `code` heading\n"
        "[ok](other.md#does-it-pay-dev-only) [ok](other.md#other-1) [ok](#top-code-heading)\n"
        "[web](https://example.com) ![img](other.md)\n"
        "[gone](missing.md) [bad\nanchor](other.md#does-it-pay)\n"
        "`[not a link](missing.md)`\n```\n[in a fence](missing.md)\n```\n"
    )
    assert broken_links(doc) == [
        "4: missing.md (no such file)",
        "4: other.md#does-it-pay (no heading with this anchor in other.md)",
    ]


def test_github_slug_of_this_projects_headings():
    assert github_slug("Does a fresher wide head earn anything on `&-s_close`? (dev only)") == \
        "does-a-fresher-wide-head-earn-anything-on--s_close-dev-only"
    assert github_slug("Sizing by conviction (issue 19, dev only)") == \
        "sizing-by-conviction-issue-19-dev-only"
    assert github_slug("Gaps, flat candles and new listings") == \
        "gaps-flat-candles-and-new-listings"


def readme_config_keys() -> set[str]:
    """The backticked keys in the first column of the README's `freqai.self_learning` table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {key for row in rows for key in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def test_the_readme_configuration_table_names_every_key_of_the_section():
    """Every key of SelfLearningConfig is documented, and the table names no other key."""
    keys = {f.name for f in fields(SelfLearningConfig)} - {"label_period_candles"}
    assert readme_config_keys() == keys
