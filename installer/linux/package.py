"""Pack the PyInstaller bundle for Linux: a tar.gz to unpack anywhere and a .deb for Debian and Ubuntu.

    python installer/linux/package.py build/installer/dist-cpu/emdenoise --edition cpu --out build/installer

(``make installer`` runs it after PyInstaller.) The .deb installs

    /opt/emdenoise/                         the bundle (both executables, _internal/)
    /usr/bin/emdenoise, emdenoise-gui       links into it
    /usr/share/applications/emdenoise.desktop   the menu entry, opening TIFF and MRC stacks
    /usr/share/icons/hicolor/NxN/apps/emdenoise.png
    /usr/share/mime/packages/emdenoise.xml  the MRC MIME type (TIFF is the system's own image/tiff)
    /usr/share/doc/emdenoise/copyright

and no maintainer scripts: the menu, icon and MIME caches are refreshed by the dpkg triggers of
desktop-file-utils, hicolor-icon-theme and shared-mime-info, and removing the package removes only
these files (models and projects in the user's folders stay). ``Depends`` lists the packages holding
the system libraries the bundle links to (it does not bundle the display stack: see
installer/emdenoise.spec), found with ``ldd`` and ``dpkg -S`` on the build machine, plus the
libraries Qt's xcb platform plugin loads (:data:`QT_XCB_PACKAGES`), which a minimal desktop lacks,
and ``libc6`` at the newest GLIBC symbol version the bundle asks for.

The pure functions (texts, version scan, staging) are tested in tests/installer; the tools
(``ldd``, ``dpkg``, ``dpkg-deb``) are needed only to build.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from emdenoise_gui import __version__  # noqa: E402

NAME = "emdenoise"
PREFIX = Path("opt") / NAME
EXECUTABLES = ("emdenoise", "emdenoise-gui")
ICON_SIZES = (48, 128, 256, 512)
MIME_TYPES = ("image/tiff", "application/x-mrc")
#: What Qt's xcb platform plugin and its image/font stack load at run time (dlopen or through the
#: plugin, which ldd of the executables does not see); a minimal desktop may lack the first ones.
QT_XCB_PACKAGES = ("libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0",
                   "libxcb-render-util0", "libxcb-shape0", "libxcb-xfixes0", "libxcb-xinerama0", "libxcb-xkb1",
                   "libxkbcommon-x11-0", "libxkbcommon0", "libx11-xcb1", "libegl1", "libgl1", "libopengl0",
                   "libfontconfig1", "libfreetype6", "libdbus-1-3", "libglib2.0-0",
                   "libwayland-client0", "libwayland-cursor0", "libwayland-egl1")
#: The oldest glibc this bundle accepts when no ELF asks for more (the manylinux_2_28 torch wheels).
MIN_GLIBC = (2, 28)
GLIBC_VERSION = re.compile(rb"GLIBC_(\d+)\.(\d+)(?:\.\d+)?\x00")


def desktop_entry() -> str:
    """The freedesktop menu entry: the app, its icon, and the stacks it opens (``%F``: files)."""
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=EMDenoise",
        "GenericName=Electron microscopy denoising",
        "Comment=Remove noise and artifacts from EM images and stacks with deep learning",
        "Exec=emdenoise-gui %F",
        "TryExec=emdenoise-gui",
        "Icon=emdenoise",
        "Terminal=false",
        "Categories=Science;Biology;ImageProcessing;",
        "Keywords=microscopy;EM;FIB-SEM;TEM;denoise;noise;TIFF;MRC;",
        f"MimeType={';'.join(MIME_TYPES)};",
        "StartupWMClass=emdenoise",
        "",
    ])


def mime_xml() -> str:
    """shared-mime-info's description of MRC files (by extension and by the ``MAP`` stamp at byte 208)."""
    globs = "".join(f'    <glob pattern="*.{ext}"/>\n' for ext in ("mrc", "mrcs", "rec", "st", "ali", "map"))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">\n'
            '  <mime-type type="application/x-mrc">\n'
            '    <comment>MRC electron microscopy image stack</comment>\n'
            f'{globs}'
            '    <magic priority="50"><match type="string" offset="208" value="MAP "/></magic>\n'
            '  </mime-type>\n'
            '</mime-info>\n')


