"""Unit tests of the packaging helpers: icons and their containers, Qt trimming rules, ICU
package rewriting, version resources, desktop integration, size report, install script and the
frozen-app checks. No PyInstaller build runs here; ``python build_scripts/build.py`` is the
end-to-end test of the frozen app.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import os
import plistlib
import re
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from jockey_desktop import __version__
from jockey_desktop.frozen_checks import CheckResult, collect_results, run_frozen_checks

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPTS = REPO_ROOT / "build_scripts"


def _load(name: str, path: Path) -> ModuleType:
    """Import a build script by path (build_scripts/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


build = _load("jockey_build", BUILD_SCRIPTS / "build.py")
icons = _load("jockey_build_icons", BUILD_SCRIPTS / "icons.py")


# --- icons -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pngs() -> dict[int, bytes]:
    """The app icon rendered once per test module at every size the containers use."""
    return icons.render_pngs(icons.SOURCE_SVG, icons.PNG_SIZES)


def test_render_png_has_requested_size_and_transparent_corner(pngs: dict[int, bytes]) -> None:
    from PySide6.QtGui import QImage

    for size in (16, 256, 1024):
        assert icons.png_dimensions(pngs[size]) == (size, size)
    image = QImage.fromData(pngs[256], "PNG")
    assert image.pixelColor(0, 0).alpha() == 0  # rounded tile: the corner stays transparent
    assert image.pixelColor(128, 128).alpha() == 255  # the middle is painted


def test_committed_raster_fallback_matches_svg_size() -> None:
    fallback = REPO_ROOT / "resources" / "icons" / "app-256.png"
    assert icons.png_dimensions(fallback.read_bytes()) == (256, 256)


def test_png_dimensions_rejects_non_png() -> None:
    with pytest.raises(icons.IconError):
        icons.png_dimensions(b"GIF89a" + b"\0" * 30)


@pytest.mark.qt_log_ignore("Cannot read file .*broken.svg")
def test_render_png_rejects_broken_svg(tmp_path: Path) -> None:
    broken = tmp_path / "broken.svg"
    broken.write_text("<svg", encoding="utf-8")
    with pytest.raises(icons.IconError):
        icons.render_png(broken, 32)


def test_ico_round_trip(pngs: dict[int, bytes]) -> None:
    chosen = {size: pngs[size] for size in icons.ICO_SIZES}
    data = icons.build_ico(chosen)
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, len(icons.ICO_SIZES))
    entries = icons.parse_ico(data)
    assert [e.width for e in entries] == sorted(icons.ICO_SIZES)
    assert all(e.bit_count == 32 for e in entries)
    # The 256 px entry is stored as 0 in the byte-sized width field.
    raw_width_of_last = data[6 + 16 * (count - 1)]
    assert raw_width_of_last == 0
    for entry in entries:
        embedded = data[entry.offset : entry.offset + entry.size]
        assert embedded == chosen[entry.width]


def test_ico_rejects_oversized_and_mislabelled_images(pngs: dict[int, bytes]) -> None:
    with pytest.raises(icons.IconError):
        icons.build_ico({512: pngs[512]})
    with pytest.raises(icons.IconError):
        icons.build_ico({32: pngs[16]})
    with pytest.raises(icons.IconError):
        icons.build_ico({})


def test_parse_ico_detects_truncation(pngs: dict[int, bytes]) -> None:
    data = icons.build_ico({16: pngs[16], 32: pngs[32]})
    with pytest.raises(icons.IconError):
        icons.parse_ico(data[:-10])


def test_icns_round_trip(pngs: dict[int, bytes]) -> None:
    data = icons.build_icns(pngs)
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    entries = icons.parse_icns(data)
    assert {e.ostype for e in entries} >= {"ic07", "ic08", "ic09", "ic10"}
    for entry in entries:
        size = icons.ICNS_TYPES[entry.ostype]
        assert entry.length == len(entry.data) + 8
        assert icons.png_dimensions(entry.data) == (size, size)


def test_icns_rejects_bad_length(pngs: dict[int, bytes]) -> None:
    data = bytearray(icons.build_icns({128: pngs[128]}))
    struct.pack_into(">I", data, 12, 10**6)  # first element claims more than the file has
    with pytest.raises(icons.IconError):
        icons.parse_icns(bytes(data))
    with pytest.raises(icons.IconError):
        icons.build_icns({16: pngs[16]})  # no icns type holds 16 px PNGs


def test_generate_icon_set_writes_every_file(tmp_path: Path) -> None:
    icon_set = icons.generate_icon_set(tmp_path)
    assert sorted(icon_set.pngs) == sorted(icons.PNG_SIZES)
    assert len(icons.parse_ico(icon_set.ico.read_bytes())) == len(icons.ICO_SIZES)
    assert icons.parse_icns(icon_set.icns.read_bytes())


# --- Qt trimming -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6\\translations\\qtbase_de.qm", False),  # Windows wheel layout
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6\\plugins\\platforms\\qwindows.dll", True),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/styles/libqmodernwindowsstyle.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so", True),
        ("PySide6/Qt/plugins/wayland-shell-integration/libivi-shell.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/plugins/sqldrivers/libqsqlite.so", False),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
        ("PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
         True),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        # QtMultimedia and what its FFmpeg plugin links; nothing else of Quick/Qml.
        ("PySide6/Qt/lib/libQt6Multimedia.so.6", True),
        ("PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so", True),
        ("PySide6/Qt/lib/libQt6Quick.so.6", True),
        ("PySide6/Qt/lib/libQt6Qml.so.6", True),
        ("PySide6/Qt/lib/libQt6QmlModels.so.6", True),
        ("PySide6/Qt/lib/libQt6OpenGL.so.6", True),
        ("PySide6/Qt/lib/libQt6Concurrent.so.6", True),
        ("PySide6/Qt/lib/libavcodec.so.61", True),
        ("PySide6/Qt/lib/libQt6FFmpegStub-va.so.2", True),
        ("PySide6/Qt/lib/libQt6MultimediaWidgets.so.6", False),
        ("PySide6/Qt/lib/libQt6MultimediaQuick.so.6", False),
        ("PySide6/Qt/lib/libQt6SpatialAudio.so.6", False),
        ("PySide6/Qt/lib/libQt6QmlCompiler.so.6", False),
        ("PySide6/Qt/lib/libQt6QuickControls2.so.6", False),
        ("PySide6/Qt/lib/libQt6QuickTemplates2.so.6", False),
        ("PySide6/Qt/lib/libQt6OpenGLWidgets.so.6", False),
        ("PySide6/Qt/lib/libQt6Pdf.so.6", False),
        ("PySide6/Qt6Quick.dll", True),  # the FFmpeg plugin links it on every platform
        ("PySide6/Qt6QuickControls2.dll", False),
        ("PySide6/Qt6Widgets.dll", True),
        ("PySide6/Qt/lib/libicudata.so.73", True),
        ("PySide6/Qt/lib/QtQml.framework/Versions/A/QtQml", True),
        ("PySide6/Qt/lib/QtQuickControls2.framework/Versions/A/QtQuickControls2", False),
        ("PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets", True),
        ("PySide6/QtWidgets.abi3.so", True),
        ("libstdc++.so.6", False),
        ("libglib-2.0.so.0", False),
        ("libfontconfig.so.1", False),
        ("libpulse.so.0", False),  # must match the user's sound server
        ("libdrm.so.2", False),  # must match the user's Mesa
        ("libXrandr.so.2", False),
        ("libxcb-cursor.so.0", True),  # often missing on users' systems: bundled
        ("libsqlite3.so.0", True),  # Python's, with FTS5
        ("certifi/cacert.pem", True),
        ("keyring-25.7.0.dist-info/entry_points.txt", True),
    ],
)
def test_keep_bundle_file(dest: str, kept: bool) -> None:
    assert build.keep_bundle_file(dest) is kept


