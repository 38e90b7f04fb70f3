"""The user's terms: how a message names an option, a value of it and a column mapping, in
Python (``unit='s'``, ``columns={'when': 'timestamp'}``) or on the command line (``--unit s``,
``--column when=timestamp``).

The checks and their sentences exist once; each takes a :class:`Terms` (Python by default) and
fills its few templates from it, so a CLI run explains the same problem, on screen and in the
reasons of its status file, in the options its user typed. The CLI hands :data:`CLI` down as the
private ``_terms`` keyword of the file functions (``validate_file(path, _terms=CLI, ...)``),
which :meth:`~._options.PrepareOptions.from_kwargs` keeps in ``PrepareOptions.terms``: private,
because a Python caller has no reason to ask for CLI wording, and a public keyword would be one
more option for every signature and the docs to carry.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["CLI", "PYTHON", "Terms", "format_label"]


def format_label(label: object) -> str:
    """An index label as the analyst would type it: ``3``, ``'a'``, ``('x', 2)``."""
    if isinstance(label, tuple):
        inner = ", ".join(format_label(part) for part in label)
        return f"({inner}{',' if len(label) == 1 else ''})"
    if isinstance(label, np.generic):
        label = label.item()
    return repr(label) if isinstance(label, str) else str(label)


@dataclass(frozen=True)
class Terms:
    """One vocabulary: the templates the messages and reasons are filled from.

    Attributes
    ----------
    names : mapping of str to str
        A Python option's name as the user writes it (``on_stale`` -> ``--on-stale``); an option
        not listed is written as it is named.
    with_value : str
        An option given a value, from ``{name}`` and ``{value}`` (the value as a literal in
        Python, ``'s'``; as a word on a command line, ``s``).
    with_blank, metavars : str, mapping of str to str
        An option whose value is the user's to choose, from ``{name}`` and ``{metavar}``
        (``journal=``, ``--journal FILE``; the metavar from ``metavars``, else ``VALUE``).
    pair : str
        One input column mapped to an API field, from ``{name}`` (the columns option) and
        ``{source}`` and ``{field}``, each a literal or a word as for ``with_value``.
    pairs : str
        The whole mapping, from ``{name}`` and ``{pairs}``, the pairs joined with ``joiner``.
    verb : str
        What the user does with an option in a hint: "pass" it to a function, "use" it on a
        command line.
    holder : str
        What holds the columns: "the frame" in Python, "the file" on a command line.
    shell : bool
        Whether the user is at a shell: values are shell words (quoted when they need it) and
        no hint shows pandas code (``df.loc[...]``).
    """

    names: Mapping[str, str]
    with_value: str
    with_blank: str
    metavars: Mapping[str, str]
    pair: str
    pairs: str
    joiner: str
    verb: str
    holder: str
    shell: bool

    def name(self, option: str) -> str:
        """``columns`` -> ``columns`` or ``--column``."""
        return self.names.get(option, option)

    def literal(self, value: object) -> str:
        """A value as the user writes it: ``'s'`` in Python, ``s`` at a shell."""
        return shlex.quote(str(value)) if self.shell else format_label(value)

    def option(self, option: str, value: object) -> str:
        """``unit='s'`` or ``--unit s``."""
        return self.with_value.format(name=self.name(option), value=self.literal(value))

    def blank(self, option: str) -> str:
        """``journal=`` or ``--journal FILE``: the option, its value left to the user."""
        return self.with_blank.format(name=self.name(option), metavar=self.metavars.get(option, "VALUE"))

    def offered(self, option: str, value: object) -> str:
        """A value suggested for an option the sentence already names: ``'UTC'`` in Python,
        ``--tz UTC`` at a shell (what to type)."""
        return self.option(option, value) if self.shell else self.literal(value)

    def hint(self, option: str, value: object) -> str:
        """``pass unit='s'`` or ``use --unit s``."""
        return f"{self.verb} {self.option(option, value)}"

    def columns(self, pairs: Iterable[tuple[object, str]]) -> str:
        """``columns={'when': 'timestamp'}`` or ``--column when=timestamp``."""
        name = self.name("columns")
        if self.shell:  # one word each, ``source=field``: quoted whole if it needs it
            mapped = [
                self.pair.format(name=name, pair=self.literal(f"{source}={field}")) for source, field in pairs
            ]
        else:
            mapped = [
                self.pair.format(name=name, pair=f"{self.literal(source)}: {self.literal(field)}")
                for source, field in pairs
            ]
        return self.pairs.format(name=name, pairs=self.joiner.join(mapped))


#: Python's terms: keyword arguments with literal values; every message's default.
PYTHON = Terms(
    names={},
    with_value="{name}={value}",
    with_blank="{name}=",
    metavars={},
    pair="{pair}",
    pairs="{name}={{{pairs}}}",
    joiner=", ",
    verb="pass",
    holder="the frame",
    shell=False,
)

#: The command line's terms (``productiv-pandas validate/publish``): its options and words.
CLI = Terms(
    names={
        "columns": "--column",
        "unit": "--unit",
        "tz": "--tz",
        "login_events": "--login-event",
        "allowed_events": "--allowed-events",
        "on_stale": "--on-stale",
        "journal": "--journal",
        "status_out": "--status-out",
    },
    with_value="{name} {value}",
    with_blank="{name} {metavar}",
    metavars={"journal": "FILE", "allowed_events": "FILE", "status_out": "FILE"},
    pair="{name} {pair}",
    pairs="{pairs}",
    joiner=" ",
    verb="use",
    holder="the file",
    shell=True,
)
