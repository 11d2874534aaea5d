# SPDX-License-Identifier: MIT
"""The package as users get it: cmake --install puts it next to the
library it finds on its own, pip installs it offline, and the GRC block
descriptions compile the example flowgraph."""
import os
import shutil
import subprocess
import sys

import pytest

BUILD = os.environ["IIOFAB_BUILD_DIR"]
SOURCE = os.environ["IIOFAB_SOURCE_DIR"]


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("IIOFAB_LIBRARY", "PYTHONPATH")}
    env.update(extra)
    return env


def test_cmake_install_finds_its_library(tmp_path):
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(prefix)], check=True,
                   capture_output=True)
    pkg = list(prefix.glob("lib/python3*/dist-packages/iiofab/__init__.py"))
    assert len(pkg) == 1, "package not installed under lib/python3.N/dist-packages"
    site = pkg[0].parent.parent
    code = "import iiofab; print(iiofab.library_path()); print(iiofab.version())"
    r = subprocess.run([sys.executable, "-c", code], env=_clean_env(PYTHONPATH=str(site)),
                       capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    lib_path, version = r.stdout.split()
    assert os.path.realpath(lib_path).startswith(os.path.realpath(str(prefix)))
    assert version.startswith("0.")
    grc = list(prefix.glob("share/gnuradio/grc/blocks/iiofab_*.block.yml"))
    assert sorted(p.name for p in grc) == ["iiofab_sink.block.yml", "iiofab_source.block.yml"]


def test_pip_installs_offline(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(os.path.join(SOURCE, "python"), src,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index",
                        "--no-build-isolation", "--no-deps", "--target", str(target), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-c", "import iiofab; print(iiofab.version())"],
                       env=_clean_env(PYTHONPATH=str(target),
                                      IIOFAB_LIBRARY=os.environ["IIOFAB_LIBRARY"]),
                       capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr


def test_grc_blocks_compile_the_flowgraph(tmp_path):
    if shutil.which("grcc") is None:
        pytest.fail("grcc (gnuradio) is not installed: run scripts/setup")
    r = subprocess.run(["grcc", "-o", str(tmp_path),
                        os.path.join(SOURCE, "examples/python/roundtrip.grc")],
                       env=dict(os.environ, GRC_BLOCKS_PATH=os.path.join(SOURCE, "python/grc")),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    generated = (tmp_path / "iiofab_roundtrip.py").read_text()
    assert "iiofab.grblocks.source(" in generated and "iiofab.grblocks.sink(" in generated
    assert "mode='exclusive'" in generated and "type='short'" in generated
    subprocess.run([sys.executable, "-m", "py_compile", str(tmp_path / "iiofab_roundtrip.py")],
                   check=True)


def test_grblocks_import_and_refuse_a_wrong_type():
    from iiofab import grblocks
    from iiofab import formats as F

    class Ch:
        id, format = "voltage0", F.Format(16, 16)
    assert [d.itemsize for d in grblocks._signature([Ch()], "short", "source")] == [2]
    with pytest.raises(ValueError, match="2-byte samples"):
        grblocks._signature([Ch()], "int", "source")
