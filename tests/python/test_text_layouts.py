"""Every response layout of the text codec, decoded offline by ib_async's own Decoder at every
server version 157..178 (see check_text_layouts.py).

The frames come from the simulator's ignored unit test `dump_frames_for_ib_async_check`;
scripts/test-python.sh runs it before pytest and passes the file in TEXT_CODEC_DUMP_FILE. Run
directly under pytest, this test produces the file itself (a compile may be needed: long timeout).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _frames(tmp_path: Path) -> Path:
    given = os.environ.get("TEXT_CODEC_DUMP_FILE")
    if given:
        return Path(given)
    if shutil.which("cargo") is None:
        pytest.fail("needs cargo or TEXT_CODEC_DUMP_FILE (a frames file from "
                    "scripts/test-python.sh): nothing would be checked")
    dump = tmp_path / "frames.tsv"
    env = dict(os.environ, TEXT_CODEC_DUMP=str(dump))
    # --workspace: the same feature set as the workspace build, so nothing is recompiled.
    subprocess.run(
        ["cargo", "test", "-q", "--workspace", "--lib", "dump_frames_for_ib_async_check",
         "--", "--ignored"],
        cwd=REPO, env=env, check=True, capture_output=True, timeout=1700,
    )
    return dump


@pytest.mark.timeout(1800)
def test_ib_async_decodes_every_text_layout(tmp_path):
    dump = _frames(tmp_path)
    assert dump.exists() and dump.stat().st_size > 0, f"no frames in {dump}"
    r = subprocess.run([sys.executable, str(HERE / "check_text_layouts.py"), str(dump)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
