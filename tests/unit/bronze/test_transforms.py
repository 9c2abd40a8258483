"""The pure bronze transforms on three-row frames."""

from __future__ import annotations

from lakehouse.bronze import transforms as T


def test_safe_names():
    assert T.safe_name("chu_the.ho_ten") == "chu_the__ho_ten"
    assert T.safe_name("Họ Tên Đầy đủ") == "ho_ten_day_du"
    assert T.safe_name("\ufeffSO_GPLX") == "so_gplx"
    assert T.safe_name("1st col") == "c_1st_col" and T.safe_name("_x") == "x"
    assert T.safe_names(["a b", "a-b"]) == {"a b": "a_b", "a-b": "a_b_2"}