def test_split_toc_partitions_entries() -> None:
    toc = [("PySide6/Qt/translations/x.qm", "/src/x.qm", "DATA"),
           ("certifi/cacert.pem", "/src/cacert.pem", "DATA")]
    kept, dropped = build.split_toc(toc)
    assert kept == [toc[1]]
    assert dropped == [toc[0]]
    assert build.filter_toc(toc) == kept


def test_prune_orphan_libraries_keeps_shared_and_dlopened_libraries() -> None:
    graph = {
        "/s/libqgtk3.so": ["libgtk-3.so.0", "libcairo.so.2", "libQt6Gui.so.6"],
        "/s/libcairo.so.2": ["libpixman-1.so.0", "libpng16.so.16"],
        "/s/libpixman-1.so.0": [],
        "/s/libpng16.so.16": [],
        "/s/libqxcb.so": ["libQt6Gui.so.6", "libpng16.so.16"],
        "/s/libQt6Gui.so.6": [],
        "/s/libpython3.11.so.1.0": [],  # loaded with dlopen: nobody links it
    }
    kept = [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),
        ("libpixman-1.so.0", "/s/libpixman-1.so.0", "BINARY"),
        ("libpng16.so.16", "/s/libpng16.so.16", "BINARY"),
        ("libpython3.11.so.1.0", "/s/libpython3.11.so.1.0", "BINARY"),
    ]
    dropped = [("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/s/libqgtk3.so", "BINARY")]
    remaining, pruned = build.prune_orphan_libraries(kept, dropped, lambda p: graph[p])
    assert sorted(d for d, _s, _k in pruned) == ["libcairo.so.2", "libpixman-1.so.0"]
    names = [d for d, _s, _k in remaining]
    assert "libpng16.so.16" in names  # qxcb (kept) still needs it
    assert "PySide6/Qt/lib/libQt6Gui.so.6" in names
    assert "libpython3.11.so.1.0" in names


def test_ffmpeg_libraries_are_copied_unstripped() -> None:
    toc = [("PySide6/Qt/lib/libavformat.so.61", "/s/libavformat.so.61", "BINARY"),
           ("PySide6/Qt/lib/libswscale.so.8", "/s/libswscale.so.8", "BINARY"),
           ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
           ("libavcodec.so.61", "PySide6/Qt/lib/libavcodec.so.61", "SYMLINK")]
    assert [kind for _d, _s, kind in build.copy_unstripped(toc)] == [
        "DATA", "DATA", "BINARY", "SYMLINK"]


def test_drop_dangling_symlinks() -> None:
    entries = [
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("libQt6OpenGL.so.6", "PySide6/Qt/lib/libQt6OpenGL.so.6", "SYMLINK"),
        ("certifi/cacert.pem", "/src/cacert.pem", "DATA"),
    ]
    kept = build.drop_dangling_symlinks(entries, ["PySide6/Qt/lib/libQt6Core.so.6"])
    assert [d for d, _s, _k in kept] == ["libQt6Core.so.6", "certifi/cacert.pem"]


def test_elf_needed_reads_dt_needed() -> None:
    if shutil.which("readelf") is None or not sys.platform.startswith("linux"):
        pytest.skip("needs readelf on Linux")
    import _ssl

    assert "libc.so.6" in build.elf_needed(_ssl.__file__)
    assert build.elf_needed(str(REPO_ROOT / "pyproject.toml")) == []


def test_missing_shared_libraries_parses_ldd() -> None:
    output = ("\tlinux-vdso.so.1 (0x00007ffd)\n"
              "\tlibxcb-icccm.so.4 => not found\n"
              "\tlibQt6Core.so.6 => /x/libQt6Core.so.6 (0x00007f)\n")
    assert build.missing_shared_libraries(output) == ["libxcb-icccm.so.4"]


# --- ICU package -------------------------------------------------------------------------------


def _icu_package(items: list[tuple[str, bytes]]) -> bytes:
    """A synthetic little-endian ICU common-data package like libicudata's."""
    info = struct.pack("<HHBBBB4s4s4s", 20, 0, 0, 0, 2, 0, b"CmnD", b"\1\0\0\0", b"\3\0\0\0")
    header = struct.pack("<HBB", 32, 0xDA, 0x27) + info
    header += b"\0" * (32 - len(header))
    return build.build_icu_package(build.IcuPackage(header, tuple(items)))


def test_icu_package_round_trip_and_alignment() -> None:
    items = [("icudt73l/brkitr/word.brk", b"B" * 5), ("icudt73l/coll/root.res", b"C" * 33),
             ("icudt73l/root.res", b"R" * 16)]
    data = _icu_package(items)
    parsed = build.parse_icu_package(data)
    assert [name for name, _ in parsed.items] == [name for name, _ in items]
    for (_, original), (_, stored) in zip(items, parsed.items, strict=True):
        assert stored.rstrip(b"\0") == original  # items are padded to 16 bytes
    header_size = struct.unpack_from("<H", data, 0)[0]
    count = struct.unpack_from("<I", data, header_size)[0]
    for index in range(count):
        _name_offset, data_offset = struct.unpack_from("<II", data, header_size + 4 + 8 * index)
        assert (header_size + data_offset) % 16 == 0


def test_filter_icu_package_keeps_root_collation_and_core_data_only() -> None:
    kept = ["icudt73l/coll/res_index.res", "icudt73l/coll/root.res",
            "icudt73l/coll/ucadata.icu", "icudt73l/cnvalias.icu", "icudt73l/likelySubtags.res",
            "icudt73l/nfkc.nrm", "icudt73l/pool.res", "icudt73l/root.res",
            "icudt73l/supplementalData.res"]
    dropped = ["icudt73l/brkitr/word.brk", "icudt73l/coll/de.res", "icudt73l/coll/zh.res",
               "icudt73l/de.res", "icudt73l/zh_Hant_TW.res", "icudt73l/lang/de.res",
               "icudt73l/unames.icu", "icudt73l/zone/de.res",
               "icudt73l/ibm-943_P15A-2003.cnv", "icudt73l/rfc3491.spp"]
    items = [(name, name.encode()) for name in sorted(kept + dropped)]
    filtered = build.parse_icu_package(build.filter_icu_package(_icu_package(items)))
    assert [name for name, _ in filtered.items] == sorted(kept)


