"""Tests for lcwbench.data against the offline copies in ../shared/data (skipped where that is absent)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from lcwbench.data import DATASETS, Dataset, load_dataset, resolve_data_root
from lcwbench.data import mnist as mnist_mod
from lcwbench.data.root import resolve_cache_dir
from lcwbench.errors import LcwbenchError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (SHARED / "MNIST" / "raw").is_dir(), reason="no offline data copy")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Caches go to a per-test folder; the data root comes from arguments, not the environment."""
    monkeypatch.setenv("LCWBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LCWBENCH_DATA", raising=False)


def _copy_mnist(dest_root: Path, names=("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")) -> Path:
    raw = dest_root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(SHARED / "MNIST" / "raw" / n, raw / n)
    return raw


# ------------------------------------------------------------------------------------------ root / API


def test_datasets_tuple():
    assert DATASETS == ("mnist", "fmnist", "cifar10", "celeba", "lsun_bedroom", "synthetic", "swissroll")


def test_resolve_data_root_order(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    # nothing configured and no ../shared/data: ./data
    assert resolve_data_root() == project / "data"
    # ../shared/data exists: it wins over ./data
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    assert resolve_data_root() == shared
    # the environment wins over ../shared/data
    monkeypatch.setenv("LCWBENCH_DATA", "envroot")
    assert resolve_data_root() == project / "envroot"
    # the explicit argument wins over everything
    assert resolve_data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_root("rel") == project / "rel"
    assert resolve_data_root("rel").is_absolute()


def test_resolve_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LCWBENCH_CACHE", str(tmp_path / "c"))
    assert resolve_cache_dir() == tmp_path / "c"
    assert resolve_cache_dir(tmp_path / "d") == tmp_path / "d"
    monkeypatch.delenv("LCWBENCH_CACHE")
    assert resolve_cache_dir() == Path.home() / ".cache" / "lcwbench"


def test_unknown_name_split_param(tmp_path):
    with pytest.raises(LcwbenchError, match="valid data sets: mnist, fmnist, cifar10") as e:
        load_dataset("imagenet")
    assert "\n" not in str(e.value)
    with pytest.raises(LcwbenchError, match="valid splits: train, test"):
        load_dataset("mnist", "valid", data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="valid splits: train, valid, test"):
        load_dataset("celeba", "val", data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="valid splits: train, test$"):
        load_dataset("lsun_bedroom", "val", data_root=tmp_path)
    with pytest.raises(LcwbenchError, match=r"test split is the last `holdout` records.*set holdout"):
        load_dataset("lsun_bedroom", "test", data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="lsun_bedroom: parameter holdout must be >= 0, got -1"):
        load_dataset("lsun_bedroom", holdout=-1, data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="unknown parameter.*bogus.*valid parameters: crop, cache_dir"):
        load_dataset("celeba", bogus=1, data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="valid parameters: true_dim"):
        load_dataset("synthetic", n=3)
    with pytest.raises(LcwbenchError, match="image_size does not apply"):
        load_dataset("swissroll", image_size=32)
    with pytest.raises(LcwbenchError, match="true_dim must be >= 1"):
        load_dataset("synthetic", true_dim=0)


# ---------------------------------------------------------------------------------------- MNIST family


@needs_data
def test_mnist_splits_and_labels():
    train = load_dataset("mnist", "train", data_root=SHARED)
    test = load_dataset("mnist", "test", data_root=SHARED)
    assert isinstance(train, Dataset)
    assert len(train) == 60000 and len(test) == 10000
    assert train.x.shape == (60000, 1, 28, 28) and train.x.dtype == torch.uint8
    assert train.y.dtype == torch.int64 and train.y.shape == (60000,)
    assert train.y[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert test.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert torch.bincount(test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert int(train.x.max()) == 255 and int(train.x.min()) == 0
    assert train.is_image and train.sample_shape == (1, 28, 28)
    # the re-compressed training images pass by their content checksum
    assert train.meta["checksum"]["train-images-idx3-ubyte.gz"] == "md5 of content ok"
    assert train.meta["n"] == 60000 and train.meta["split"] == "train"


@needs_data
def test_fmnist_and_max_items_and_resize():
    full = load_dataset("fmnist", "test", data_root=SHARED)
    assert full.x.shape == (10000, 1, 28, 28) and set(full.y.unique().tolist()) == set(range(10))
    part = load_dataset("fmnist", "test", data_root=SHARED, max_items=100)
    assert torch.equal(part.x, full.x[:100]) and torch.equal(part.y, full.y[:100])
    small = load_dataset("mnist", "test", data_root=SHARED, max_items=64, image_size=32)
    assert small.x.shape == (64, 1, 32, 32) and small.x.dtype == torch.uint8
    assert small.meta["params"]["image_size"] == 32
    ref = load_dataset("mnist", "test", data_root=SHARED, max_items=64)
    assert abs(float(small.x.float().mean()) - float(ref.x.float().mean())) < 3  # resizing keeps brightness


@needs_data
def test_to_float():
    d = load_dataset("mnist", "test", data_root=SHARED, max_items=10)
    f = d.to_float(d.x)
    assert f.dtype == torch.float32 and float(f.min()) >= 0.0 and float(f.max()) == 1.0
    assert torch.allclose(f * 255, d.x.float())
    v = load_dataset("swissroll", n=10)
    assert torch.equal(v.to_float(v.x), v.x) and v.to_float(v.x).dtype == torch.float32


def test_missing_file_message(tmp_path):
    with pytest.raises(LcwbenchError) as e:
        load_dataset("mnist", "test", data_root=tmp_path)
    msg = str(e.value)
    assert "\n" not in msg
    assert "t10k-images-idx3-ubyte.gz" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg
    assert "LCWBENCH_DATA" in msg and "download: true" in msg
    with pytest.raises(LcwbenchError, match="test_batch not found in .*cifar-10-batches-py"):
        load_dataset("cifar10", "test", data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="list_eval_partition.txt not found"):
        load_dataset("celeba", data_root=tmp_path)
    with pytest.raises(LcwbenchError, match="data.mdb not found"):
        load_dataset("lsun_bedroom", data_root=tmp_path)


@needs_data
def test_checksum_failure_names_file(tmp_path):
    raw = _copy_mnist(tmp_path)
    assert len(load_dataset("mnist", "test", data_root=tmp_path)) == 10000
    # valid gzip, altered content: the checksum catches it
    path = raw / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] = (content[-1] + 1) % 10
    path.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(LcwbenchError, match="checksum") as e:
        load_dataset("mnist", "test", data_root=tmp_path)
    assert "t10k-labels-idx1-ubyte.gz" in str(e.value) and str(raw) in str(e.value)
    # a truncated file is not even gzip
    img = raw / "t10k-images-idx3-ubyte.gz"
    img.write_bytes(img.read_bytes()[:1000])
    with pytest.raises(LcwbenchError, match="t10k-images-idx3-ubyte.gz.*not a readable gzip"):
        load_dataset("mnist", "test", data_root=tmp_path)
    # verification can be switched off, but parsing still checks the structure
    path.write_bytes(gzip.compress(bytes(content)))
    shutil.copyfile(SHARED / "MNIST" / "raw" / img.name, img)
    d = load_dataset("mnist", "test", data_root=tmp_path, verify=False)
    assert d.meta["checksum"][path.name].startswith("not verified")


@needs_data
def test_download_moves_files_only_when_verified(tmp_path, monkeypatch):
    def fake_download(name, target):  # stands in for torchvision: writes the four files
        _copy_mnist(target, tuple(mnist_mod.CHECKSUMS["mnist"]))

    monkeypatch.setattr(mnist_mod, "_torchvision_download", fake_download)
    root = tmp_path / "root"
    d = load_dataset("mnist", "test", data_root=root, download=True, max_items=5)
    assert len(d) == 5
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(mnist_mod.CHECKSUMS["mnist"])
    assert [p.name for p in root.iterdir()] == ["MNIST"]  # no temporary folder left
    # a corrupt file is replaced by a verified download
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"junk"))
    with pytest.raises(LcwbenchError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset("mnist", "test", data_root=root)
    assert len(load_dataset("mnist", "test", data_root=root, download=True)) == 10000
    assert [p.name for p in root.iterdir()] == ["MNIST"]

    other = tmp_path / "other"

    def bad_download(name, target):
        raw = _copy_mnist(target, tuple(mnist_mod.CHECKSUMS["mnist"]))
        (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")

    monkeypatch.setattr(mnist_mod, "_torchvision_download", bad_download)
    with pytest.raises(LcwbenchError, match="downloaded t10k-images-idx3-ubyte.gz .*fails its checksum"):
        load_dataset("mnist", "test", data_root=other, download=True)
    assert list(other.iterdir()) == []  # nothing partial left behind


# -------------------------------------------------------------------------------------------- CIFAR-10


@needs_data
def test_cifar10():
    train = load_dataset("cifar10", "train", data_root=SHARED)
    test = load_dataset("cifar10", "test", data_root=SHARED)
    assert train.x.shape[1:] == (3, 32, 32) and train.x.dtype == torch.uint8
    assert train.y.shape == (len(train),) and train.y.dtype == torch.int64
    assert len(train) > len(test) > 0
    assert int(train.y.min()) == 0 and int(train.y.max()) == 9
    assert not torch.equal(train.x[0], train.x[1])
    # max_items across a batch boundary keeps the fixed order
    first_batch = len(train) // 5
    part = load_dataset("cifar10", "train", data_root=SHARED, max_items=first_batch + 3)
    assert torch.equal(part.x, train.x[: first_batch + 3])
    big = load_dataset("cifar10", "test", data_root=SHARED, max_items=4, image_size=64)
    assert big.x.shape == (4, 3, 64, 64)


# ----------------------------------------------------------------------------------------- CelebA, LSUN


@needs_data
def test_celeba_shapes_params_and_cache(tmp_path):
    cache = tmp_path / "celeba_cache"
    d = load_dataset("celeba", "train", data_root=SHARED, max_items=12, cache_dir=cache)
    assert d.x.shape == (12, 3, 64, 64) and d.x.dtype == torch.uint8 and d.y is None
    assert d.meta["params"]["crop"] == 140 and d.meta["cache_hit"] is False
    assert len(list(cache.glob("*.pt"))) == 1
    again = load_dataset("celeba", "train", data_root=SHARED, max_items=12, cache_dir=cache)
    assert again.meta["cache_hit"] is True and torch.equal(again.x, d.x)
    # a damaged cache file is rebuilt, not trusted
    cache_file = next(cache.glob("*.pt"))
    cache_file.write_bytes(b"garbage")
    rebuilt = load_dataset("celeba", "train", data_root=SHARED, max_items=12, cache_dir=cache)
    assert rebuilt.meta["cache_hit"] is False and torch.equal(rebuilt.x, d.x)
    # other crop / size: a different cache entry
    big = load_dataset(
        "celeba", "test", data_root=SHARED, max_items=3, crop=108, image_size=128, cache_dir=cache
    )
    assert big.x.shape == (3, 3, 128, 128)
    assert len(list(cache.glob("*.pt"))) == 2  # the rebuilt train entry replaced the damaged one
    # no caching at all
    nocache = load_dataset("celeba", "train", data_root=SHARED, max_items=2, cache_dir=False)
    assert nocache.meta["cache"] is None and torch.equal(nocache.x, d.x[:2])


@needs_data
def test_celeba_default_cache_location_and_unwritable(tmp_path):
    d = load_dataset("celeba", "test", data_root=SHARED, max_items=2)
    assert Path(d.meta["cache"]).parent == tmp_path / "cache"  # LCWBENCH_CACHE from the fixture
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    d2 = load_dataset("celeba", "test", data_root=SHARED, max_items=2, cache_dir=blocker / "sub")
    assert d2.meta["cache"] is None and torch.equal(d2.x, d.x)


@needs_data
def test_celeba_empty_split_and_missing_image(tmp_path):
    with pytest.raises(LcwbenchError, match="split valid has no images in this copy"):
        load_dataset("celeba", "valid", data_root=SHARED)
    # a listing that names an image the copy lacks
    base = tmp_path / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    lines = (SHARED / "celeba" / "list_eval_partition.txt").read_bytes().splitlines(keepends=True)[:3]
    (base / "list_eval_partition.txt").write_bytes(b"".join(lines))
    for line in lines[:2]:
        name = line.split()[0].decode()
        shutil.copyfile(SHARED / "celeba" / "img_align_celeba" / name, base / "img_align_celeba" / name)
    missing = lines[2].split()[0].decode()
    with pytest.raises(LcwbenchError, match=f"image {missing} is listed .* but missing"):
        load_dataset("celeba", data_root=tmp_path)
    d = load_dataset("celeba", data_root=tmp_path, max_items=2)
    assert len(d) == 2


@needs_data
def test_lsun_bedroom(tmp_path):
    d = load_dataset("lsun_bedroom", data_root=SHARED, max_items=6)
    assert d.x.shape == (6, 3, 64, 64) and d.x.dtype == torch.uint8 and d.y is None
    assert d.x.float().std() > 10
    again = load_dataset("lsun_bedroom", data_root=SHARED, max_items=6)
    assert again.meta["cache_hit"] and torch.equal(again.x, d.x)
    fresh = load_dataset("lsun_bedroom", data_root=SHARED, max_items=6, cache_dir=False)
    assert torch.equal(fresh.x, d.x)  # key order makes the selection deterministic
    small = load_dataset("lsun_bedroom", data_root=SHARED, max_items=2, image_size=32, cache_dir=False)
    assert small.x.shape == (2, 3, 32, 32)


@needs_data
def test_lsun_bedroom_holdout_splits(tmp_path):
    """``holdout`` N: test is the last N records in key order, train the records before them."""
    import lmdb

    from lcwbench.data import lsun

    env = lmdb.open(str(SHARED / lsun.REL), readonly=True, lock=False)
    with env.begin() as txn:
        values = [bytes(v) for _, v in txn.cursor()]
    env.close()
    entries = len(values)
    assert entries > 10
    # Expected pixels, decoded independently of the loader's cursor positioning.
    decode = lsun._decoder(32)

    def expect(i):
        return torch.tensor(decode((b"k", values[i])))

    kw = {"data_root": SHARED, "image_size": 32, "cache_dir": tmp_path}
    # A large hold-out: train is the first 5 records, test starts right after (reached going forward).
    train = load_dataset("lsun_bedroom", "train", holdout=entries - 5, **kw)
    assert len(train) == 5
    assert all(torch.equal(train.x[i], expect(i)) for i in range(5))
    test = load_dataset("lsun_bedroom", "test", holdout=entries - 5, max_items=3, **kw)
    assert all(torch.equal(test.x[i], expect(5 + i)) for i in range(3))
    # A small hold-out: the last 3 records (reached by stepping back from the end).
    tail = load_dataset("lsun_bedroom", "test", holdout=3, **kw)
    assert len(tail) == 3 and tail.meta["params"]["holdout"] == 3
    assert all(torch.equal(tail.x[i], expect(entries - 3 + i)) for i in range(3))
    # The train split of that setting stops before them; its first items are the LMDB's first.
    head = load_dataset("lsun_bedroom", "train", holdout=3, max_items=2, **kw)
    assert torch.equal(head.x[1], expect(1))
    with pytest.raises(LcwbenchError, match=f"holdout {entries} leaves no training records"):
        load_dataset("lsun_bedroom", "test", holdout=entries, **kw)


# ---------------------------------------------------------------------------------------------- vectors


def test_synthetic_determinism_and_meta():
    a = load_dataset("synthetic", n_train=500, n_test=200)
    b = load_dataset("synthetic", n_train=500, n_test=200)
    c = load_dataset("synthetic", n_train=500, n_test=200, gen_seed=1)
    t = load_dataset("synthetic", "test", n_train=500, n_test=200)
    assert a.x.shape == (500, 128) and a.x.dtype == torch.float32 and a.y is None
    assert t.x.shape == (200, 128)
    assert torch.equal(a.x, b.x)
    assert not torch.allclose(a.x, c.x)
    assert not torch.allclose(a.x[:200], t.x)
    assert not a.is_image and a.sample_shape == (128,)
    assert a.meta["true_dim"] == 8
    assert load_dataset("synthetic", true_dim=3, out_dim=16, n_train=10).meta["true_dim"] == 3
    assert load_dataset("synthetic", out_dim=16, n_train=10).x.shape == (10, 16)
    assert 0.3 < float(a.x.var(0).mean()) < 3.0  # O(1) variance per coordinate
    assert torch.equal(load_dataset("synthetic", n_train=500, max_items=7).x, a.x[:7])


@pytest.mark.parametrize("n", [2, 5])
def test_synthetic_lies_on_n_dim_manifold(n):
    x = load_dataset("synthetic", true_dim=n, n_train=20000).x.double()
    for i in range(3):
        centre = x[i * 101]
        nearest = ((x - centre) ** 2).sum(1).argsort()[:40]
        local = x[nearest] - x[nearest].mean(0)
        s = torch.linalg.svdvals(local)
        assert int((s / s[0] > 0.3).sum()) == n  # n large local directions, then a clear gap
    # globally the data are curved: far more than n principal directions
    s = torch.linalg.svdvals(x[:2000] - x[:2000].mean(0))
    assert int((s / s[0] > 0.05).sum()) > n


def test_swissroll():
    a = load_dataset("swissroll", n=1000)
    assert a.x.shape == (1000, 2) and a.x.dtype == torch.float32 and a.y is None
    assert float(a.x.abs().max()) <= 1.0
    assert torch.equal(a.x, load_dataset("swissroll", n=1000).x)
    assert not torch.allclose(a.x, load_dataset("swissroll", "test", n=1000).x)
    assert not torch.allclose(a.x, load_dataset("swissroll", n=1000, seed=3).x)
    r = a.x.double().norm(dim=1) * 4.5 * torch.pi
    assert float(r.min()) >= 1.5 * torch.pi - 1e-4 and float(r.max()) <= 4.5 * torch.pi + 1e-4
    noisy = load_dataset("swissroll", n=1000, noise=0.05)
    assert 0.02 < float((noisy.x - a.x).std()) < 0.08


@needs_data
def test_download_through_torchvision_offline(tmp_path, monkeypatch):
    """The real torchvision download path, with its network fetch replaced by a local copy."""
    import lcwbench._tv_compat  # noqa: F401

    # isort: split
    import torchvision.datasets.mnist as tv_mnist

    assert dict(tv_mnist.MNIST.resources) == {f: md5s[0] for f, md5s in mnist_mod.CHECKSUMS["mnist"].items()}
    fetched = []

    def fake_fetch(url, download_root, filename=None, md5=None, **kwargs):
        fetched.append(url)
        Path(download_root).mkdir(parents=True, exist_ok=True)
        data = (SHARED / "MNIST" / "raw" / filename).read_bytes()
        (Path(download_root) / filename).write_bytes(data)
        (Path(download_root) / filename[:-3]).write_bytes(gzip.decompress(data))

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", fake_fetch)
    root = tmp_path / "root"
    d = load_dataset("mnist", "test", data_root=root, download=True, max_items=3)
    assert len(d) == 3 and len(fetched) == 4
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(mnist_mod.CHECKSUMS["mnist"])
    assert [p.name for p in root.iterdir()] == ["MNIST"]

    def offline(url, download_root, filename=None, md5=None, **kwargs):
        raise RuntimeError("network unreachable")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    other = tmp_path / "other"
    with pytest.raises(LcwbenchError, match="mnist: download failed") as e:
        load_dataset("mnist", "test", data_root=other, download=True)
    assert "\n" not in str(e.value)
    assert list(other.iterdir()) == []
