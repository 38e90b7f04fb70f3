"""The options as a type: PrepareOptionsDict names and documents each option once, every entry
point takes ``**options: Unpack[PrepareOptionsDict]``, help() and a type checker see them, and
the run-time checks stay."""

from __future__ import annotations

import inspect
import pydoc
import re
import textwrap

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas._dask import accessor as dask_accessor
from productiv_pandas._dask import frames as dask_frames
from productiv_pandas._dask import publish as dask_publish
from productiv_pandas.accessor import ProductivAccessor
from productiv_pandas.preparation._options import OPTION_NAMES, PrepareOptions, PrepareOptionsDict

ENTRY_POINTS = [
    pp.validate,
    pp.prepare,
    pp.publish,
    pp.validate_file,
    pp.publish_file,
    ProductivAccessor.validate,
    ProductivAccessor.prepare,
    ProductivAccessor.publish,
    dask_accessor.DaskProductivAccessor.validate,
    dask_accessor.DaskProductivAccessor.prepare,
    dask_accessor.DaskProductivAccessor.publish,
    dask_frames.validate,
    dask_frames.prepare,
    dask_publish.publish,
]


def test_the_typed_dict_names_exactly_the_options_from_kwargs_checks():
    assert pp.PrepareOptionsDict is PrepareOptionsDict
    assert tuple(PrepareOptionsDict.__annotations__) == OPTION_NAMES
    assert PrepareOptionsDict.__required_keys__ == frozenset()
    keywords = [
        name
        for name, parameter in inspect.signature(PrepareOptions.from_kwargs).parameters.items()
        # _terms: the private vocabulary of the messages (the CLI's), not an option
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "_terms"
    ]
    assert tuple(keywords) == OPTION_NAMES


@pytest.mark.parametrize("function", ENTRY_POINTS, ids=lambda f: f.__qualname__ + "@" + f.__module__)
def test_every_entry_point_types_its_options_and_points_at_the_one_place(function):
    options = inspect.signature(function).parameters["options"]
    assert options.kind is inspect.Parameter.VAR_KEYWORD
    assert options.annotation == "Unpack[PrepareOptionsDict]"
    assert vars(inspect.getmodule(function))["PrepareOptionsDict"] is PrepareOptionsDict
    assert "PrepareOptionsDict" in inspect.getdoc(function)


def test_help_shows_the_options_and_documents_each_once():
    shown = pydoc.render_doc(pp.validate, renderer=pydoc.plaintext)
    assert "**options: 'Unpack[PrepareOptionsDict]'" in shown
    for name in OPTION_NAMES:
        assert f"``{name}``" in shown
    documented = pydoc.render_doc(pp.PrepareOptionsDict, renderer=pydoc.plaintext)
    for name in OPTION_NAMES:
        assert re.search(rf"^\s*\|?\s*{name} : ", documented, re.MULTILINE), name


def test_the_run_time_checks_stay_at_every_entry_point(tmp_path):
    frame = pd.DataFrame({"timestamp": [1_700_000_000_000], "email": ["a@x.io"], "eventName": ["open"]})
    path = tmp_path / "events.csv"
    frame.to_csv(path, index=False)
    expected = re.escape("unknown option 'unti' (did you mean 'unit'?)")
    for call in (
        lambda: pp.validate(frame, unti="s"),
        lambda: frame.productiv.prepare(unti="s"),
        lambda: pp.validate_file(path, unti="s"),
    ):
        with pytest.raises(pp.ConfigurationError, match=expected):
            call()
    with pytest.raises(pp.ConfigurationError, match=r"on_stale must be one of \['warn', 'skip', 'ignore'\]"):
        pp.validate(frame, on_stale="drop")  # type: ignore[arg-type]


@pytest.mark.slow  # runs mypy over the package (12-25 s on 2 shared cores); make test runs it
def test_a_type_checker_sees_the_option_names_and_types(tmp_path):
    api = pytest.importorskip("mypy.api")
    user = tmp_path / "user_code.py"
    user.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            import productiv_pandas as pp

            frame = pd.DataFrame()
            pp.validate(frame, unit="s", on_stale="skip", allowed_events={"open"})
            pp.validate(frame, unti="s")
            frame.productiv.prepare(on_stale="drop")
            pp.validate_file("events.csv", login_events=["sso"], chunksize=10)
            """
        )
    )
    out, _, status = api.run(
        [str(user), "--ignore-missing-imports", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary"]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1
    assert len(errors) == 1, out  # pandas has no types, so the accessor's call is not checked
    assert 'user_code.py:7: error: Unexpected keyword argument "unti" for "validate"' in errors[0]