def test_parse_icu_package_rejects_other_data() -> None:
    with pytest.raises(ValueError):
        build.parse_icu_package(b"\0" * 64)


def test_trimmed_icudata_links_and_keeps_symbol(tmp_path: Path) -> None:
    """Relink the real libicudata (reads 30 MB and runs the C compiler: under a second)."""
    source = next((Path(p) / "Qt" / "lib" / "libicudata.so.73"
                   for p in (importlib.util.find_spec("PySide6").submodule_search_locations
                             or [])), None)
    if (source is None or not source.is_file() or shutil.which("readelf") is None
            or not (shutil.which("cc") or shutil.which("gcc"))):
        pytest.skip("needs the Linux PySide6 wheel's libicudata.so.73, readelf and cc")
    target = build.make_trimmed_icudata(source, tmp_path)
    assert target.name == "libicudata.so.73"
    assert target.stat().st_size < source.stat().st_size * 0.15
    data = build._elf_symbol_bytes(target, "icudt73_dat")
    names = [name for name, _ in build.parse_icu_package(data).items]
    assert "icudt73l/coll/root.res" in names
    assert not any("/brkitr/" in name or name.endswith(".cnv") for name in names)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ICU is trimmed on Linux")
def test_qt_collates_with_the_trimmed_icu_data(tmp_path: Path) -> None:
    """The frozen ICU check passes with the trimmed library, in a separate process that loads
    it instead of the wheel's (about a second: 30 MB read, one link, one Qt start)."""
    source = next((Path(p) / "Qt" / "lib" / "libicudata.so.73"
                   for p in (importlib.util.find_spec("PySide6").submodule_search_locations
                             or [])), None)
    if (source is None or not source.is_file() or shutil.which("readelf") is None
            or not (shutil.which("cc") or shutil.which("gcc"))):
        pytest.skip("needs the Linux PySide6 wheel's libicudata.so.73, readelf and cc")
    build.make_trimmed_icudata(source, tmp_path)
    code = ("from jockey_desktop.frozen_checks import check_qt_icu; "
            "import sys; r = check_qt_icu(); print(r.line()); "
            "print(open('/proc/self/maps').read().count(sys.argv[1])); sys.exit(not r.ok)")
    env = dict(os.environ, LD_LIBRARY_PATH=str(tmp_path), PYTHONPATH=str(REPO_ROOT),
               QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.splitlines()[-1]) > 0  # the trimmed library was the one loaded
    assert "Could not create collator" not in result.stderr


# --- Qt Quick/QML stubs --------------------------------------------------------------------------

# Lines as ``readelf -W --dyn-syms`` / ``readelf -W -V`` print them (binutils 2.40; the
# symbol tables' column padding squeezed to one space to fit the line length).
PLUGIN_DYN_SYMS = """
Symbol table '.dynsym' contains 6 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
  0: 0000000000000000 0 NOTYPE LOCAL DEFAULT UND
  1: 0000000000000000 0 OBJECT GLOBAL DEFAULT UND _ZN12QQuickWindow16staticMetaObjectE@Qt_6 (38)
  2: 0000000000000000 0 FUNC GLOBAL DEFAULT UND _ZN12QQuickWindow10grabWindowEv@Qt_6 (38)
  3: 0000000000000000 0 FUNC GLOBAL DEFAULT UND _ZN7QWindow4showEv@Qt_6 (12)
  4: 0000000000000000 0 FUNC GLOBAL DEFAULT UND unversioned_quick_function
  5: 0000000000000000 0 NOTYPE WEAK DEFAULT UND __gmon_start__
  6: 00000000000a1b20 120 FUNC GLOBAL DEFAULT 14 qt_plugin_instance@@Qt_6
"""
PLUGIN_VERSIONS = """
Version needs section '.gnu.version_r' contains 2 entries:
 Addr: 0x000000000000da98  Offset: 0x0000da98  Link: 6 (.dynstr)
  000000: Version: 1  File: libQt6Quick.so.6  Cnt: 1
  0x0010:   Name: Qt_6  Flags: none  Version: 38
  0x0020: Version: 1  File: libQt6Gui.so.6  Cnt: 2
  0x0030:   Name: Qt_6_PRIVATE_API  Flags: none  Version: 21
  0x0040:   Name: Qt_6  Flags: none  Version: 12
"""
QUICK_DYN_SYMS = """
  1: 0000000000000000 0 FUNC GLOBAL DEFAULT UND _ZN7QWindow4showEv@Qt_6 (5)
  9691: 00000000002db8f0 282 FUNC GLOBAL DEFAULT 14 _ZN12QQuickWindow10grabWindowEv@@Qt_6
  9792: 000000000079ab60 56 OBJECT GLOBAL DEFAULT 22 _ZN12QQuickWindow16staticMetaObjectE@@Qt_6
  9800: 00000000002db000 10 FUNC GLOBAL DEFAULT 14 unversioned_quick_function
  9801: 0000000000000010 8 TLS GLOBAL DEFAULT 25 quick_tls@@Qt_6_PRIVATE_API
"""
QUICK_IMPORTS = frozenset({"_ZN12QQuickWindow10grabWindowEv",
                           "_ZN12QQuickWindow16staticMetaObjectE"})


def test_parse_dynamic_symbols_reads_imports_and_definitions() -> None:
    symbols = build.parse_dynamic_symbols(PLUGIN_DYN_SYMS)
    assert [s.name for s in symbols] == [
        "_ZN12QQuickWindow16staticMetaObjectE", "_ZN12QQuickWindow10grabWindowEv",
        "_ZN7QWindow4showEv", "unversioned_quick_function", "__gmon_start__",
        "qt_plugin_instance"]
    meta, grab, _show, unversioned, _gmon, instance = symbols
    assert (meta.kind, meta.defined, meta.version, meta.version_index) == (
        "OBJECT", False, "Qt_6", 38)
    assert (grab.kind, grab.version_index) == ("FUNC", 38)
    assert (unversioned.version, unversioned.version_index) == (None, None)
    assert (instance.defined, instance.size, instance.version) == (True, 120, "Qt_6")
    quick = {s.name: s for s in build.parse_dynamic_symbols(QUICK_DYN_SYMS)}
    assert quick["_ZN12QQuickWindow16staticMetaObjectE"].size == 56
    assert quick["quick_tls"].version == "Qt_6_PRIVATE_API"


