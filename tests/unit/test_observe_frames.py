"""Range/instant/stream JSON → DataFrame conversion, checked against prometheus-api-client."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest

from course_lib.observe import matrix_frame, streams_frame, vector_frame
from course_lib.observe._frames import result_frame


def _range_result(n_series: int, n_samples: int, *, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    result = []
    for k in range(n_series):
        metric = {"__name__": "checkout_requests_total", "job": "checkout", "status": rng.choice(["200", "500"])}
        if k % 3 == 0:
            metric["instance"] = f"10.0.0.{k}:8080"  # a label only some series have
        values = []
        for i in range(n_samples):
            ts = 1_700_000_000 + i * 15 + round(rng.random(), 3)
            special = rng.random()
            text = (
                "NaN"
                if special < 0.02
                else "+Inf"
                if special < 0.04
                else "-Inf"
                if special < 0.05
                else repr(rng.uniform(-5, 5))
            )
            values.append([ts, text])
        result.append({"metric": metric, "values": values})
    return result


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_matches_metric_range_dataframe_content() -> None:
    from prometheus_api_client import MetricRangeDataFrame

    result = _range_result(40, 250)
    ours = matrix_frame(result)
    theirs = MetricRangeDataFrame(result).reset_index()

    assert len(ours) == len(theirs) == 40 * 250
    # same timestamps (Prometheus has millisecond precision), ours are UTC-aware
    assert str(ours["timestamp"].dt.tz) == "UTC"
    ours_ms = ours["timestamp"].dt.tz_convert(None).values.astype("datetime64[ms]")
    theirs_ms = pd.to_datetime(theirs["timestamp"]).dt.round("ms").values.astype("datetime64[ms]")
    np.testing.assert_array_equal(ours_ms, theirs_ms)
    # same labels, same values (NaN and ±Inf included)
    assert set(ours.columns) - {"timestamp", "value"} == set(theirs.columns) - {"timestamp", "value"}
    for label in ("__name__", "job", "status", "instance"):
        left = ours[label].astype(object).where(ours[label].notna(), None).tolist()
        right = theirs[label].astype(object).where(theirs[label].notna(), None).tolist()
        assert left == right, label
    np.testing.assert_array_equal(ours["value"].to_numpy(), theirs["value"].to_numpy().astype(float))


def test_special_values_and_column_order() -> None:
    frame = matrix_frame(
        [{"metric": {"job": "a", "__name__": "up"}, "values": [[1.0, "NaN"], [2.5, "+Inf"], [4, "-Inf"], [5, "1e3"]]}]
    )
    assert list(frame.columns) == ["timestamp", "__name__", "job", "value"]
    assert frame["value"].dtype == np.float64
    values = frame["value"].tolist()
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf and values[3] == 1000.0
    assert frame["timestamp"].iloc[1] == pd.Timestamp("1970-01-01T00:00:02.5Z")


def test_empty_results_have_the_tidy_columns() -> None:
    frame = matrix_frame([])
    assert list(frame.columns) == ["timestamp", "value"] and frame.empty
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_vector_and_scalar() -> None:
    vec = vector_frame(
        [{"metric": {"status": "200"}, "value": [10, "3"]}, {"metric": {"status": "500"}, "value": [10, "1"]}]
    )
    assert vec["status"].tolist() == ["200", "500"] and vec["value"].tolist() == [3.0, 1.0]
    scalar = result_frame({"resultType": "scalar", "result": [10, "0.25"]})
    assert scalar["value"].tolist() == [0.25]
    with pytest.raises(ValueError, match="resultType"):
        result_frame({"resultType": "weird", "result": []})


def test_streams_sorted_oldest_first_with_nanoseconds() -> None:
    frame = streams_frame(
        [
            {
                "stream": {"app": "checkout", "level": "error"},
                "values": [["1700000000000000002", "b"], ["1700000000000000001", "a"]],
            },
            {"stream": {"app": "checkout", "level": "info"}, "values": [["1700000000000000000", "z"]]},
        ]
    )
    assert frame["line"].tolist() == ["z", "a", "b"]
    assert frame["level"].astype(str).tolist() == ["info", "error", "error"]
    assert frame["timestamp"].iloc[2].value == 1_700_000_000_000_000_002
