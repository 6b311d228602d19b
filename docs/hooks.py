"""MkDocs hook: the pages whose owner is elsewhere are generated at build time, never copied.

- ``quickstart.md`` and ``methods.md``: the README's "Quickstart" and "Methods and their limits"
  sections (the README stays the one text; links into the repository become code names);
- ``cli.md``: the command-line reference, from the typer app (:func:`planner.clidoc.cli_markdown`);
- ``<!-- readme: TITLE -->`` in a page: that README section.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def readme_section(title: str) -> str:
    """The README section headed ``## {title}``, up to the next ``## `` heading, as a page of its own."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section '## {title}'")
    body = match.group(1)
    body = re.sub(r"^(#{3,6}) ", lambda m: m.group(1)[1:] + " ", body, flags=re.M)  # ### -> ##
    body = body.replace("](docs/", "](")  # the screenshots live in docs/
    # links to files of the repository, not of the site: their names, as code
    body = re.sub(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)", lambda m: f"{m.group(1)} (`{m.group(2)}`)", body)
    return f"# {title}\n{body}"


def on_page_markdown(markdown, page, config, files):
    """``<!-- readme: TITLE -->`` in a page becomes that README section (one text, two places)."""
    return re.sub(r"<!-- readme: (.+?) -->", lambda m: readme_section(m.group(1)).split("\n", 1)[1], markdown)


def on_files(files, config):
    from planner.clidoc import cli_markdown

    pages = {
        "quickstart.md": readme_section("Quickstart"),
        "methods.md": readme_section("Methods and their limits"),
        "cli.md": cli_markdown(),
    }
    for name, content in pages.items():
        files.append(File.generated(config, name, content=content))
    return files