def test_parse_version_needs_maps_indices_to_files() -> None:
    assert build.parse_version_needs(PLUGIN_VERSIONS) == {
        38: "libQt6Quick.so.6", 21: "libQt6Gui.so.6", 12: "libQt6Gui.so.6"}


def test_imports_are_attributed_by_version_need_or_by_the_real_definition() -> None:
    plugin = build.parse_dynamic_symbols(PLUGIN_DYN_SYMS)
    needs = build.parse_version_needs(PLUGIN_VERSIONS)
    quick = build.parse_dynamic_symbols(QUICK_DYN_SYMS)
    # QWindow::show is versioned against Gui even though Quick imports it too; the weak,
    # unversioned __gmon_start__ is nobody's; the unversioned function Quick defines counts.
    assert build.imported_from(plugin, needs, "libQt6Quick.so.6", quick) == {
        *QUICK_IMPORTS, "unversioned_quick_function"}
    assert build.imported_from(plugin, needs, "libQt6Qml.so.6", []) == set()


def test_stub_symbols_are_the_real_definitions_of_the_expected_imports() -> None:
    plugin = [s for s in build.parse_dynamic_symbols(PLUGIN_DYN_SYMS)
              if s.name != "unversioned_quick_function"]
    needs = build.parse_version_needs(PLUGIN_VERSIONS)
    quick = build.parse_dynamic_symbols(QUICK_DYN_SYMS)
    symbols = build.stub_symbols(plugin, needs, "libQt6Quick.so.6", quick, QUICK_IMPORTS)
    assert [(s.name, s.kind, s.size, s.version) for s in symbols] == [
        ("_ZN12QQuickWindow10grabWindowEv", "FUNC", 282, "Qt_6"),
        ("_ZN12QQuickWindow16staticMetaObjectE", "OBJECT", 56, "Qt_6")]


def test_stub_symbols_fail_when_the_plugin_imports_something_new() -> None:
    plugin = build.parse_dynamic_symbols(PLUGIN_DYN_SYMS)
    needs = build.parse_version_needs(PLUGIN_VERSIONS)
    quick = build.parse_dynamic_symbols(QUICK_DYN_SYMS)
    with pytest.raises(build.BuildError,
                       match=r"new: unversioned_quick_function; no longer imported: none.*"
                             r"QT_STUB_IMPORTS"):
        build.stub_symbols(plugin, needs, "libQt6Quick.so.6", quick, QUICK_IMPORTS)
    with pytest.raises(build.BuildError, match=r"no longer imported: extra_symbol"):
        build.stub_symbols(plugin, needs, "libQt6Quick.so.6", quick,
                           QUICK_IMPORTS | {"unversioned_quick_function", "extra_symbol"})


def test_stub_symbols_refuse_what_a_stub_cannot_define() -> None:
    tls = build.DynamicSymbol("quick_tls", "TLS", 0, False, "Qt_6_PRIVATE_API", 38)
    needs = {38: "libQt6Quick.so.6"}
    quick = build.parse_dynamic_symbols(QUICK_DYN_SYMS)
    with pytest.raises(build.BuildError, match=r"cannot stub quick_tls.*TLS"):
        build.stub_symbols([tls], needs, "libQt6Quick.so.6", quick, frozenset({"quick_tls"}))


def test_stub_source_aborts_in_functions_and_zeroes_objects() -> None:
    symbols = [build.DynamicSymbol("_ZN12QQuickWindow10grabWindowEv", "FUNC", 282, True,
                                   "Qt_6", None),
               build.DynamicSymbol("_ZN12QQuickWindow16staticMetaObjectE", "OBJECT", 56, True,
                                   "Qt_6", None)]
    source = build.stub_c_source("libQt6Quick.so.6", symbols)
    assert re.search(r"void _ZN12QQuickWindow10grabWindowEv\(void\) \{ "
                     r'jockey_stub_called\("_ZN12QQuickWindow10grabWindowEv"\); \}', source)
    assert "abort();" in source and "stub of libQt6Quick.so.6" in source
    assert "const unsigned char _ZN12QQuickWindow16staticMetaObjectE[56] = {0};" in source
    script = build.stub_version_script(symbols)
    assert script == ("Qt_6 {\n  global: _ZN12QQuickWindow10grabWindowEv; "
                      "_ZN12QQuickWindow16staticMetaObjectE;\n  local: *;\n};\n")
    # A library the plugin imports nothing from still defines the version node.
    assert build.stub_version_script([]) == "Qt_6 {\n  local: *;\n};\n"
    assert "jockey_stub_called" not in build.stub_c_source("libQt6Qml.so.6", [])


