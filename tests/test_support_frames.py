"""The one frame-equality helper: order-insensitive, ignores the named columns, sees a change."""

from __future__ import annotations

import pytest
from pyspark.sql import Row

from tests.support.frames import assert_frames_equal


def test_equal_in_any_order_and_ignoring_wall_clock_columns(spark):
    a = spark.createDataFrame([("x", 1.0, "t1"), ("y", 2.0, "t2")], "k string, v double, at string")
    b = spark.createDataFrame([("y", 2.0, "t9"), ("x", 1.0, "t8")], "k string, v double, at string")
    assert_frames_equal(a, b, ignore=["at"])
    assert_frames_equal(a.drop("at"), [Row(k="y", v=2.0), Row(k="x", v=1.0)])
    # Negative controls: the ignored column does matter without `ignore`, and a changed value.
    with pytest.raises(AssertionError):
        assert_frames_equal(a, b)
    with pytest.raises(AssertionError):
        assert_frames_equal(a.drop("at"), [Row(k="y", v=2.5), Row(k="x", v=1.0)])
