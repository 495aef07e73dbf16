"""Every response layout of the text codec, decoded offline by ib_async's own Decoder at every
server version 157..178 (see check_text_layouts.py)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.mark.skipif(shutil.which("cargo") is None, reason="needs cargo")
def test_ib_async_decodes_every_text_layout(tmp_path):
    dump = tmp_path / "frames.tsv"
    env = dict(os.environ, TEXT_CODEC_DUMP=str(dump))
    subprocess.run(
        ["cargo", "test", "-q", "-p", "tws-sim", "--lib", "dump_frames_for_ib_async_check",
         "--", "--ignored"],
        cwd=REPO, env=env, check=True, capture_output=True, timeout=900,
    )
    assert dump.exists() and dump.stat().st_size > 0
    r = subprocess.run([sys.executable, str(HERE / "check_text_layouts.py"), str(dump)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
