"""The public surface: ``__all__`` is exactly what the package exports (as httpx tests it)."""

from __future__ import annotations

import ast
import subprocess
import sys
import types

import pandas as pd
import pytest

import productiv_pandas as pp


def _exported() -> set[str]:
    """Public names bound in the package, minus submodules and ``from __future__`` features."""
    return {
        name
        for name, value in vars(pp).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"
    }


def test_all_matches_what_is_exported() -> None:
    assert len(pp.__all__) == len(set(pp.__all__)), "__all__ lists a name twice"
    assert set(pp.__all__) == _exported()


def test_every_name_in_all_resolves() -> None:
    for name in pp.__all__:
        assert getattr(pp, name) is not None, name


def test_the_names_the_design_relies_on_are_exported() -> None:
    design = {
        "validate",
        "prepare",
        "UsageEvents",
        "StaleEventWarning",
        "NaiveTimestampWarning",
        "ProductivError",
        "ConfigurationError",
        "APIError",
        "ProductivClient",
        "PublishInterrupted",
        "STATUSES",
        "validate_file",  # files bigger than memory (issue 6)
        "publish_file",
        "sample_events",  # the demo's sample, in the package (issue 11)
        "SAMPLE_OPTIONS",
    }
    assert design <= set(pp.__all__)


def test_exception_and_warning_hierarchy() -> None:
    assert issubclass(pp.ConfigurationError, pp.ProductivError)
    assert issubclass(pp.ConfigurationError, ValueError)
    assert issubclass(pp.APIError, pp.ProductivError)
    assert issubclass(pp.JournalError, pp.ConfigurationError)  # so also a ValueError
    assert issubclass(pp.StaleEventWarning, UserWarning)
    assert issubclass(pp.NaiveTimestampWarning, UserWarning)


def test_sample_options_cannot_be_changed_by_one_caller_for_all() -> None:
    assert isinstance(pp.SAMPLE_OPTIONS, types.MappingProxyType)
    with pytest.raises(TypeError):
        pp.SAMPLE_OPTIONS["tz"] = "UTC"  # type: ignore[index]
    assert pp.SAMPLE_OPTIONS["tz"] == "America/New_York"


def test_usage_events_is_a_pandera_model() -> None:
    import pandera.pandas as pa

    assert issubclass(pp.UsageEvents, pa.DataFrameModel)


def test_importing_registers_the_accessor() -> None:
    assert isinstance(pd.DataFrame().productiv, pp.accessor.ProductivAccessor)


@pytest.mark.slow
def test_the_accessor_appears_only_on_import() -> None:
    # In a fresh interpreter: pandas alone has no `productiv`; importing the package adds it.
    code = (
        "import pandas as pd\n"
        "assert not hasattr(pd.DataFrame(), 'productiv')\n"
        "import productiv_pandas\n"
        "assert hasattr(pd.DataFrame(), 'productiv')\n"
        "print(sorted(m for m in dir(pd.DataFrame().productiv) if not m.startswith('_')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr
    assert {"validate", "prepare"} <= set(ast.literal_eval(result.stdout))


def test_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("productiv_pandas").joinpath("py.typed").is_file()
