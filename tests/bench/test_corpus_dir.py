"""Where the benchmark finds its cases, in a full checkout and in a fresh clone."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.corpus as corpus


def test_fresh_clone_falls_back_to_the_bundled_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(corpus, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(corpus, "BUNDLED_CASES", Path(corpus.BUNDLED_CASES))
    monkeypatch.delenv(corpus.CORPUS_ENV, raising=False)
    (tmp_path / "repo").mkdir()
    chosen = corpus.default_corpus_dir()
    assert chosen == corpus.BUNDLED_CASES
    assert corpus.load_cases(chosen), "the bundled cases must load"
    assert "--corpus DIR" in capsys.readouterr().err


def test_a_named_directory_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="does not exist"):
        corpus.default_corpus_dir(tmp_path / "nowhere")
