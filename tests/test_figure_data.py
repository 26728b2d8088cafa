"""ddlib.figure_data: the CSV written beside a figure holds exactly the arrays that were plotted."""
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ddlib.figure_data import COLUMNS, figure_panels, write_figure_data  # noqa: E402


def _read(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _select(rows, header, series=None, kind=None):
    i_s, i_k = header.index("series"), header.index("kind")
    return [r for r in rows if (series is None or r[i_s] == series) and (kind is None or r[i_k] == kind)]


def _col(rows, header, prefix):
    j = next(i for i, h in enumerate(header) if h.split(" [")[0] == prefix)
    return np.array([float(r[j]) if r[j] else np.nan for r in rows])


@pytest.fixture
def known_figure():
    """Six panels, each with artists whose data we know."""
    rng = np.random.default_rng(3)
    data = dict(x=np.linspace(0.1, 1, 7), y=rng.standard_normal(7), sx=rng.random(5), sy=rng.random(5),
                sc=rng.random(5), lo=rng.random(4), hi=rng.random(4) + 1, bars=rng.random(3),
                img=rng.random((3, 4)), mesh=rng.random((2, 3)), ey=rng.random(7))
    fig, axs = plt.subplots(2, 3)
    a, b, c, d, e, f = axs.ravel()
    a.plot(data["x"], data["y"], label="curve")
    a.axhline(0.5)
    a.set(xlabel="$h$ (mesh width)", ylabel="error", title="(a) lines")
    b.scatter(data["sx"], data["sy"], c=data["sc"], label="points")
    c.fill_between(np.arange(4.0), data["lo"], data["hi"], label="band")
    d.bar([1, 2, 3], data["bars"], label="heights")
    im = e.imshow(data["img"], extent=(0, 4, 3, 0))
    cb = fig.colorbar(im, ax=e)
    cb.set_label("value (V)")
    f.pcolormesh(np.arange(4.0), np.arange(3.0), data["mesh"])
    yield fig, data
    plt.close(fig)


def test_lines_and_scatter_reproduce_the_arrays_exactly(known_figure, tmp_path):
    fig, data = known_figure
    names = write_figure_data(fig, tmp_path, "F0_known")
    assert names == [f"F0_known_{p}.csv" for p in "abcdef"]  # the colour bar is no panel
    header, rows = _read(tmp_path / "F0_known_a.csv")
    assert header == [*COLUMNS, "x [h (mesh width)]", "y [error]", "value"]
    curve = _select(rows, header, "curve", "line")
    assert np.array_equal(_col(curve, header, "x"), data["x"]) and np.array_equal(_col(curve, header, "y"), data["y"])
    assert {r[1] for r in rows} == {"(a) lines"}
    assert len(_select(rows, header, kind="hline")) == 2  # axhline: x in axes fraction, y = 0.5
    header, rows = _read(tmp_path / "F0_known_b.csv")
    pts = _select(rows, header, "points", "scatter")
    for key, col in (("sx", "x"), ("sy", "y"), ("sc", "value")):
        assert np.array_equal(_col(pts, header, col), data[key])


def test_fill_bar_image_and_mesh(known_figure, tmp_path):
    fig, data = known_figure
    write_figure_data(fig, tmp_path, "F0_known")
    header, rows = _read(tmp_path / "F0_known_c.csv")
    band = _select(rows, header, "band", "fill")
    xs, ys = _col(band, header, "x"), _col(band, header, "y")
    for k, (lo, hi) in enumerate(zip(data["lo"], data["hi"])):  # each x carries its lower and its upper value
        assert {lo, hi} <= set(ys[xs == k])
    header, rows = _read(tmp_path / "F0_known_d.csv")
    assert np.array_equal(_col(rows, header, "y"), data["bars"])
    assert np.array_equal(_col(rows, header, "x"), [1, 2, 3])
    header, rows = _read(tmp_path / "F0_known_e.csv")
    assert header[-1] == "value [value (V)]"
    assert np.array_equal(_col(rows, header, "value"), data["img"].ravel())
    x, y = _col(rows, header, "x"), _col(rows, header, "y")
    assert (x[0], y[0]) == (0.5, 0.5) and (x[-1], y[-1]) == (3.5, 2.5)  # pixel centres within the extent
    header, rows = _read(tmp_path / "F0_known_f.csv")
    assert np.array_equal(_col(rows, header, "value"), data["mesh"].ravel())
    assert (_col(rows, header, "x")[0], _col(rows, header, "y")[0]) == (0.5, 0.5)


def test_errorbars_and_empty_panels():
    fig, (ax, empty) = plt.subplots(1, 2)
    ax.errorbar([1.0, 2.0], [3.0, 4.0], yerr=[0.5, 0.25], label="measured")
    panels = figure_panels(fig)
    plt.close(fig)
    assert [p["panel"] for p in panels] == ["a"]  # the empty axes is no panel
    kinds = {r[1] for r in panels[0]["rows"]}
    assert {"line", "segments"} <= kinds
    segs = [r for r in panels[0]["rows"] if r[1] == "segments"]
    assert sorted({r[5] for r in segs}) == [2.5, 3.5, 3.75, 4.25]  # the bar ends


def test_nan_survives_the_round_trip(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0.0, 1.0, 2.0], [1.0, np.nan, 3.0])
    write_figure_data(fig, tmp_path, "F0_nan")
    plt.close(fig)
    header, rows = _read(tmp_path / "F0_nan_a.csv")
    y = _col(rows, header, "y")
    assert np.isnan(y[1]) and y[2] == 3.0
    assert rows[0][header.index("series")] == "line 1" and rows[0][-1] == ""
