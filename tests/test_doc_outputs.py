"""Every output a tutorial page shows is what its script prints today (tests/doc_outputs.py), and no page
shows output-like text outside such a block."""

import re

import pytest

from doc_outputs import PAGES, BLOCK, matches, output_blocks, run, update

BLOCKS = output_blocks()
COMMAND = re.compile(r"^\s*(#|python|\.venv/|mer-audiolime|make|pip|--8<--|$)")


def test_there_are_blocks_to_check():
    assert {b.page.name for b in BLOCKS} >= {"load_dataset.md", "bias_debugging.md"}


@pytest.mark.parametrize("block", [pytest.param(b, marks=pytest.mark.slow) if b.slow else b for b in BLOCKS],
                         ids=[b.name for b in BLOCKS])
def test_shown_output_is_what_the_script_prints(block):
    actual = run(block)
    assert matches(block.shown, actual), (
        f"{block.page.name} shows output that `{block.command}` no longer prints; run "
        f"`python tests/doc_outputs.py --update{' --slow' if block.slow else ''} {block.page}` and re-read "
        f"the page's prose. Actual output:\n{actual}")


def test_no_page_shows_unchecked_numbers():
    """Outside output blocks a fenced block is code or commands; anything else must carry no numbers."""
    for page in PAGES:
        text = BLOCK.sub("", page.read_text(encoding="utf-8"))
        for fence in re.finditer(r"```(?P<lang>[A-Za-z]*)\n(?P<body>.*?)```", text, re.S):
            if fence.group("lang") == "python":
                continue
            lines = fence.group("body").splitlines()
            for prev, line in zip([""] + lines, lines):
                if COMMAND.match(line) or prev.rstrip().endswith("\\"):
                    continue
                assert not re.search(r"\d", line), (
                    f"{page.name}: {line!r} looks like output with numbers; put it in an output block "
                    "(see tests/doc_outputs.py) so the tests compare it with what the script prints")


def test_the_comparison_can_fail_and_update_rewrites(tmp_path):
    assert matches("valence clean / biased: -0.154 / 0.446\n", "valence clean / biased: -0.154 / 0.446\n")
    assert not matches("valence clean / biased: -0.154 / 0.146\n", "valence clean / biased: -0.154 / 0.446\n")
    assert matches("a\n...\nd 4\n", "a\nb 2\nc 3\nd 4\n") and not matches("a\n...\nd 5\n", "a\nb\nd 4\n")
    script = tmp_path / "prints.py"
    script.write_text("import warnings\nprint('value', 41 + 1)\nwarnings.warn('careful')\nprint('end')\n")
    page = tmp_path / "page.md"
    page.write_text(f"Intro.\n\n<!-- output-of: {script} -->\n```\nvalue 41\n...\n```\n<!-- end-output -->\n"
                    "\nOutro.\n")
    (block,) = output_blocks([page])
    actual = run(block)
    assert actual.startswith("value 42\n") and "UserWarning: careful" in actual and actual.endswith("end\n")
    assert not matches(block.shown, actual)
    assert update([page]) == [page]
    (block,) = output_blocks([page])
    assert matches(block.shown, run(block)) and page.read_text().endswith("<!-- end-output -->\n\nOutro.\n")
    assert update([page]) == []  # nothing left to change
