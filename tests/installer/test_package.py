"""installer/linux/package.py: the .deb's texts, its file tree and its dependency scan."""

import importlib.util
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from emdenoise_gui import __version__, paths

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("package", ROOT / "installer" / "linux" / "package.py")
package = importlib.util.module_from_spec(spec)
spec.loader.exec_module(package)
DEBIAN = shutil.which("dpkg") is not None and shutil.which("ldd") is not None
SYSTEM_PROGRAM = "/usr/bin/env"


def entry_fields(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_desktop_entry_opens_tiff_and_mrc_stacks():
    fields = entry_fields(package.desktop_entry())
    assert fields["Exec"] == "emdenoise-gui %F"  # several files: they go into a new project
    assert fields["Icon"] == "emdenoise" and fields["Type"] == "Application"
    assert {"image/tiff", "application/x-mrc"} <= set(fields["MimeType"].rstrip(";").split(";"))
    assert fields["StartupWMClass"] == "emdenoise"  # app.setDesktopFileName: the dock shows our icon


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_is_valid(tmp_path):
    path = tmp_path / "emdenoise.desktop"
    path.write_text(package.desktop_entry())
    result = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


def test_mime_xml_describes_mrc_by_extension_and_stamp():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    mime = ET.fromstring(package.mime_xml()).find("m:mime-type", ns)
    assert mime.get("type") == "application/x-mrc"
    assert {"*.mrc", "*.mrcs", "*.map"} <= {g.get("pattern") for g in mime.findall("m:glob", ns)}
    match = mime.find("m:magic/m:match", ns)
    assert (match.get("offset"), match.get("value")) == ("208", "MAP ")


def test_control_names_the_edition_and_replaces_the_other():
    text = package.control("cuda", "0.1.0", "amd64", ["libc6 (>= 2.28)", "libegl1"], 12345)
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith(" "))
    assert fields["Package"] == "emdenoise-cuda" and fields["Conflicts"] == "emdenoise"
    assert fields["Depends"] == "libc6 (>= 2.28), libegl1" and fields["Installed-Size"] == "12345"
    assert package.control("cpu", "0.1.0", "amd64", [], 1).startswith("Package: emdenoise\n")


def test_glibc_needed_is_the_newest_version_named():
    data = b"\x00GLIBC_2.2.5\x00GLIBC_2.34\x00GLIBC_2.17\x00GLIBCXX_3.4.30\x00"
    assert package.glibc_needed(data) == (2, 34)
    assert package.glibc_needed(b"no versions here") is None


def fake_bundle(folder: Path) -> Path:
    """A bundle's shape: two executables (copies of the system's ``env``, an ELF linked to the C library
    on Linux) and the resources' icons and attribution."""
    for exe in package.EXECUTABLES:
        (folder / exe).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SYSTEM_PROGRAM, folder / exe)
        os.chmod(folder / exe, 0o775)
    resources = folder / "_internal" / "emdenoise_gui" / "resources"
    shutil.copytree(paths.icon_file().parent, resources / "icons")
    (resources / "demo").mkdir()
    shutil.copyfile(paths.demo_dir() / "ATTRIBUTION.md", resources / "demo" / "ATTRIBUTION.md")
    (resources / "models").mkdir()
    shutil.copyfile(paths.shipped_models_dir() / "ATTRIBUTION.md", resources / "models" / "ATTRIBUTION.md")
    (folder / "_internal" / "licenses").mkdir()
    shutil.copyfile(Path(__file__).resolve().parents[2] / "LICENSE", folder / "_internal" / "licenses" / "LICENSE")
    return folder


def test_stage_lays_out_the_package_tree(tmp_path):
    bundle = fake_bundle(tmp_path / "bundle")
    root = package.stage(bundle, tmp_path / "root", "cpu")
    for exe in package.EXECUTABLES:
        link = root / "usr" / "bin" / exe
        assert link.is_symlink() and os.readlink(link) == f"/opt/emdenoise/{exe}"
        assert (root / "opt" / "emdenoise" / exe).stat().st_mode & 0o777 == 0o755
    assert (root / "usr/share/applications/emdenoise.desktop").read_text() == package.desktop_entry()
    for size in package.ICON_SIZES:
        assert (root / f"usr/share/icons/hicolor/{size}x{size}/apps/emdenoise.png").stat().st_size > 500
    copyright_text = (root / "usr/share/doc/emdenoise/copyright").read_text()
    assert "CC BY 3.0" in copyright_text and "BSD 3-Clause License" in copyright_text
    assert "Shipped models: attribution" in copyright_text  # the models are FlyEM-derived too (frozen audit)
    assert all(p.stat().st_mode & 0o022 == 0 for p in root.rglob("*") if not p.is_symlink())
    assert not (root / "DEBIAN").exists()  # nothing runs at install or removal: user data is never touched


@pytest.mark.skipif(not DEBIAN, reason="needs dpkg and ldd (Debian or Ubuntu)")
def test_depends_finds_the_system_packages_of_the_bundles_libraries(tmp_path):
    bundle = fake_bundle(tmp_path / "bundle")  # the executables need the C library (libc6)
    entries = package.depends(bundle)
    assert entries[0].startswith("libc6 (>= 2.")
    version = tuple(int(x) for x in entries[0].split(">= ")[1].rstrip(")").split("."))
    assert version >= package.MIN_GLIBC
    assert set(package.QT_XCB_PACKAGES) <= set(entries[1:]) and "libc6" not in entries[1:]


def test_tarball_holds_the_bundle_in_a_versioned_folder(tmp_path):
    import tarfile

    bundle = fake_bundle(tmp_path / "bundle")
    path = package.tarball(bundle, tmp_path, "cuda")
    assert path.name == f"emdenoise-{__version__}-linux-{os.uname().machine}-cuda.tar.gz"
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert f"emdenoise-{__version__}/emdenoise-gui" in names


def test_main_refuses_a_folder_that_is_not_a_bundle(tmp_path, capsys):
    assert package.main([str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "not a built bundle" in capsys.readouterr().err


def test_check_edition_refuses_a_bundle_packed_as_the_wrong_edition(tmp_path):
    bundle = fake_bundle(tmp_path / "bundle")
    assert package.check_edition(bundle, "cpu") is None
    assert "built from a CPU torch" in package.check_edition(bundle, "cuda")
    cuda = bundle / "_internal" / "nvidia" / "cuda_runtime" / "lib"
    cuda.mkdir(parents=True)
    (cuda / "libcudart.so.12").write_bytes(b"\x7fELF")
    assert package.check_edition(bundle, "cuda") is None
    assert "pack it as --edition cuda" in package.check_edition(bundle, "cpu")
    assert package.main([str(bundle), "--edition", "cpu", "--out", str(tmp_path)]) == 2
