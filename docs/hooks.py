"""MkDocs hook: pull Markdown files that live outside ``docs/`` (the README, the dataset cards) into pages.

A page line ``<!-- include: path/in/repo.md -->`` is replaced by that file's text. Links in the included text
are written for the repository (``docs/explain.md``, ``deam/README.md``); they are rewritten here into links
between site pages, so the same files read correctly on GitHub and on the site and MkDocs' strict link check
still validates them. A repository file that is not a page becomes plain text naming its path.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r"^<!-- include: (?P<path>\S+) -->[ \t]*$", re.MULTILINE)
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


def _site_page(repo_path: str) -> str | None:
    """Site page (relative to docs/) that shows a repository file, or None."""
    if repo_path.startswith("docs/") and repo_path.endswith(".md"):
        return repo_path[len("docs/"):]
    if repo_path == "README.md":
        return "index.md"
    if repo_path == "datasets/README.md":
        return "datasets.md"
    match = re.fullmatch(r"datasets/([^/]+)/README\.md", repo_path)
    if match:
        return f"cards/{match.group(1)}.md"
    return None


def _rewrite_links(text: str, *, source: str, page: str) -> str:
    base = posixpath.dirname(source)

    def fix(match: re.Match) -> str:
        label, target = match.group("text"), match.group("target")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)  # external URL or in-page anchor
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(base, path))
        site = _site_page(repo_path)
        if site is None:
            return f"{label} (`{repo_path}` in the repository)"
        rel = posixpath.relpath(site, posixpath.dirname(page) or ".")
        return f"[{label}]({rel}{'#' + anchor if anchor else ''})"

    return LINK.sub(fix, text)


def on_page_markdown(markdown, page, config, files):
    def include(match: re.Match) -> str:
        source = match.group("path")
        text = (ROOT / source).read_text(encoding="utf-8")
        return _rewrite_links(text, source=source, page=page.file.src_uri)

    return INCLUDE.sub(include, markdown)
