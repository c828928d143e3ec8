"""Shown output in the docs that cannot drift: each output block is the output of a command, checked by the
test suite (tests/test_doc_outputs.py) and rewritten by ``python tests/doc_outputs.py --update``.

A block in a Markdown page looks like this (the comments do not show on the rendered page)::

    <!-- output-of: docs/tutorials/load_dataset.py --work-dir {work} -->
    ```
    === build the index ===
    wrote <work-dir>/deam/deam_index_1.0.json: version 1.0, 6 tracks, 9 metadata files
    ...
    ```
    <!-- end-output -->

The command is a Python script of the repository and its arguments; ``{work}`` becomes a fresh temporary
folder. It runs from the repository root with stdout and stderr in one unbuffered stream (warnings appear
where they happen). In its output the temporary folder reads ``<work-dir>`` and the repository root
``<repo>``; trailing spaces are dropped. The shown text must match with doctest's ELLIPSIS rule: ``...``
stands for any text, including whole lines, so a page may abridge the output but every number it shows is
one the command printed. A command marked ``(slow)`` at the end of the comment is checked by the slow tests.
"""

from __future__ import annotations

import argparse
import doctest
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Pages whose output blocks are checked.
PAGES = sorted((REPO / "docs" / "tutorials").glob("*.md"))

BLOCK = re.compile(r"<!-- output-of: (?P<command>.+?) -->\n```(?P<lang>[A-Za-z]*)\n(?P<shown>.*?)```\n"
                   r"<!-- end-output -->", re.S)


@dataclass
class OutputBlock:
    """One output block: where it is, the command, and the text the page shows."""

    page: Path
    command: str
    slow: bool
    shown: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.page.name}: {self.command}"


def output_blocks(pages=PAGES) -> list:
    """Every output block of ``pages``, in page order."""
    found = []
    for page in pages:
        text = Path(page).read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            command = m.group("command").strip()
            slow = command.endswith("(slow)")
            command = command.removesuffix("(slow)").strip()
            found.append(OutputBlock(Path(page), command, slow, m.group("shown"), m.start("shown"),
                                     m.end("shown")))
    return found


def run(block: OutputBlock, *, timeout: float = 3600) -> str:
    """Run the block's command and return its normalised output."""
    with tempfile.TemporaryDirectory(prefix="doc-output-") as work:
        work = str(Path(work).resolve())
        argv = [a.replace("{work}", work) for a in shlex.split(block.command)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
        done = subprocess.run([sys.executable, *argv], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
        out = done.stdout.replace(work, "<work-dir>").replace(str(REPO), "<repo>")
    if done.returncode != 0:
        raise RuntimeError(f"`{block.command}` exited with {done.returncode}:\n{out[-3000:]}")
    return "\n".join(line.rstrip() for line in out.splitlines()) + "\n"


def matches(shown: str, actual: str) -> bool:
    """Whether the page's text is the actual output, ``...`` standing for any text (doctest's ELLIPSIS)."""
    return doctest.OutputChecker().check_output(shown, actual, doctest.ELLIPSIS)


def update(pages=PAGES, *, include_slow: bool = False) -> list:
    """Rewrite every output block with its command's full output; returns the pages changed."""
    changed = []
    for page in pages:
        page = Path(page)
        blocks = [b for b in output_blocks([page]) if include_slow or not b.slow]
        text = page.read_text(encoding="utf-8")
        for block in sorted(blocks, key=lambda b: b.start, reverse=True):
            actual = run(block)
            if not matches(block.shown, actual):
                text = text[:block.start] + actual + text[block.end:]
        if text != page.read_text(encoding="utf-8"):
            page.write_text(text, encoding="utf-8")
            changed.append(page)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Check (default) or rewrite the output blocks of the docs.")
    parser.add_argument("pages", nargs="*", help="Markdown pages (default: docs/tutorials/*.md)")
    parser.add_argument("--update", action="store_true", help="rewrite blocks whose output differs")
    parser.add_argument("--slow", action="store_true", help="include blocks marked (slow)")
    args = parser.parse_args(argv)
    pages = [Path(p).resolve() for p in args.pages] or PAGES
    if args.update:
        for page in update(pages, include_slow=args.slow):
            print(f"updated {page.relative_to(REPO)}")
        return 0
    bad = 0
    for block in output_blocks(pages):
        if block.slow and not args.slow:
            continue
        ok = matches(block.shown, run(block))
        bad += not ok
        print(f"{'ok  ' if ok else 'DIFF'} {block.name}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
