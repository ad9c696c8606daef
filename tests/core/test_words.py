"""Question words: plural and verb endings fold to a stem, identifiers split into words."""

from __future__ import annotations

from headroom.core.words import split_identifier, stem


def test_stem_folds_plural_and_verb_endings() -> None:
    assert stem("errors") == stem("error") == stem("Errored") == stem("erroring")
    assert stem("failed") == stem("failing") == stem("fails") == "fail"
    assert stem("queries") == stem("query")
    assert stem("created") == stem("creating") == stem("create")
    assert stem("status") == "status" and stem("class") == "class"


def test_identifiers_split_into_words() -> None:
    assert split_identifier("maxRetries") == ["max", "retries"]
    assert split_identifier("max_retries") == ["max", "retries"]
    assert split_identifier("HTTPServer.handle_request") == ["http", "server", "handle", "request"]
