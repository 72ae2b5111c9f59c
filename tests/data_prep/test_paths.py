from pathlib import Path

from data_prep.paths import repo_root, shared_data_dir


def test_repo_root_holds_the_packages():
    assert (repo_root() / "data_prep" / "paths.py").is_file() and (repo_root() / "setup.cfg").is_file()


def test_shared_data_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RECOGNIZER_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path
    monkeypatch.delenv("RECOGNIZER_SHARED_DATA")
    assert shared_data_dir() == repo_root().parent / "shared" / "data"
    assert isinstance(shared_data_dir(), Path)
