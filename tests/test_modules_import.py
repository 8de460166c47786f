"""Every module of the project imports on a clean checkout: a benchmark or training module that names a module
which never landed fails here, not only when someone runs it."""

import importlib
import pkgutil

import pytest

import bench
import bot
import classifier
import training

MODULES = sorted(
    info.name
    for package in (bench, bot, classifier, training)
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}.")
    if not info.name.endswith("__main__")
)


def test_modules_found() -> None:
    assert {"bench.bench_photo", "classifier.photo", "training.train", "bot.app"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name: str) -> None:
    importlib.import_module(name)
