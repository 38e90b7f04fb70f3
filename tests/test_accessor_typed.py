"""The accessors' publish spells out the same keyword arguments as the function it calls, so
help(), IDE completion and type checkers see batch_size, journal, max_workers... there too."""

from __future__ import annotations

import inspect

import pandas as pd

import productiv_pandas as pp
from productiv_pandas._dask import accessor as dask_accessor
from productiv_pandas._dask import publish as dask_publish
from productiv_pandas.accessor import ProductivAccessor
from tests.helpers.publishing import APP, CATALOG, events


def keywords(function) -> dict[str, object]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_the_accessor_publish_has_publish_s_keywords_and_defaults():
    assert keywords(ProductivAccessor.publish) == keywords(pp.publish)
    assert {"journal", "batch_size", "max_workers", "max_retries", "max_split_requests", "progress"} <= set(
        keywords(ProductivAccessor.publish)
    )
    assert keywords(dask_accessor.DaskProductivAccessor.publish) == keywords(dask_publish.publish)


def test_the_accessor_passes_each_keyword_on(sandbox_with, tmp_path):
    sb = sandbox_with(APP, events=CATALOG)
    frame = events(5)
    with sb.client() as client:
        status = frame.productiv.publish(
            APP, client=client, journal=tmp_path / "j.sqlite", batch_size=2, max_workers=1, progress=False
        )
        again = frame.productiv.publish(APP, client=client, journal=tmp_path / "j.sqlite", progress=False)
    assert status["status"].tolist() == ["sent"] * 5
    assert status["batch"].tolist() == [0, 0, 1, 1, 2]
    assert again["status"].tolist() == ["skipped"] * 5
    assert again["problem"].tolist() == ["already_sent"] * 5
    assert isinstance(again, pd.DataFrame)