def package_name(edition: str) -> str:
    """``emdenoise`` for the CPU edition, ``emdenoise-cuda`` for the GPU one (they replace each other)."""
    return NAME if edition == "cpu" else f"{NAME}-{edition}"


def control(edition: str, version: str, arch: str, depends: list[str], installed_kb: int) -> str:
    """The DEBIAN/control text of the package."""
    other = package_name("cuda" if edition == "cpu" else "cpu")
    edition_line = ("the CPU edition (runs everywhere; install emdenoise-cuda for NVIDIA GPUs)" if edition == "cpu"
                    else f"the {edition.upper()} edition (uses an NVIDIA GPU when its driver is recent enough)")
    return "\n".join([
        f"Package: {package_name(edition)}",
        f"Version: {version}",
        f"Architecture: {arch}",
        "Maintainer: EMDenoise developers <emdenoise@example.org>",
        f"Installed-Size: {installed_kb}",
        f"Depends: {', '.join(depends)}",
        f"Conflicts: {other}",
        f"Replaces: {other}",
        "Section: science",
        "Priority: optional",
        "Homepage: https://example.org/emdenoise",
        "Description: denoise electron microscopy images and stacks with deep learning",
        " EMDenoise removes noise and imaging artifacts from TIFF and MRC stacks (FIB-SEM, TEM, SEM)",
        " with shipped deep models (NRRN, Xception, cyclic GAN, Noise2Void) and classical filters,",
        " shows the result beside the original, and trains models on your own data.",
        f" This is {edition_line}; the command line is `emdenoise`, the app `emdenoise-gui`.",
        "",
    ])


def glibc_needed(data: bytes) -> tuple[int, int] | None:
    """The newest ``GLIBC_x.y`` symbol version named in an ELF's bytes, or None."""
    found = [(int(a), int(b)) for a, b in GLIBC_VERSION.findall(data)]
    return max(found) if found else None


def is_elf(path: Path) -> bool:
    """Whether ``path`` is a regular ELF file (executable or shared library)."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def elf_files(bundle: Path) -> list[Path]:
    """Every ELF file in the bundle, sorted."""
    return sorted(p for p in bundle.rglob("*") if is_elf(p))


def system_libraries(elves: list[Path], bundle: Path) -> tuple[set[str], set[str]]:
    """(paths of system libraries the ELFs link to, sonames ldd could not find on this machine).

    A library the bundle holds itself does not count, wherever ldd finds it: the bootloader puts the
    bundle's folder first on the library path of the frozen process."""
    found, missing = set(), set()
    inside = str(bundle.resolve())
    bundled = {p.name for p in bundle.rglob("*.so*")}  # found at run time (the bootloader's library path)
    for elf in elves:
        result = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            parts = line.split()
            if "=>" not in parts:
                continue
            soname, target = parts[0], parts[parts.index("=>") + 1]
            if soname in bundled:
                continue
            if target == "not":
                missing.add(soname)
            elif target.startswith("/") and not os.path.realpath(target).startswith(inside):
                found.add(target)
    return found, missing


def owning_packages(libraries: set[str]) -> set[str]:
    """The Debian packages holding these files (``dpkg -S``; the /lib and /usr/lib spellings both tried)."""
    packages = set()
    for library in sorted(libraries):
        candidates = {library, os.path.realpath(library)}
        candidates |= {c.removeprefix("/usr") if c.startswith("/usr/lib") else "/usr" + c
                       for c in list(candidates) if c.startswith(("/lib", "/usr/lib"))}
        for candidate in sorted(candidates):
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
            if result.returncode == 0:
                packages.add(result.stdout.split(":", 1)[0].split(",")[0].strip())
                break
        else:
            raise SystemExit(f"error: no Debian package holds {library}; install it from a package and rebuild")
    return packages


def depends(bundle: Path) -> list[str]:
    """The Depends field's entries: glibc at the version the bundle needs, then the library packages."""
    elves = elf_files(bundle)
    newest = max([MIN_GLIBC] + [v for v in (glibc_needed(p.read_bytes()) for p in elves) if v])
    libraries, missing = system_libraries(elves, bundle)
    if missing:
        print("note: not found here, so not in Depends (display libraries are in the Qt list; libcuda "
              f"comes with the NVIDIA driver): {', '.join(sorted(missing))}")
    packages = (owning_packages(libraries) | set(QT_XCB_PACKAGES)) - {"libc6"}
    return [f"libc6 (>= {newest[0]}.{newest[1]})"] + sorted(packages)


