"""The package surface: a pinned `__all__` and a clear error when agno is missing."""

from __future__ import annotations

import importlib
import sys

import pytest

import headroom.integrations.agno as agno_integration


def test_public_surface() -> None:
    assert sorted(agno_integration.__all__) == [
        "HeadroomAgnoModel",
        "HeadroomCompressionManager",
        "from_core",
        "headroom_input_hook",
        "headroom_output_hook",
        "retrieve_function",
        "to_core",
    ]
    for name in agno_integration.__all__:
        assert getattr(agno_integration, name) is not None


def test_every_module_declares_all_and_exports_what_it_names() -> None:
    import pkgutil

    for info in pkgutil.iter_modules(agno_integration.__path__):
        module = importlib.import_module(f"{agno_integration.__name__}.{info.name}")
        assert isinstance(module.__all__, list), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_missing_agno_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if (
            name == "agno"
            or name.startswith("agno.")
            or name.startswith("headroom.integrations.agno")
        ):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "agno", None)
    monkeypatch.setitem(sys.modules, "agno.models", None)
    monkeypatch.setitem(sys.modules, "agno.models.base", None)

    with pytest.raises(ImportError, match=r"pip install 'headroom\[agno\]'") as info:
        importlib.import_module("headroom.integrations.agno")
    assert isinstance(info.value.__cause__, ImportError)


def test_headroom_imports_without_agno(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "headroom" or name.startswith(("headroom.", "agno")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "agno", None)
    headroom = importlib.import_module("headroom")
    assert callable(headroom.compress)
