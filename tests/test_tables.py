"""ddlib.tables: the three renderings agree cell by cell, numbers are formatted and aligned, bad input is refused."""
import html.parser
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from ddlib.tables import MISSING, Table, table


class _Cells(html.parser.HTMLParser):
    """Collects the text of every th/td and the caption of an HTML table."""

    def __init__(self):
        super().__init__()
        self.rows, self.caption, self._in = [], None, None
        self.align = []

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "caption"):
            self._in = tag
            if tag != "caption":
                self.rows[-1].append("")
                self.align.append(re.search(r"text-align:(\w+)", dict(attrs)["style"]).group(1))

    def handle_endtag(self, tag):
        if tag in ("td", "th", "caption"):
            self._in = None

    def handle_data(self, data):
        if self._in == "caption":
            self.caption = data
        elif self._in:
            self.rows[-1][-1] += data


def _html_cells(t: Table):
    p = _Cells()
    p.feed(t._repr_html_())
    return p


def _markdown_cells(t: Table):
    """The cells of the Markdown rendering, as markdown-it (the parser MyST builds on) reads them."""
    md = MarkdownIt("commonmark").enable("table")
    text = t._repr_markdown_()
    body = re.sub(r"^````.*$|^:class:.*$", "", text, flags=re.M)
    tokens = md.parse(body)
    rows, current = [], None
    for tok in tokens:
        if tok.type == "tr_open":
            current = []
            rows.append(current)
        elif tok.type == "inline" and current is not None:
            current.append(tok.content and "".join(c.content for c in tok.children))
        elif tok.type == "tr_close":
            current = None
    return rows


def test_columns_rows_and_formats():
    t = table({"n": np.array([15, 31, 63]), "err": np.array([1.234e-3, 3.1e-4, np.nan]), "method": ["a", "b", None]},
              columns={"n": "n", "err": "error", "method": "how"}, formats={"err": ".2e"}, caption="Study")
    assert t.header == ["n", "error", "how"]
    assert t.rows == [["15", "1.23e-03", "a"], ["31", "3.10e-04", "b"], ["63", MISSING, MISSING]]
    assert t.numeric == [True, True, False]
    assert t.caption == "Study"


def test_rows_as_dicts_and_as_sequences_give_the_same_table():
    rows = [{"a": 1, "b": 2.5}, {"a": 2, "b": 0.125}]
    by_dicts = table(rows, formats={"b": ".3f"})
    by_seqs = table([(1, 2.5), (2, 0.125)], columns=["a", "b"], formats={"b": ".3f"})
    by_cols = table({"a": [1, 2], "b": [2.5, 0.125]}, formats={"b": ".3f"})
    assert by_dicts.rows == by_seqs.rows == by_cols.rows == [["1", "2.500"], ["2", "0.125"]]


def test_column_selection_and_order():
    t = table([{"a": 1, "b": 2, "c": 3}], columns=["c", "a"])
    assert t.header == ["c", "a"] and t.rows == [["3", "1"]]


def test_default_formats():
    """Integers in full with thousands grouped, reals to three significant digits, text and flags as they are."""
    t = table({"i": [np.int64(12345678)], "x": [np.float32(0.1)], "s": ["text"], "flag": [True]})
    assert t.rows == [["12,345,678", "0.100", "text", "True"]]
    assert t.numeric == [True, True, False, False]


@pytest.mark.parametrize("value, text", [
    (65535, "65,535"), (-1200, "-1,200"), (0.5, "0.500"), (2 / 3, "0.667"), (12.26, "12.3"), (999.96, "1,000"),
    (1234.5, "1,230"), (999_999.0, "1.00 × 10⁶"), (0.001, "0.00100"), (0.00099951, "0.00100"),
    (0.0009994, "9.99 × 10⁻⁴"), (-4.2e-7, "-4.20 × 10⁻⁷"), (6.02e23, "6.02 × 10²³"), (0.0, "0"),
    (float("-inf"), "-∞"),
])
def test_format_number_golden(value, text):
    """Rounding happens before the choice of notation: 999.96 rounds to 1000 (four digits, fixed point) and
    999,999 to 1.00 × 10⁶ (past the fixed-point range); 0.00099951 rounds up into it."""
    from ddlib.tables import format_number

    assert format_number(value) == text


