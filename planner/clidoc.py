"""The command-line reference, generated from the typer app: one owner for what each command takes.

The documentation site's CLI page is :func:`cli_markdown`, and a test checks the
README's command table against :func:`cli_commands`, so neither can drift from
the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer

from planner.cli import app

__all__ = ["CliCommand", "cli_commands", "cli_markdown"]


@dataclass(frozen=True)
class CliCommand:
    """One ``planner`` command as the typer app defines it.

    Attributes
    ----------
    name
        The words after ``planner`` (``"run"``, ``"data check"``).
    help
        The command's help text.
    usage
        The usage line, as ``--help`` prints it.
    options
        Per option: its flags (``"--out"``), its help text and its default (as text, ``""`` for none).
    arguments
        The positional arguments' names, upper case.
    """

    name: str
    help: str
    usage: str
    options: tuple[tuple[tuple[str, ...], str, str], ...]
    arguments: tuple[str, ...]

    @property
    def flags(self) -> set[str]:
        """Every flag of the command (``--out``, ``--no-maps``, ``-v``)."""
        return {flag for names, _help, _default in self.options for flag in names}


def _context(command: Any, name: str, parent: Any = None) -> Any:
    return command.context_class(command, info_name=name, parent=parent)


def _walk(command: Any, path: list[str], ctx: Any) -> list[CliCommand]:
    # typer's own copy of click: read it by what it does (list_commands, param_type_name), not by class
    if hasattr(command, "list_commands"):
        out = []
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out += _walk(sub, [*path, name], _context(sub, name, ctx))
        return out
    options, arguments = [], []
    for param in command.params:
        if param.param_type_name == "option":
            if param.hidden:
                continue
            flags = tuple(param.opts) + tuple(param.secondary_opts)
            default = "" if param.default in (None, False, ()) or callable(param.default) else str(param.default)
            options.append((flags, (param.help or "").strip(), default))
        elif param.param_type_name == "argument":
            arguments.append(str(param.name).upper() + ("..." if param.nargs == -1 else ""))
    usage = " ".join(["planner", *path, "[OPTIONS]", *arguments])
    return [CliCommand(" ".join(path), (command.help or "").strip(), usage, tuple(options), tuple(arguments))]


def cli_commands() -> list[CliCommand]:
    """Every ``planner`` command with its options, read from the typer app.

    Returns
    -------
    list of CliCommand
        Sorted by name; groups (``data``) are walked into their commands (``data check``).
    """
    root = typer.main.get_command(app)
    return _walk(root, [], _context(root, "planner"))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def cli_markdown() -> str:
    """The CLI reference page (Markdown): one section per command, with its usage and a table of options.

    Returns
    -------
    str
        The page.
    """
    lines = [
        "# Command-line reference",
        "",
        "Generated from the `planner` command's own definitions (`planner.clidoc`); "
        "`planner COMMAND --help` prints the same.",
        "",
    ]
    for cmd in cli_commands():
        lines += [f"## planner {cmd.name}", "", f"```text\n{cmd.usage}\n```", ""]
        if cmd.help:
            lines += [cmd.help, ""]
        if cmd.options:
            lines += ["| option | what it does | default |", "|---|---|---|"]
            for flags, text, default in cmd.options:
                shown = ", ".join(f"`{f}`" for f in flags)
                lines.append(f"| {shown} | {_cell(text)} | {_cell(default)} |")
            lines.append("")
    return "\n".join(lines)