def stage(bundle: Path, root: Path, edition: str) -> Path:
    """Lay out the .deb's file tree (all but DEBIAN/) under ``root`` (see the module doc); ``root``."""
    shutil.copytree(bundle, root / PREFIX, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    for exe in EXECUTABLES:
        (root / "usr" / "bin" / exe).symlink_to(Path("/") / PREFIX / exe)
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{NAME}.desktop").write_text(desktop_entry())
    (share / "mime" / "packages").mkdir(parents=True)
    (share / "mime" / "packages" / f"{NAME}.xml").write_text(mime_xml())
    icons = bundle / "_internal" / "emdenoise_gui" / "resources" / "icons"
    for size in ICON_SIZES:
        folder = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        shutil.copyfile(icons / f"emdenoise_{size}.png", folder / f"{NAME}.png")
    doc = share / "doc" / package_name(edition)
    doc.mkdir(parents=True)
    resources, licenses = icons.parent, bundle / "_internal" / "licenses"
    doc.joinpath("copyright").write_text(
        "EMDenoise: BSD-3-Clause (below). Bundled third-party libraries keep their own licences: see\n"
        f"/{PREFIX}/_internal/licenses/README.txt and /{PREFIX}/_internal/*.dist-info.\n\n"
        + (licenses / "LICENSE").read_text() + "\n" + (resources / "models" / "ATTRIBUTION.md").read_text() + "\n"
        + (resources / "demo" / "ATTRIBUTION.md").read_text())
    for path in root.rglob("*"):  # dpkg wants no group/world-writable files; umask-independent modes
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    return root


def folder_kb(folder: Path) -> int:
    """Size of the files under ``folder`` in KiB (symlinks not followed), as Installed-Size wants."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) // 1024


def cuda_runtime(bundle: Path) -> list[Path]:
    """The CUDA runtime libraries in the bundle (libcudart, libcublas): there in the CUDA edition only."""
    return sorted(p for p in bundle.rglob("lib*.so*") if p.name.startswith(("libcudart.so", "libcublas.so")))


def check_edition(bundle: Path, edition: str) -> str | None:
    """Why the bundle is not the ``edition`` it is packed as (a CPU torch in a CUDA package, or the
    reverse), or None when it is."""
    found = cuda_runtime(bundle)
    if edition == "cuda" and not found:
        return "no CUDA runtime (libcudart, libcublas) in the bundle: it was built from a CPU torch"
    if edition == "cpu" and found:
        return f"the bundle holds the CUDA runtime ({found[0].name}): pack it as --edition cuda"
    return None


def tarball(bundle: Path, out: Path, edition: str) -> Path:
    """``emdenoise-VERSION-linux-ARCH[-cuda].tar.gz`` holding the bundle in ``emdenoise-VERSION/``."""
    suffix = "" if edition == "cpu" else f"-{edition}"
    path = out / f"{NAME}-{__version__}-linux-{os.uname().machine}{suffix}.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=f"{NAME}-{__version__}")
    return path


def build_deb(bundle: Path, out: Path, edition: str) -> Path:
    """Stage and build the .deb with ``dpkg-deb`` in ``out``; its path."""
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    root = out / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    stage(bundle, root, edition)
    text = control(edition, __version__, arch, depends(bundle), folder_kb(root))
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(text)
    path = out / f"{package_name(edition)}_{__version__}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(path)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("bundle", type=Path, help="the PyInstaller folder (dist/emdenoise)")
    parser.add_argument("--edition", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--out", type=Path, default=Path("build/installer"))
    args = parser.parse_args(argv)
    if not (args.bundle / "emdenoise").is_file():
        print(f"error: {args.bundle} is not a built bundle (no emdenoise executable): run PyInstaller first",
              file=sys.stderr)
        return 2
    problem = check_edition(args.bundle, args.edition)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(f"bundle {args.bundle}: {folder_kb(args.bundle) / 1024:.0f} MiB, {args.edition} edition")
    print(f"wrote {tarball(args.bundle, args.out, args.edition)}")
    if shutil.which("dpkg-deb"):
        print(f"wrote {build_deb(args.bundle, args.out, args.edition)}")
    else:
        print("no dpkg-deb here (not Debian/Ubuntu): the .deb is not built")
    return 0


if __name__ == "__main__":
    sys.exit(main())
