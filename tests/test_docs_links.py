"""Every relative link and every ``#anchor`` in README.md, CHANGELOG.md and docs/**/*.md resolves, as GitHub renders
them: the target file or folder exists in the repository, and an anchor names a heading of the target page (GitHub's
slug of the heading's text) or an explicit ``<a id>``. Every page under docs/ is reachable from docs/index.md.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")])


FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
MARKDOWN_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]*)\"", re.IGNORECASE)
HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")


def _prose(text: str) -> str:
    """The page without fenced code blocks (links and headings there are not rendered as such)."""
    return FENCE.sub("", text)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading (github-slugger on the rendered text): inline markup dropped, lower case,
    every character but letters, digits, ``_``, ``-`` and spaces removed, spaces turned into ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # _emphasis_, but not snake_case
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page offers: heading slugs (a repeated slug gets -1, -2, … as on GitHub) and explicit ids."""
    prose = _prose(page.read_text())
    seen: Counter[str] = Counter()
    found = set()
    for _, heading in HEADING.findall(prose):
        slug = github_slug(heading)
        found.add(slug if seen[slug] == 0 else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return found | set(HTML_ANCHOR.findall(prose))


def links(page: Path) -> list[str]:
    """Every link target on a page, outside code."""
    prose = CODE_SPAN.sub("", _prose(page.read_text()))
    return [*MARKDOWN_LINK.findall(prose), *REFERENCE_DEFINITION.findall(prose), *HTML_LINK.findall(prose)]


def _broken(page: Path, target: str) -> str | None:
    """Why a link target does not resolve, or None when it does."""
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    destination = (page.parent / path_part).resolve() if path_part else page
    if not destination.is_relative_to(ROOT):
        return "points outside the repository"
    relative = destination.relative_to(ROOT).as_posix()
    if not destination.exists():
        return f"{relative} does not exist"
    if anchor:
        if destination.suffix != ".md":
            return f"an anchor into {relative}, which is not a Markdown page"
        if unquote(anchor) not in anchors(destination):
            return f"{relative} has no heading or id for #{anchor}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    relative_links = [t for t in links(page) if t and not EXTERNAL.match(t)]
    broken = {target: reason for target in relative_links if (reason := _broken(page, target))}
    assert broken == {}, f"broken links in {page.relative_to(ROOT)}"


def test_every_docs_page_is_linked_from_the_index() -> None:
    index = ROOT / "docs" / "index.md"
    linked = {(index.parent / unquote(t.partition("#")[0])).resolve() for t in links(index) if not EXTERNAL.match(t)}
    orphans = [p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md") if p not in linked | {index}]
    assert orphans == [], "pages no reader can find from docs/index.md"


def test_the_link_check_sees_what_github_renders(tmp_path: Path) -> None:
    """The checker itself: slugs as GitHub makes them, links in code ignored, broken targets and anchors found."""
    assert github_slug("Token cache: one token per lifetime across task processes") == \
        "token-cache-one-token-per-lifetime-across-task-processes"
    assert github_slug("`LogtoExportOperator`") == "logtoexportoperator"
    assert github_slug("Airflow 2.11–3.3 & the `cache_sharing` extra") == "airflow-21133--the-cache_sharing-extra"
    assert github_slug("Try the hook [outside](x.md) a *task*") == "try-the-hook-outside-a-task"
    page = tmp_path / "page.md"
    page.write_text("# Title\n## Title\n<a id=\"here\"></a>\n[ok](#title-1) [ok](#here) [bad](#nope) "
                    "[gone](missing.md) `[code](missing.md)`\n```\n[fenced](missing.md)\n```\n")
    assert anchors(page) == {"title", "title-1", "here"}
    assert links(page) == ["#title-1", "#here", "#nope", "missing.md"]
