"""Turn Prometheus and Loki JSON results into tidy pandas DataFrames, fast.

The range-query conversion builds every column with numpy in one pass over the samples instead of one Python
dict per sample: timestamps and values become float arrays via ``np.fromiter``, and each label becomes a
categorical column built from one code per series repeated by that series' sample count. On a million samples
this is several times faster than ``prometheus_api_client.MetricRangeDataFrame`` (see
``benchmarks/range_to_dataframe.py``).

Every frame has a UTC ``timestamp`` column, one column per label (``__name__`` first, then sorted) and a float
``value`` column (``"NaN"``, ``"+Inf"`` and ``"-Inf"`` become ``nan``/``inf``).

Used in: notebook 03.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_TS = itemgetter(0)
_VAL = itemgetter(1)


def _label_names(label_sets: Sequence[Mapping[str, str]]) -> list[str]:
    names: set[str] = set()
    for labels in label_sets:
        names.update(labels)
    ordered = sorted(names - {"__name__"})
    return (["__name__"] if "__name__" in names else []) + ordered


def _label_columns(label_sets: Sequence[Mapping[str, str]], counts: Any) -> dict[str, Any]:
    """One categorical column per label: a code per series, repeated by the series' sample count."""
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {}
    for name in _label_names(label_sets):
        per_series = [labels.get(name) for labels in label_sets]
        categories = sorted({v for v in per_series if v is not None})
        index = {v: i for i, v in enumerate(categories)}
        codes = np.fromiter((index.get(v, -1) if v is not None else -1 for v in per_series), np.int32, len(per_series))
        columns[name] = pd.Categorical.from_codes(
            np.repeat(codes, counts), categories=pd.Index(categories, dtype=object)
        )
    return columns


def _utc_from_seconds(seconds: Any) -> Any:
    import numpy as np
    import pandas as pd

    # Prometheus timestamps have millisecond precision: round there to avoid float noise in nanoseconds.
    ns = np.rint(seconds * 1000.0).astype(np.int64) * 1_000_000
    return pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC")


def matrix_frame(result: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """DataFrame from a ``matrix`` result (``[{"metric": {...}, "values": [[ts, "v"], ...]}, ...]``).

    Rows come series by series, in the server's order, time ascending within a series.

    >>> matrix_frame([{"metric": {"job": "a"}, "values": [[1.5, "2"], [3, "NaN"]]}]).shape
    (2, 3)
    """
    import numpy as np
    import pandas as pd

    label_sets = [r.get("metric", {}) for r in result]
    value_lists = [r.get("values") or [] for r in result]
    counts = np.fromiter((len(v) for v in value_lists), np.int64, len(value_lists))
    total = int(counts.sum())
    ts = np.fromiter(map(_TS, chain.from_iterable(value_lists)), np.float64, total)
    values = np.fromiter(map(float, map(_VAL, chain.from_iterable(value_lists))), np.float64, total)
    data: dict[str, Any] = {"timestamp": _utc_from_seconds(ts)}
    data.update(_label_columns(label_sets, counts))
    data["value"] = values
    return pd.DataFrame(data)


def vector_frame(result: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """DataFrame from a ``vector`` result (``[{"metric": {...}, "value": [ts, "v"]}, ...]``), one row per series."""
    return matrix_frame([{"metric": r.get("metric", {}), "values": [r["value"]]} for r in result])


def scalar_frame(result: Sequence[Any]) -> pd.DataFrame:
    """DataFrame with one row from a ``scalar`` or ``string`` result (``[ts, "v"]``)."""
    import pandas as pd

    frame = matrix_frame([{"metric": {}, "values": [result]}])
    if not isinstance(result[1], str) or _is_number(result[1]):
        return frame
    return pd.DataFrame({"timestamp": frame["timestamp"], "value": [result[1]]})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def result_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """DataFrame from the ``data`` object of any query response, dispatching on ``resultType``."""
    kind = data.get("resultType")
    result = data.get("result", [])
    if kind == "matrix":
        return matrix_frame(result)
    if kind == "vector":
        return vector_frame(result)
    if kind in ("scalar", "string"):
        return scalar_frame(result)
    if kind == "streams":
        return streams_frame(result)
    raise ValueError(f"unknown resultType {kind!r}")


def streams_frame(result: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """DataFrame from a Loki ``streams`` result: ``timestamp`` (UTC, ns precision), one column per label, ``line``.

    Rows are sorted by time, oldest first.
    """
    import numpy as np
    import pandas as pd

    label_sets = [r.get("stream", {}) for r in result]
    value_lists = [r.get("values") or [] for r in result]
    counts = np.fromiter((len(v) for v in value_lists), np.int64, len(value_lists))
    total = int(counts.sum())
    ns = np.fromiter(map(int, map(_TS, chain.from_iterable(value_lists))), np.int64, total)
    lines = np.empty(total, dtype=object)
    lines[:] = list(map(_VAL, chain.from_iterable(value_lists)))
    data: dict[str, Any] = {"timestamp": pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC")}
    data.update(_label_columns(label_sets, counts))
    data["line"] = lines
    frame = pd.DataFrame(data)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def labels_frame(label_sets: Iterable[Mapping[str, str]]) -> pd.DataFrame:
    """DataFrame with one row per label set (series listings), one column per label."""
    import pandas as pd

    sets = list(label_sets)
    names = _label_names(sets)
    return pd.DataFrame([{n: s.get(n) for n in names} for s in sets], columns=names)
