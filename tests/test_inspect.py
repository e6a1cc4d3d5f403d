"""`glorot inspect`: dataset summaries (table and JSON), montages, run-file dispatch."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from glorotcli.data.store import dataset_info, write_dataset
from glorotcli.report.montage import pick_examples


def _grey(path, n=40, value=255):
    x = np.zeros((n, 28 * 28), np.uint8)
    x[:, 100:300] = value
    y = (np.arange(n) % 10).astype(np.uint8)
    return write_dataset(path, kind="mnist", image_shape=(28, 28, 1),
                         class_names=[str(d) for d in range(10)],
                         splits={"train": (x, y), "test": (x[:10], y[:10])},
                         params={"valid": 0}, sources={"a.gz": "ab" * 32})


def _red(path, n=12):
    img = np.zeros((n, 32, 32, 3), np.uint8)
    img[..., 0] = 255  # pure red, channels last
    y = (np.arange(n) % 10).astype(np.uint8)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"]
    return write_dataset(path, kind="cifar10", image_shape=(32, 32, 3), class_names=names,
                         splits={"test": (img.reshape(n, -1), y)})


def _png(path):
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(path)


def test_table_shows_kind_splits_counts_and_class_names(tmp_path, run_cli):
    path = _grey(tmp_path / "d.h5")
    code, out, err = run_cli("inspect", path)
    assert code == 0 and err == ""
    for text in ("kind mnist", "28x28x1", "train", "test", "40", "majority error", "pixel max",
                 "255", "examples per class", "sources", "a.gz"):
        assert text in out, text


def test_table_names_each_class(tmp_path, run_cli):
    path = _red(tmp_path / "c.h5")
    code, out, _ = run_cli("inspect", path)
    assert code == 0 and all(name in out for name in ("airplane", "automobile", "truck"))


def test_json_is_the_store_summary(tmp_path, run_cli):
    path = _grey(tmp_path / "d.h5")
    code, out, _ = run_cli("inspect", path, "--json")
    assert code == 0 and json.loads(out) == json.loads(json.dumps(dataset_info(path)))


def test_montage_of_grey_images_is_a_grey_png_with_dark_ink(tmp_path, run_cli):
    path = _grey(tmp_path / "d.h5")
    code, out, _ = run_cli("inspect", path, "--montage", tmp_path / "m.png", "--count", "20")
    assert code == 0 and out.strip().splitlines()[-1] == str(tmp_path / "m.png")
    img = _png(tmp_path / "m.png")[..., :3]
    assert np.allclose(img[..., 0], img[..., 1]) and np.allclose(img[..., 1], img[..., 2])
    assert (img.sum(-1) < 0.1).mean() > 0.05  # 255 = ink drawn black on white


def test_montage_of_colour_images_keeps_their_colour(tmp_path, run_cli):
    path = _red(tmp_path / "c.h5")
    code, out, _ = run_cli("inspect", path, "--montage", tmp_path / "c.png", "--json")
    assert code == 0 and json.loads(out)["montage"] == str(tmp_path / "c.png")
    img = _png(tmp_path / "c.png")[..., :3]
    red = (img[..., 0] > 0.9) & (img[..., 1] < 0.1) & (img[..., 2] < 0.1)
    assert red.mean() > 0.2


def test_montage_is_not_overwritten_without_force(tmp_path, run_cli):
    path = _grey(tmp_path / "d.h5")
    (tmp_path / "m.png").write_bytes(b"old")
    code, out, err = run_cli("inspect", path, "--montage", tmp_path / "m.png")
    assert code == 2 and "m.png: already exists" in err and out == ""
    assert (tmp_path / "m.png").read_bytes() == b"old"
    code, _, _ = run_cli("inspect", path, "--montage", tmp_path / "m.png", "--force")
    assert code == 0 and _png(tmp_path / "m.png").shape[0] > 100


def test_montage_split_and_count_choose_what_is_drawn(tmp_path, run_cli):
    path = _grey(tmp_path / "d.h5")
    code, _, err = run_cli("inspect", path, "--montage", tmp_path / "v.png", "--split", "valid")
    assert code == 2 and "no /valid split" in err and not (tmp_path / "v.png").exists()
    code, _, _ = run_cli("inspect", path, "--montage", tmp_path / "t.png", "--split", "test",
                         "--count", "3")
    small = _png(tmp_path / "t.png")
    code, _, _ = run_cli("inspect", path, "--montage", tmp_path / "a.png", "--count", "40")
    assert _png(tmp_path / "a.png").shape[0] > small.shape[0]  # 4 rows of tiles against 1


def test_pick_examples_is_seeded_distinct_and_sorted_by_class():
    y = np.arange(100) % 7
    a, b = pick_examples(100, 30, 5, y), pick_examples(100, 30, 5, y)
    np.testing.assert_array_equal(a, b)
    assert len(set(a.tolist())) == 30 and np.all(np.diff(y[a]) >= 0)
    assert not np.array_equal(np.sort(a), np.sort(pick_examples(100, 30, 6, y)))
    assert len(pick_examples(10, 50, 0, y[:10])) == 10


def _fake_run(path):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "glorot-run"
    return path


def test_run_files_are_summarised_by_the_run_reader(tmp_path, run_cli, monkeypatch):
    seen = []

    def fake_run_info(path):
        seen.append(path)
        return {"path": str(path), "status": "finished", "sizes": [784, 10],
                "config": {"lr": 0.1}, "quantities": ["mean", "std"]}

    monkeypatch.setattr("glorotcli.stats.runlog.run_info", fake_run_info)
    path = _fake_run(tmp_path / "r.h5")
    code, out, _ = run_cli("inspect", path)
    assert code == 0 and "finished" in out and "config.lr" in out and "784" in out
    assert "[mean, std]" in out  # printed as text, not swallowed as rich markup
    code, out, _ = run_cli("inspect", path, "--json")
    assert code == 0 and json.loads(out)["status"] == "finished" and len(seen) == 2


def test_montage_of_a_run_file_is_refused(tmp_path, run_cli):
    code, _, err = run_cli("inspect", _fake_run(tmp_path / "r.h5"), "--montage",
                           tmp_path / "m.png")
    assert code == 2 and "run file" in err and not (tmp_path / "m.png").exists()


def test_surface_values_file_is_summarised_not_called_foreign(tmp_path, run_cli):
    values = tmp_path / "grid.h5"
    code, _, err = run_cli("surface", "-o", tmp_path / "f.png", "--values", values,
                           "--grid", "5")
    assert code == 0, err
    code, out, err = run_cli("inspect", values, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["format"] == "glorot-surface" and d["arrays"]["cross_entropy"] == [5, 5]
    code, out, err = run_cli("inspect", values)
    assert code == 0 and "glorot-surface" in out and "arrays.cross_entropy" in out
    code, _, err = run_cli("inspect", values, "--montage", tmp_path / "m.png")
    assert code == 2 and "dataset files only" in err


@pytest.mark.parametrize("count", [1, 50, 300])
def test_montage_title_stays_clear_of_the_first_row_labels(tmp_path, monkeypatch, count):
    from matplotlib.figure import Figure

    from glorotcli.report.montage import draw_montage

    drawn = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig",
                        lambda self, *a, **k: (drawn.append(self), save(self, *a, **k))[1])
    images = np.zeros((count, 8, 8, 1), np.uint8)
    draw_montage(images, ["0"] * count, "a title", tmp_path / "m.png")
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    first = fig.axes[0].title.get_window_extent(renderer)
    assert title.y0 > first.y1  # pixels from the bottom: the figure title sits above
    assert title.y1 <= fig.bbox.y1  # and inside the figure


def test_split_without_montage_is_refused_rather_than_ignored(tmp_path, run_cli):
    path = _grey(tmp_path / "d.h5")
    code, out, err = run_cli("inspect", path, "--split", "test")
    assert code == 2 and "--montage" in err and out == ""


def test_montage_title_names_the_datas_seed_and_the_choosing_seed(tmp_path, monkeypatch):
    from glorotcli.data import shapeset
    from glorotcli.data.store import write_dataset
    from glorotcli.report import montage as m

    x, y = shapeset.generate(40, 1)
    data = write_dataset(tmp_path / "d.h5", kind="shapeset", image_shape=(32, 32, 1),
                         class_names=list(shapeset.CLASS_NAMES), splits={"train": (x, y)},
                         params={"seed": 1})
    titles = []
    monkeypatch.setattr(m, "draw_montage", lambda images, labels, title, out: titles.append(
        title) or out.write_bytes(b"png"))
    m.montage(data, tmp_path / "m.png", count=10, seed=0)
    assert "made with seed 1" in titles[0] and "chosen with --seed 0" in titles[0]