def _quick_toc(extra: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """A TOC with the plugin, Quick, Qml and the Qml helpers (sources named like files)."""
    names = ["libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6QmlModels.so.6",
             "libQt6QmlMeta.so.6", "libQt6QmlWorkerScript.so.6"]
    return [("PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so",
             "/s/libffmpegmediaplugin.so", "BINARY"),
            *((f"PySide6/Qt/lib/{name}", f"/s/{name}", "BINARY") for name in names),
            *extra]


QUICK_GRAPH = {
    "/s/libffmpegmediaplugin.so": ["libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6Core.so.6"],
    "/s/libQt6Quick.so.6": ["libQt6QmlMeta.so.6", "libQt6QmlModels.so.6",
                            "libQt6QmlWorkerScript.so.6", "libQt6Qml.so.6"],
    "/s/libQt6Qml.so.6": ["libQt6Core.so.6"],
    "/s/libQt6QmlModels.so.6": ["libQt6Qml.so.6"],
    "/s/libQt6QmlMeta.so.6": ["libQt6QmlModels.so.6", "libQt6QmlWorkerScript.so.6",
                              "libQt6Qml.so.6"],
    "/s/libQt6QmlWorkerScript.so.6": ["libQt6Qml.so.6"],
    "/s/libQt6QuickControls2.so.6": ["libQt6Quick.so.6"],
    "/s/libextra.so": ["libQt6QmlMeta.so.6"],
}


@pytest.mark.parametrize("extra, culprit", [
    # Another file linking Quick would find only the plugin's two symbols in the stub.
    ("libQt6QuickControls2.so.6", r"libQt6QuickControls2\.so\.6 links libQt6Quick\.so\.6"),
    # A file still needing a Qml helper keeps it (and the helpers it links), and they link
    # the Qml stub.
    ("libextra.so", r"libQt6QmlModels\.so\.6 links libQt6Qml\.so\.6"),
])
def test_stubbing_refuses_a_bundle_where_another_file_links_the_stubs(
        tmp_path: Path, extra: str, culprit: str) -> None:
    toc = _quick_toc([(f"PySide6/Qt/lib/{extra}", f"/s/{extra}", "BINARY")])
    with pytest.raises(build.BuildError, match=culprit):
        build.stub_qt_quick_in_toc(toc, tmp_path, lambda path: QUICK_GRAPH[path])
    assert not any(tmp_path.iterdir())  # refused before compiling anything


def test_stubbing_leaves_a_bundle_without_the_plugin_alone(tmp_path: Path) -> None:
    toc = _quick_toc([])[1:]
    assert build.stub_qt_quick_in_toc(toc, tmp_path, lambda path: QUICK_GRAPH[path]) == toc


def _wheel_qt_dir() -> Path | None:
    """The Linux PySide6 wheel's Qt folder when readelf and cc exist, else None."""
    spec = importlib.util.find_spec("PySide6")
    qt = next((Path(p) / "Qt" for p in (spec.submodule_search_locations or [])), None) \
        if spec else None
    plugin = qt / "plugins" / "multimedia" / "libffmpegmediaplugin.so" if qt else None
    if (plugin is None or not plugin.is_file() or shutil.which("readelf") is None
            or not (shutil.which("cc") or shutil.which("gcc"))):
        return None
    return qt


def test_stubs_of_the_wheel_load_the_ffmpeg_plugin_and_abort_when_called(
        tmp_path: Path) -> None:
    """Stub the real wheel's Quick/Qml, then load the real FFmpeg plugin against the stubs
    (BIND_NOW: a missing symbol or version fails the load) and call the stub function
    (about a second: a few readelf runs, two compiles, two processes)."""
    qt = _wheel_qt_dir()
    if qt is None:
        pytest.skip("needs the Linux PySide6 wheel's FFmpeg plugin, readelf and cc")
    plugin = qt / "plugins" / "multimedia" / "libffmpegmediaplugin.so"
    libraries = ["libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6QmlModels.so.6",
                 "libQt6QmlMeta.so.6", "libQt6QmlWorkerScript.so.6", "libQt6Core.so.6"]
    toc = [("PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so", str(plugin), "BINARY"),
           *((f"PySide6/Qt/lib/{n}", str(qt / "lib" / n), "BINARY") for n in libraries),
           ("libQt6Quick.so.6", "PySide6/Qt/lib/libQt6Quick.so.6", "SYMLINK")]
    stub_dir = tmp_path / "stubs"
    result = build.stub_qt_quick_in_toc(toc, stub_dir)
    assert result == [
        toc[0],
        ("PySide6/Qt/lib/libQt6Quick.so.6", str(stub_dir / "libQt6Quick.so.6"), "BINARY"),
        ("PySide6/Qt/lib/libQt6Qml.so.6", str(stub_dir / "libQt6Qml.so.6"), "BINARY"),
        toc[6], toc[7]]  # Core and the symlink stay; the Qml helpers are gone
    assert (stub_dir / "libQt6Quick.so.6").stat().st_size < 100_000

    load = ("import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW); "
            "maps = open('/proc/self/maps').read(); "
            "print(sys.argv[2] + '/libQt6Quick.so.6' in maps, '/Qt/lib/libQt6Quick' in maps)")
    env = dict(os.environ, LD_LIBRARY_PATH=str(stub_dir))
    loaded = subprocess.run([sys.executable, "-c", load, str(plugin), str(stub_dir)],
                            capture_output=True, text=True, env=env, timeout=60, check=False)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["True", "False"]  # the stub, not the real library

    call = ("import ctypes, sys; ctypes.CDLL(sys.argv[1])._ZN12QQuickWindow10grabWindowEv()")
    called = subprocess.run([sys.executable, "-c", call, str(stub_dir / "libQt6Quick.so.6")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert called.returncode != 0
    assert ("_ZN12QQuickWindow10grabWindowEv was called, but this app bundles only a stub "
            "of libQt6Quick.so.6") in called.stderr


# --- version, plist, Windows version resource --------------------------------------------------


def test_read_version_matches_package() -> None:
    assert build.read_version() == __version__


def test_read_version_requires_a_version(tmp_path: Path) -> None:
    init = tmp_path / "__init__.py"
    init.write_text('APP_NAME = "x"\n', encoding="utf-8")
    with pytest.raises(RuntimeError):
        build.read_version(init)


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1.0", (0, 1, 0, 0)), ("1.2.3.4", (1, 2, 3, 4)), ("2.0", (2, 0, 0, 0)),
     ("1.0rc1", (1, 0, 1, 0)), ("0.1.0+local.7", (0, 1, 0, 0))],
)
def test_version_tuple(version: str, expected: tuple[int, int, int, int]) -> None:
    assert build.version_tuple(version) == expected


def test_windows_version_file_is_a_valid_expression_with_the_version() -> None:
    text = build.render_windows_version_file("1.2.3", company='Jockey "Q" Ltd')
    tree = ast.parse(text, mode="exec")
    call = tree.body[0].value  # type: ignore[attr-defined]
    assert isinstance(call, ast.Call) and call.func.id == "VSVersionInfo"  # type: ignore[attr-defined]
    ffi = call.keywords[0].value
    filevers = next(k.value for k in ffi.keywords if k.arg == "filevers")  # type: ignore[attr-defined]
    assert ast.literal_eval(filevers) == (1, 2, 3, 0)
    strings = {
        ast.literal_eval(node.args[0]): ast.literal_eval(node.args[1])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "StringStruct"
    }
    assert strings["ProductVersion"] == "1.2.3"
    assert strings["CompanyName"] == 'Jockey "Q" Ltd'
    assert strings["OriginalFilename"] == "JockeyDesktop.exe"


def test_macos_info_plist_serialises_with_required_keys() -> None:
    plist = build.macos_info_plist("1.4.0")
    assert plist["CFBundleIdentifier"] == "io.jockeydesktop.app"
    assert plist["CFBundleShortVersionString"] == "1.4.0"
    assert plist["NSHighResolutionCapable"] is True
    assert plist["NSRequiresAquaSystemAppearance"] is False
    assert plistlib.loads(plistlib.dumps(plist)) == plist


# --- desktop integration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/opt/jockey/JockeyDesktop", "/opt/jockey/JockeyDesktop"),
     ("/home/a b/JockeyDesktop", '"/home/a b/JockeyDesktop"'),
     ('/x/"q"/app', '"/x/\\\\"q\\\\"/app"'),
     ("/x/$HOME/app", '"/x/\\\\$HOME/app"'),
     ("/x/100%/app", "/x/100%%/app")],
)
def test_desktop_exec_quote(path: str, expected: str) -> None:
    assert build.desktop_exec_quote(path) == expected


