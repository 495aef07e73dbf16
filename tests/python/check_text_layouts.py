"""Decode every sample frame of the simulator's text codec with ib_async's own Decoder.

Usage (dev check, also run by test_text_layouts.py):
    TEXT_CODEC_DUMP=/tmp/frames.tsv cargo test --workspace --lib dump_frames -- --ignored
    python tests/python/check_text_layouts.py /tmp/frames.tsv
Exits non-zero when ib_async's decoder raises on any frame or a field count is off.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys

from ib_async.decoder import Decoder


class Recorder:
    """Stands in for ib_async's Wrapper: records every callback."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []
        self.defaultTimezone = dt.timezone.utc

        class _IB:
            TimezoneTWS = None

        self.ib = _IB()

    def __getattr__(self, name):
        def record(*args):
            self.calls.append((name, args))

        return record


class Fail(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(self.format(record))


def check(path: str) -> int:
    fail = Fail()
    logging.getLogger("ib_async.Decoder").addHandler(fail)
    problems = 0
    n = 0
    with open(path) as f:
        for line in f:
            version, body = line.rstrip("\n").split("\t", 1)
            fields = body.split("\x01")
            rec = Recorder()
            dec = Decoder(rec, int(version))
            before = len(fail.records)
            dec.interpret(list(fields))
            n += 1
            if len(fail.records) > before or not rec.calls:
                problems += 1
                print(f"v{version} msg {fields[0]}: {fail.records[before:] or 'no callback'}")
                print("   fields:", fields)
                continue
            name, args = rec.calls[0]
            # spot checks of decoded values
            if name == "openOrder":
                _, c, o, st = args
                if not (o.action == "BUY" and o.totalQuantity == 100 and st.status == "Submitted"
                        and o.clientId == 1 and o.permId == 99):
                    problems += 1
                    print(f"v{version} openOrder decoded wrongly: {o} {st}")
            if name == "completedOrder":
                c, o, st = args
                if not (o.action == "BUY" and o.permId == 99 and st.status in ("Filled", "Submitted")):
                    problems += 1
                    print(f"v{version} completedOrder decoded wrongly: {o} {st}")
            if name == "contractDetails":
                _, cd = args
                if not (cd.contract.conId == 265598 and cd.longName == "APPLE INC"
                        and cd.marketRuleIds == "26,26" and cd.minTick == 0.01
                        and cd.contract.primaryExchange == "NASDAQ"):
                    problems += 1
                    print(f"v{version} contractDetails decoded wrongly: {cd}")
            if name == "execDetails":
                _, c, ex = args
                if not (ex.execId == "0000e0d5.6553d3a1.01.01" and ex.shares == 100 and ex.side == "BOT"
                        and ex.time == dt.datetime(2025, 7, 15, 19, 5, 7, tzinfo=dt.timezone.utc)):
                    problems += 1
                    print(f"v{version} execDetails decoded wrongly: {ex}")
    print(f"{n} frames checked, {problems} problems")
    return 1 if problems or n == 0 else 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1]))
