"""What the concurrency audit of 2026-12-08 found in the zoo: `zoo import` of a model named as one being trained
into the zoo took its place (the training, at its end, was lost); a model deleted or replaced while a denoise
loaded it ended in an internal error."""

import pytest

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.pid_lock import take, training_lock_path
from emdenoise_gui.zoo import registry
from emdenoise_gui.zoo.package import load_weights, open_package
from tests.conftest import random_package
from tests.zoo.test_package import user_zoo  # noqa: F401  (autouse: an empty zoo of its own per test)


def test_a_model_is_not_imported_under_the_name_of_one_being_trained(tmp_path):
    source = random_package(tmp_path / "X", "nrrn").path
    name = open_package(source).card.name  # nrrn-lite-random
    lock = training_lock_path(registry.user_dir() / name)
    lock.parent.mkdir(parents=True, exist_ok=True)
    assert take(lock)  # this process trains a model of that name into the zoo
    with pytest.raises(InputError, match=f"a training is writing a model named '{name}' into the zoo now"):
        registry.import_package(source)
    assert not (registry.user_dir() / name).exists()
    lock.unlink()
    assert registry.import_package(source).card.name == name  # once it has ended


def test_weights_gone_while_loading_are_said_in_one_line(tmp_path):
    package = open_package(random_package(tmp_path / "gone", "nrrn").path)
    package.weights.unlink()  # `zoo delete` (or an import replacing it) in another terminal
    with pytest.raises(InputError, match="deleted or replaced while it was being loaded; run it again"):
        load_weights(package)