def test_render_desktop_file_from_template() -> None:
    template = (BUILD_SCRIPTS / "packaging" / "jockey-desktop.desktop.in").read_text("utf-8")
    text = build.render_desktop_file(template, exec_path="/home/a b/app", version="9.8.7")
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    entries = dict(line.split("=", 1) for line in lines[1:] if "=" in line)
    assert entries["Exec"] == '"/home/a b/app"'
    assert entries["Icon"] == "jockey-desktop"
    assert entries["Type"] == "Application"
    assert entries["X-JockeyDesktop-Version"] == "9.8.7"
    assert "@" not in text


def test_render_desktop_file_requires_placeholders() -> None:
    with pytest.raises(ValueError):
        build.render_desktop_file("[Desktop Entry]\nName=x\n", exec_path="/x", version="1")


def test_artifact_name() -> None:
    assert build.artifact_name("1.0.0", "Linux", "x86_64") == "JockeyDesktop-1.0.0-linux-x86_64"
    assert build.artifact_name("1.0.0", "Windows", "AMD64") == "JockeyDesktop-1.0.0-windows-x86_64"
    assert build.artifact_name("1.0.0", "Darwin", "arm64") == "JockeyDesktop-1.0.0-macos-arm64"


def _fake_app(root: Path) -> Path:
    """A stand-in for the one-folder build: an executable script and an _internal folder."""
    app = root / "JockeyDesktop"
    (app / "_internal").mkdir(parents=True)
    (app / "_internal" / "lib.so").write_bytes(b"x" * 2048)
    exe = app / "JockeyDesktop"
    exe.write_text("#!/bin/sh\necho frozen-app \"$@\"\n", encoding="utf-8")
    exe.chmod(0o755)
    return app


def test_make_linux_archive_layout(tmp_path: Path) -> None:
    app = _fake_app(tmp_path / "dist")
    icon_dir = tmp_path / "icons"
    icon_dir.mkdir()
    for size in (16, 256):
        (icon_dir / f"app-{size}.png").write_bytes(b"png%d" % size)
    archive = build.make_linux_archive(app, "1.2.3", tmp_path, icon_dir)
    assert archive.name.startswith("JockeyDesktop-1.2.3-linux-")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        top = archive.name.removesuffix(".tar.gz")
        assert f"{top}/JockeyDesktop/JockeyDesktop" in members
        assert members[f"{top}/install.sh"].mode & 0o111
        assert f"{top}/icons/16x16/jockey-desktop.png" in members
        assert f"{top}/icons/scalable/jockey-desktop.svg" in members
        assert all(m.uname == "" and m.uid == 0 for m in members.values())
        desktop = tar.extractfile(f"{top}/jockey-desktop.desktop")
        assert desktop is not None
        assert b"Exec=jockey-desktop\n" in desktop.read()


