"""research.backbones: configuration strings, the views each one averages, their combination."""

from __future__ import annotations

import numpy as np
import pytest

from research.backbones import combine, parse_config, view_names


def test_parse_config_and_its_embedding_key() -> None:
    c = parse_config("lite2@224+msflip+dbal+qe")
    assert (c.backbone, c.size, c.view, c.retrieval) == ("lite2", 224, "msflip", ("dbal", "qe"))
    assert c.embedding == "lite2@224+msflip"
    assert parse_config("lite0@128").embedding == "lite0@128"
    for bad in ("lite3@128", "lite0", "lite0@128+flip+ms", "lite0@128+dba+dbal", "lite0@128+zoom"):
        with pytest.raises(ValueError, match="config"):
            parse_config(bad)


def test_view_names() -> None:
    scales = (1.0, 0.707, 1.414)
    assert view_names("", scales) == ["s1"]
    assert view_names("flip", scales) == ["s1", "s1f"]
    assert view_names("ms", scales) == ["s1", "s0.707", "s1.414"]
    assert view_names("msflip", scales) == ["s1", "s0.707", "s1.414", "s1f", "s0.707f", "s1.414f"]


def test_combine_is_the_normalised_mean_of_views() -> None:
    views = {"a": np.array([[1.0, 0.0]], np.float32), "b": np.array([[0.0, 1.0]], np.float32)}
    np.testing.assert_allclose(combine(views, ["a", "b"]), [[2**-0.5, 2**-0.5]], atol=1e-6)
    np.testing.assert_allclose(combine(views, ["a"]), [[1.0, 0.0]])
