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
    assert (paths.shipped_models_dir() / "flyem-nrrn-lite" / "card.json").is_file()
    assert (paths.demo_dir() / "ATTRIBUTION.md").is_file()
    monkeypatch.setattr("sys._MEIPASS", str(tmp_path), raising=False)
    assert paths.shipped_models_dir() == tmp_path / "models" and paths.demo_dir() == Path(tmp_path, "resources", "demo")
