"""A weighted canary split as a binomial model: what share of requests a canary of weight *p* should receive.

Each request that a proxy routes by weighted random choice (Envoy, for Istio) goes to the canary with probability
*p*, independently, so the canary's count in *n* requests is binomial(n, p). This module is that model and nothing
else: the band the count should fall in, and a seeded draw of *n* such choices. The real split of the sandbox's
Traefik is measured in :mod:`course_lib.traffic`, next to this model.

Example:
    >>> [round(x, 3) for x in binomial_band(0.1, 1000)]
    [0.081, 0.119]
    >>> count_band(0.1, 1000)
    (81, 119)
    >>> int(weighted_draws(0.25, 1000, seed=4).sum()) == int(weighted_draws(0.25, 1000, seed=4).sum())
    True
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError

#: Two-sided normal quantiles: 95 % and 99 % of a binomial count fall within ``z`` standard deviations.
Z95 = 1.959964
Z99 = 2.575829


def binomial_band(p: float, n: Any, *, z: float = Z95) -> tuple[Any, Any]:
    """The share band ``p ± z·sqrt(p(1-p)/n)`` (works on a number or a numpy array of ``n``), clipped to [0, 1].

    Raises:
        ConfigError: ``p`` is not a fraction between 0 and 1.

    Example:
        >>> [round(x, 3) for x in binomial_band(0.1, 1000)]
        [0.081, 0.119]
    """
    import numpy as np

    if not 0 <= p <= 1:
        raise ConfigError(f"share {p!r} is not between 0 and 1", hint="pass a fraction, e.g. 0.1 for 10 %")
    half = z * np.sqrt(p * (1 - p) / np.asarray(n, dtype=float))
    low, high = np.clip(p - half, 0, 1), np.clip(p + half, 0, 1)
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high


def count_band(p: float, requests: int, *, z: float = Z95) -> tuple[int, int]:
    """The range of canary requests out of ``requests`` that the model expects (its share band, widened to whole
    requests and clipped to 0..requests).

    Example:
        >>> count_band(0.25, 100, z=Z99)
        (13, 37)
    """
    low, high = binomial_band(p, requests, z=z)
    return max(0, math.floor(low * requests)), min(requests, math.ceil(high * requests))


def weighted_draws(p: float, requests: int, *, seed: int) -> Any:
    """``requests`` independent weighted choices, as a boolean numpy array (``True``: the canary), drawn with
    ``numpy.random.default_rng(seed)``: the same seed gives the same run."""
    import numpy as np

    return np.random.default_rng(seed).random(requests) < p