def _parse(text: str) -> float:
    if "×" in text:
        mant, power = text.split(" × 10")
        return float(mant) * 10.0 ** int(power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    return float(text.replace(",", ""))


@given(st.floats(min_value=1e-300, max_value=1e300), st.integers(1, 6), st.booleans())
def test_format_number_keeps_the_digits_it_promises(x, digits, negative):
    """Read back, the text is the number to ``digits`` significant digits: relative error at most 5 × 10^-digits."""
    from ddlib.tables import format_number

    value = -x if negative else x
    back = _parse(format_number(value, digits))
    assert abs(back - value) <= 5 * 10.0 ** -digits * abs(value) * (1 + 1e-9)


def test_significant_digits_as_a_format_and_units_in_the_heading():
    t = table({"k": [3.14159], "t": [0.25]}, formats={"k": 5}, units={"t": "ms"})
    assert t.header == ["k", "t (ms)"] and t.rows == [["3.1416", "0.250"]]
    with pytest.raises(ValueError, match=r"units: unknown column\(s\) \['x'\]"):
        table({"k": [1]}, units={"x": "s"})
    with pytest.raises(ValueError, match="digits must be an integer >= 1"):
        table({"k": [1.0]}, formats={"k": 0})


def test_write_csv_writes_the_whole_table_atomically_and_links_it(tmp_path, monkeypatch):
    import csv

    from ddlib.tables import write_csv

    rows = [{"n": 15, "kappa": 2.0000000000000004, "method": "dense"}, {"n": 31, "kappa": float("nan"),
                                                                        "method": "Lanczos"}]
    link = write_csv(rows, "study", columns={"n": "grid nodes", "kappa": "κ"}, units={"n": "count"},
                     directory=tmp_path)
    assert link.path == tmp_path / "study.csv" and link.rows == 2
    with open(link.path, newline="") as fh:
        assert list(csv.reader(fh)) == [["grid nodes (count)", "κ"], ["15", "2.0000000000000004"], ["31", ""]]
    assert [p.name for p in tmp_path.iterdir()] == ["study.csv"]  # no temporary file left behind
    assert link._repr_markdown_() == "[study.csv](../figures/tables/study.csv)" and str(link) == link.href
    monkeypatch.setenv("DDLIB_FIGURES", str(tmp_path / "fig"))
    assert write_csv({"a": [1]}, "x", text="the data").path == tmp_path / "fig" / "tables" / "x.csv"
    for bad in ("../x", "a b", "", "x.csv"):
        with pytest.raises(ValueError, match="name must be letters"):
            write_csv({"a": [1]}, bad, directory=tmp_path)


def test_infinity_is_shown_and_nan_is_missing():
    t = table({"x": [float("inf"), float("nan"), None]}, formats={"x": ".2f"})
    assert t.rows == [["inf"], [MISSING], [MISSING]] and t.numeric == [True]


def test_callable_format():
    t = table({"p": [0.25]}, formats={"p": lambda v: f"{100 * v:.0f}%"})
    assert t.rows == [["25%"]]


def test_html_has_every_cell_right_aligned_numbers_and_scrolls():
    t = table({"n": [1, 22], "name": ["x<y", "a&b"]}, caption="C & D")
    p = _html_cells(t)
    assert p.rows == [["n", "name"], ["1", "x<y"], ["22", "a&b"]]  # escaped in HTML, read back intact
    assert p.caption == "C & D"
    assert p.align == ["right", "left"] * 3
    assert "overflow-x:auto" in t._repr_html_()


def test_markdown_reads_back_as_the_same_cells_even_with_special_characters():
    t = table({"k|ey": ["a|b", "$x$", "*y*", "1e-05"], "v": [1, 2, 3, 4]}, caption="A caption: with | bar")
    md = t._repr_markdown_()
    assert md.startswith("````{table} A caption") and md.rstrip().endswith("````")
    assert _markdown_cells(t) == [t.header] + t.rows
    assert "---:" in md and ":---" in md  # numbers right, text left


def test_markdown_without_caption_is_a_plain_pipe_table():
    t = table({"a": [1]})
    assert t._repr_markdown_().splitlines() == ["| a |", "|---:|", "| 1 |"]


def test_plain_text_aligns_columns():
    t = table({"n": [1, 100], "name": ["long name", "x"]})
    lines = str(t).splitlines()
    assert lines == ["  n  name", "  1  long name", "100  x"]
    assert repr(t) == str(t)


@pytest.mark.parametrize("data, kwargs, match", [
    ({"a": [1, 2], "b": [1]}, {}, "equal lengths"),
    ({"a": [1]}, {"columns": ["b"]}, r"columns: unknown column\(s\) \['b'\]"),
    ({"a": [1]}, {"formats": {"b": ".2f"}}, r"formats: unknown column\(s\) \['b'\]"),
    ({"a": ["text"]}, {"formats": {"a": ".2f"}}, r"formats\['a'\] = '.2f' does not apply"),
    ([(1, 2)], {}, "columns: rows given as sequences"),
    ([(1, 2)], {"columns": ["a"]}, "data: row 0 has 2 values"),
    ("abc", {}, "data must be a dict of columns"),
    ({"a": np.zeros((2, 2))}, {}, "one-dimensional"),
    ({"a": 3}, {}, r"data\['a'\] must be a sequence"),
])
def test_bad_input_is_refused_naming_the_parameter(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        table(data, **kwargs)
