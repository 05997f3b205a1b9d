"""Cursors and page sizes of the Relay-style connections (mybroker.pagination)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mybroker.errors import DomainError, ErrorCode
from mybroker.pagination import decode_cursor, encode_cursor, page_of, page_size


@given(st.integers(min_value=0, max_value=2**63))
def test_a_cursor_reads_back_as_its_sequence_number(seq):
    assert decode_cursor(encode_cursor(seq)) == seq


@pytest.mark.parametrize("cursor", ["", "bm90LWEtY3Vyc29y", "c2VxOi0x", "c2VxOmFiYw", "!!!", "seq:12"])
def test_a_cursor_this_list_did_not_give_out_is_refused(cursor):
    with pytest.raises(DomainError) as refused:
        decode_cursor(cursor)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_page_sizes_past_the_limit_are_refused_naming_it_never_capped():
    assert page_size(None, 50, 500) == 50
    assert page_size(0, 50, 500) == 0 and page_size(500, 50, 500) == 500
    for wrong in (-1, 501, 100_000):
        with pytest.raises(DomainError, match="between 0 and 500"):
            page_size(wrong, 50, 500)


def test_a_page_keeps_first_rows_and_says_whether_more_follow():
    rows = [(9, "i"), (7, "g"), (4, "d")]
    page = page_of(rows, 2)
    assert [item for _seq, item in page.items] == ["i", "g"] and page.has_next_page
    assert decode_cursor(page.end_cursor) == 7
    last = page_of(rows[2:], 2)
    assert not last.has_next_page and decode_cursor(last.end_cursor) == 4
    assert page_of([], 2).end_cursor is None