@pytest.mark.skipif(sys.platform == "win32" or shutil.which("sh") is None, reason="POSIX sh")
def test_install_script_installs_and_uninstalls_without_touching_data(tmp_path: Path) -> None:
    bundle = tmp_path / "unpacked"
    _fake_app(bundle)
    shutil.copy(BUILD_SCRIPTS / "packaging" / "install.sh", bundle / "install.sh")
    template = (BUILD_SCRIPTS / "packaging" / "jockey-desktop.desktop.in").read_text("utf-8")
    (bundle / "jockey-desktop.desktop").write_text(
        build.render_desktop_file(template, exec_path="jockey-desktop", version="1"), "utf-8")
    (bundle / "icons" / "48x48").mkdir(parents=True)
    (bundle / "icons" / "48x48" / "jockey-desktop.png").write_bytes(b"png")
    home = tmp_path / "home dir"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    user_data = home / ".local" / "share" / "Jockey Desktop"
    user_data.mkdir(parents=True)
    (user_data / "conversations.sqlite3").write_bytes(b"precious")

    subprocess.run(["sh", str(bundle / "install.sh")], env=env, check=True,
                   capture_output=True, timeout=30)
    share = home / ".local" / "share"
    exe = share / "jockey-desktop" / "app" / "JockeyDesktop" / "JockeyDesktop"
    link = home / ".local" / "bin" / "jockey-desktop"
    assert link.resolve() == exe.resolve()
    result = subprocess.run([str(link), "--x"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "frozen-app --x"
    desktop = (share / "applications" / "jockey-desktop.desktop").read_text("utf-8")
    assert f'Exec="{exe}"' in desktop.splitlines()
    assert (share / "icons" / "hicolor" / "48x48" / "apps" / "jockey-desktop.png").is_file()

    shutil.rmtree(bundle)  # the archive is gone; the installed copy of the script remains
    subprocess.run(["sh", str(share / "jockey-desktop" / "install.sh"), "--uninstall"],
                   env=env, check=True, capture_output=True, timeout=30)
    assert not (share / "jockey-desktop").exists()
    assert not link.exists() and not link.is_symlink()
    assert not (share / "applications" / "jockey-desktop.desktop").exists()
    assert not (share / "icons" / "hicolor" / "48x48").exists()
    assert (user_data / "conversations.sqlite3").read_bytes() == b"precious"


# --- size report and stderr whitelist ----------------------------------------------------------


def test_size_report_totals_and_orders_biggest(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "big.so").write_bytes(b"x" * 3000)
    (tmp_path / "small.txt").write_bytes(b"x" * 10)
    (tmp_path / "mid.bin").write_bytes(b"x" * 500)
    os.symlink("a/big.so", tmp_path / "link.so")  # must not count the target twice
    report = build.size_report(tmp_path, top=2)
    link_size = (tmp_path / "link.so").lstat().st_size
    assert report.total_bytes == 3000 + 10 + 500 + link_size
    assert report.file_count == 4
    assert report.biggest == (("a/big.so", 3000), ("mid.bin", 500))
    text = report.format()
    assert "4 files" in text and "a/big.so" in text


def test_sizes_are_decimal_mb_with_mib_beside(tmp_path: Path) -> None:
    from build_scripts import benchmark

    (tmp_path / "lib.so").write_bytes(b"x" * 1_500_000)
    os.symlink("lib.so", tmp_path / "lib.so.6")
    report = build.size_report(tmp_path)
    # The benchmark's measure 7 counts the folder as the build does, in the same unit.
    assert benchmark.folder_size_mb(tmp_path) == report.total_mb == report.total_bytes / 1e6
    assert benchmark.PACKAGED_LIMIT_MB == build.MAX_FOLDER_MB == 135.0
    assert build.format_mb(141_407_061) == "141.4 MB (134.9 MiB)"
    assert report.format().startswith("app folder: 1.5 MB (1.4 MiB) in 2 files")


def test_folder_budget_is_135_decimal_mb() -> None:
    build.check_folder_budget(build.SizeReport(135_000_000, 1, ()))
    # 135.0 MB + 1 byte is 128.7 MiB: the old check against MiB would have let it through.
    with pytest.raises(build.BuildError, match=r"135\.0 MB \(128\.7 MiB\), over the budget "
                                               r"of 135 MB \(128\.7 MiB\)"):
        build.check_folder_budget(build.SizeReport(135_000_001, 1, ()))
    with pytest.raises(build.BuildError, match="budget of 120 MB"):
        build.check_folder_budget(build.SizeReport(124_866_024, 1, ()), max_mb=120)


def test_unexpected_stderr_lines_uses_whitelist() -> None:
    stderr = ("This plugin does not support propagateSizeHints()\n\n"
              "QObject::connect: No such signal Foo::bar()\n")
    assert build.unexpected_stderr_lines(stderr) == ["QObject::connect: No such signal Foo::bar()"]
    assert build.unexpected_stderr_lines("  \n") == []


def test_only_the_known_multimedia_warnings_are_whitelisted() -> None:
    known = ("qt.multimedia.symbolsresolver: Couldn't load pipewire-0.3 library\n"
             "qt.multimedia.symbolsresolver: Couldn't resolve pipewire-0.3 symbols\n"
             'qt.multimedia.playbackengine.codec: "No HW decoder found"\n')
    assert build.unexpected_stderr_lines(known) == []
    others = ["qt.multimedia.symbolsresolver: Couldn't load va library",
              "qt.multimedia.playbackengine.codec: Failed to open decoder",
              "qt.multimedia.ffmpeg: No audio device"]
    assert build.unexpected_stderr_lines("\n".join(others)) == others


@pytest.mark.parametrize(
    ("platform", "folder", "exe"),
    [("linux", "JockeyDesktop", "JockeyDesktop/JockeyDesktop"),
     ("win32", "JockeyDesktop", "JockeyDesktop/JockeyDesktop.exe"),
     ("darwin", "Jockey Desktop.app", "Jockey Desktop.app/Contents/MacOS/JockeyDesktop")],
)
def test_frozen_executable_per_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        platform: str, folder: str, exe: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    assert build.frozen_executable(tmp_path) == (tmp_path / folder, tmp_path / exe)


def _fake_frozen_app(tmp_path: Path, body: str) -> Path:
    """A shell script standing in for the frozen executable."""
    exe = tmp_path / "fake-app"
    exe.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    exe.chmod(0o755)
    return exe


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script")


@posix_only
def test_self_test_step_accepts_whitelisted_stderr(tmp_path: Path) -> None:
    exe = _fake_frozen_app(tmp_path, 'echo "self-test OK"\n'
                           'echo "This plugin does not support propagateSizeHints()" >&2\n'
                           'case "$QT_QPA_PLATFORM" in offscreen) exit 0;; *) exit 9;; esac\n')
    assert build.self_test_step(exe) >= 0


@posix_only
@pytest.mark.parametrize(
    ("body", "message"),
    [('echo "Traceback: boom" >&2; exit 1\n', "exited with 1"),
     ('echo "QPainter::begin: Paint device returned engine == 0" >&2; exit 0\n',
      "unexpected stderr"),
     ('echo "usage: x" >&2; echo "x: error: unrecognized arguments: --self-test" >&2; '
      "exit 2\n", "does not handle --self-test")],
)
def test_self_test_step_fails_loudly(tmp_path: Path, body: str, message: str) -> None:
    exe = _fake_frozen_app(tmp_path, body)
    with pytest.raises(build.BuildError, match=message):
        build.self_test_step(exe)


@posix_only
def test_frozen_checks_step_requires_passing_output(tmp_path: Path) -> None:
    good = _fake_frozen_app(tmp_path, 'echo "PASS certifi: ok"\n')
    build.frozen_checks_step(good)
    bad = _fake_frozen_app(tmp_path, 'echo "FAIL certifi: missing"; exit 1\n')
    with pytest.raises(build.BuildError, match="failed"):
        build.frozen_checks_step(bad)


@posix_only
def test_frozen_checks_step_names_the_check_clip(tmp_path: Path) -> None:
    exe = _fake_frozen_app(tmp_path, 'echo "PASS multimedia: $JOCKEY_FROZEN_CHECK_MEDIA"\n'
                           'test -n "$JOCKEY_FROZEN_CHECK_MEDIA"\n')
    build.frozen_checks_step(exe, tmp_path / "clip.ts")
    with pytest.raises(build.BuildError, match="failed"):
        build.frozen_checks_step(exe)  # no clip named: the fake check fails


def test_bundled_sample_media_finds_segments(tmp_path: Path) -> None:
    media = tmp_path / "_internal" / "resources" / "sandbox" / "media"
    (media / "ocean").mkdir(parents=True)
    (media / "ocean" / "seg0.ts").write_bytes(b"x")
    (media / "ocean" / "index.m3u8").write_text("#EXTM3U\n", encoding="utf-8")
    assert build.bundled_sample_media(tmp_path) == [media / "ocean" / "seg0.ts"]
    assert build.bundled_sample_media(tmp_path / "nothing") == []


@posix_only
def test_frozen_app_gets_a_clean_isolated_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/leak")
    monkeypatch.setenv("TWELVELABS_API_KEY", "secret-key")
    exe = _fake_frozen_app(tmp_path, 'echo "py=${PYTHONPATH-unset} key=${TWELVELABS_API_KEY}" '
                           '"home=$HOME"\n')
    work = tmp_path / "work"
    work.mkdir()
    out = build.run_frozen(exe, [], work).stdout
    assert "py=unset" in out
    assert "key= " in out  # the real key never reaches the frozen app's checks
    assert f"home={work / 'home'}" in out


def test_parse_probe_clock() -> None:
    out = "startup-probe: 412.3 ms to first paint\nstartup-probe-clock: monotonic=12345.678901\n"
    assert build.parse_probe_clock(out) == pytest.approx(12345.678901)
    assert build.parse_probe_clock("startup-probe: 412.3 ms to first paint\n") is None


# --- frozen checks (run unfrozen here; the build runs them inside the frozen app) -------------


#: What QtMultimedia logs at warning level offscreen with no PipeWire (design.md §6).
MULTIMEDIA_WARNINGS = pytest.mark.qt_log_ignore(
    r"^Couldn't load pipewire-0\.3 library$", r"^Couldn't resolve pipewire-0\.3 symbols$",
    r'^"No HW decoder found"$')


@pytest.fixture(scope="module")
def check_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build's multimedia check clip, encoded once (ffmpeg: about 0.2 s)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (Debian: apt-get install ffmpeg; .ci/run installs it)")
    return build.make_check_clip(tmp_path_factory.mktemp("media") / "testsrc.ts")


@MULTIMEDIA_WARNINGS
def test_run_frozen_checks_passes_from_source_and_prints_one_line_per_check(
        qapp: object, check_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOCKEY_FROZEN_CHECK_MEDIA", str(check_clip))
    out = io.StringIO()
    assert run_frozen_checks(out) == 0, out.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "PASS keyring-entry-points", "PASS keyring-backends", "PASS certifi",
        "PASS requests-ca-bundle", "PASS qt-icu", "PASS otio-adapters", "PASS multimedia"]
    assert "160x90 frame of testsrc.ts" in lines[-2]
    assert "all checks passed" in lines[-1]


@MULTIMEDIA_WARNINGS
@pytest.mark.qt_log_ignore(r"Could not open file", r"Invalid data found")
def test_multimedia_check_fails_in_words_for_a_broken_clip(
        qapp: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jockey_desktop import frozen_checks

    broken = tmp_path / "broken.ts"
    broken.write_bytes(b"not a video at all" * 100)
    monkeypatch.setenv("JOCKEY_FROZEN_CHECK_MEDIA", str(broken))
    result = frozen_checks.check_multimedia()
    assert not result.ok
    assert result.detail.startswith("broken.ts: ")


def test_multimedia_check_needs_a_clip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from jockey_desktop import frozen_checks

    monkeypatch.setenv("JOCKEY_FROZEN_CHECK_MEDIA", str(tmp_path / "missing.ts"))
    result = frozen_checks.check_multimedia()
    assert not result.ok
    assert "no sample clip to decode" in result.detail


def test_qt_and_addons_are_pinned_to_one_exact_version() -> None:
    text = (REPO_ROOT / "pyproject.toml").read_text("utf-8")
    pins = dict(re.findall(r'"(PySide6-(?:Essentials|Addons))==([0-9.]+)"', text))
    assert set(pins) == {"PySide6-Essentials", "PySide6-Addons"}
    assert pins["PySide6-Essentials"] == pins["PySide6-Addons"]
    assert not pins["PySide6-Essentials"].startswith("6.12")  # see the comment there


def test_collect_results_turns_exceptions_into_failures() -> None:
    def check_exploding() -> CheckResult:
        raise ImportError("No module named 'secretstorage'")

    def check_fine() -> CheckResult:
        return CheckResult("fine", True, "ok")

    results = collect_results((check_exploding, check_fine))
    assert results[0] == CheckResult("exploding", False,
                                     "ImportError: No module named 'secretstorage'")
    assert results[1].ok


def test_keyring_check_fails_without_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.compat.py312 import metadata

    from jockey_desktop import frozen_checks

    monkeypatch.setattr(metadata, "entry_points", lambda **_kw: [])
    result = frozen_checks.check_keyring_entry_points()
    assert not result.ok
    assert "not bundled" in result.detail


def test_certifi_check_fails_for_missing_bundle(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    import certifi

    from jockey_desktop import frozen_checks

    monkeypatch.setattr(certifi, "where", lambda: str(tmp_path / "missing.pem"))
    assert not frozen_checks.check_certificates().ok
    empty = tmp_path / "empty.pem"
    empty.write_text("# no certificates\n", encoding="utf-8")
    monkeypatch.setattr(certifi, "where", lambda: str(empty))
    result = frozen_checks.check_certificates()
    assert not result.ok


# --- X11 smoke run (build_scripts/x11_smoke.py) ------------------------------------------------

x11 = _load("jockey_x11_smoke", BUILD_SCRIPTS / "x11_smoke.py")


def _xwd(width: int, height: int, pixels: list[tuple[int, int, int]], *, bpp: int = 32,
         byte_order: int = 0) -> bytes:
    """A synthetic xwd dump (TrueColor, masks 0xff0000/0xff00/0xff) with padded rows."""
    name = b"root\0"
    size = bpp // 8
    bytes_per_line = (width * size + 3) // 4 * 4
    header = struct.pack(">25I", 100 + len(name), 7, 2, 24, width, height, 0, byte_order, 32,
                         byte_order, 32, bpp, bytes_per_line, 4, 0xFF0000, 0xFF00, 0xFF, 8, 256,
                         0, width, height, 0, 0, 0)
    rows = b""
    for y in range(height):
        row = b""
        for r, g, b in pixels[y * width : (y + 1) * width]:
            value = (r << 16) | (g << 8) | b
            packed = value.to_bytes(4, "little" if byte_order == 0 else "big")
            row += packed[:size] if byte_order == 0 else packed[4 - size :]
        rows += row + b"\0" * (bytes_per_line - len(row))
    return header + name + rows


@pytest.mark.parametrize(("bpp", "byte_order"), [(32, 0), (24, 0), (32, 1), (24, 1)])
def test_parse_xwd_reads_pixels_in_order(bpp: int, byte_order: int) -> None:
    pixels = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30), (1, 2, 3), (200, 100, 50)]
    shot = x11.parse_xwd(_xwd(3, 2, pixels, bpp=bpp, byte_order=byte_order))
    assert (shot.width, shot.height) == (3, 2)
    assert shot.rgb == b"".join(bytes(p) for p in pixels)
    assert shot.distinct_colours() == 6


def test_parse_xwd_rejects_other_files() -> None:
    with pytest.raises(ValueError, match="too short"):
        x11.parse_xwd(b"\0" * 10)
    with pytest.raises(ValueError, match="truncated"):
        x11.parse_xwd(_xwd(3, 2, [(0, 0, 0)] * 6)[:-8])
    with pytest.raises(ValueError, match="unsupported"):
        x11.parse_xwd(_xwd(3, 2, [(0, 0, 0)] * 6, bpp=16))


def test_png_bytes_is_a_png_of_the_screenshot(tmp_path: Path) -> None:
    pixels = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]
    shot = x11.Screenshot(2, 2, b"".join(bytes(p) for p in pixels))
    data = x11.png_bytes(shot)
    assert icons.png_dimensions(data) == (2, 2)
    from PySide6.QtGui import QImage

    image = QImage.fromData(data, "PNG")
    assert image.pixelColor(1, 1).getRgb()[:3] == (10, 20, 30)
    assert image.pixelColor(0, 1).getRgb()[:3] == (0, 0, 255)


def test_window_mapped_matches_the_main_window_title_only() -> None:
    tree = ('  0x400007 "Jockey Desktop": ("jockey-desktop" "Jockey Desktop")  1280x771+0+0\n'
            '  0x400001 (has no name): ()  1x1+-1+-1\n')
    assert x11.window_mapped(tree)
    assert x11.window_mapped('     0x40000a "Ocean answers — Jockey Desktop": ()  10x10+0+0\n')
    assert not x11.window_mapped('  0x400001 "Cited moment": ()  1x1+0+0\n')
    assert not x11.window_mapped("")


def test_app_environment_uses_the_real_xcb_platform(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nowhere")
    env = x11.app_environment(":7", tmp_path / "home")
    assert env["QT_QPA_PLATFORM"] == "xcb"
    assert env["DISPLAY"] == ":7"
    assert "DBUS_SESSION_BUS_ADDRESS" not in env
    assert (tmp_path / "home" / "runtime").stat().st_mode & 0o777 == 0o700
