"""The one place paths are computed: user folders from EMDENOISE_HOME or the platform, shipped files."""

from pathlib import Path

from emdenoise_gui import paths


def test_emdenoise_home_holds_every_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path))
    assert paths.user_config_dir() == tmp_path and paths.user_data_dir() == tmp_path
    assert paths.user_models_dir() == tmp_path / "models"
    from emdenoise_gui.project.recent import recent_file
    from emdenoise_gui.zoo.registry import user_dir

    assert recent_file().parent == tmp_path and user_dir() == tmp_path / "models"


def test_platform_folders_without_emdenoise_home(monkeypatch):
    monkeypatch.delenv("EMDENOISE_HOME", raising=False)
    assert paths.user_config_dir().name == "EMDenoise" and paths.user_data_dir().name == "EMDenoise"


def test_shipped_files_in_the_checkout_and_in_a_frozen_bundle(tmp_path, monkeypatch):
    # package data beside paths.py (a checkout, an editable or a wheel install; tests/test_install.py checks a wheel)
    package = Path(paths.__file__).resolve().parent
    assert paths.shipped_root() == package / "resources"
    for name in ("flyem-nrrn-lite", "flyem-nrrn-base"):
        assert (paths.shipped_models_dir() / name / "card.json").is_file()
        assert (paths.shipped_models_dir() / name / "weights.safetensors").is_file()
    assert paths.shipped_models_dir() == package / "resources" / "models"
    assert paths.demo_dir() == package / "resources" / "demo"
    assert (paths.demo_dir() / "ATTRIBUTION.md").is_file()
    assert (paths.demo_dir() / "flyem_fibsem_demo_noisy.tif").is_file()
    # frozen by PyInstaller: the package's data under the bundle's folder, as --collect-data emdenoise_gui lays it out
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    bundled = tmp_path / "emdenoise_gui" / "resources"
    assert paths.shipped_root() == bundled
    assert paths.shipped_models_dir() == bundled / "models" and paths.demo_dir() == bundled / "demo"
