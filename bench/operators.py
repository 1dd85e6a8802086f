"""What operator signatures cost: appends signed against unsigned, and ``ledger verify``'s
signature check (all of them, and only the new ones after a sealed check) against the chain
check, side by side.

Fills two SQLite ledgers with ``--runs`` runs (6 entries each, as ``omctl run`` writes them,
bench/ledger_scale.py's entries): one in a workspace without operators (unsigned, the
baseline), one in a workspace with an operator key (every entry signed). Then times, on the
signed one, the chain verify (``Ledger.verify``), the full signature check, and the check after
one more run once the previous check is sealed (what a daily verify does), and extrapolates the
full check to issue 13's 1.2 million entries.

Usage: python bench/operators.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, bench_env
from ledger_scale import run_items

sys.path.insert(0, str(REPO))

SCALE_ENTRIES = 1_200_000  # bench/ledger_scale.py: 200,000 runs of 6 entries


def fill(book: object, runs: int, first: int = 0) -> float:
    """Append ``runs`` runs (two transactions each, as ``omctl run``); the seconds it took."""
    began = time.perf_counter()
    for index in range(first, first + runs):
        started, *rest = run_items(
            f"bench-{index:06d}", "acme", "healthcheck", "maintenance", index
        )
        book.append(*started)  # type: ignore[attr-defined]
        book.append_many(rest)  # type: ignore[attr-defined]
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    options = parser.parse_args()
    env = bench_env()
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]  # keys of the throw-away ledgers

    from omctl import ledger, operators, settings
    from omctl.workspace import Workspace

    root = Path(tempfile.mkdtemp(prefix="omctl-bench-operators-"))
    try:
        books = {}
        for name in ("unsigned", "signed"):
            ws = Workspace(root / name)
            ws.root.mkdir()
            if name == "signed":
                operators.init(ws, "bench")
            ws.ensure_state()
            book = ledger.SqliteLedger(ws.state / "ledger.sqlite3")
            book.signer = operators.signer_for(settings.load(ws.root, environ={}))
            books[name] = (ws, book)
        append_plain = fill(books["unsigned"][1], options.runs)
        append_signed = fill(books["signed"][1], options.runs)
        ws, book = books["signed"]
        keys = operators.keyring(ws)
        began = time.perf_counter()
        chain = book.verify()
        chain_s = time.perf_counter() - began
        assert chain.ok and chain.head_seq is not None
        began = time.perf_counter()
        full = operators.verify_signatures(book, keys, chain.head_seq, full=True)
        full_s = time.perf_counter() - began
        fill(book, 1, first=options.runs)
        head = book.verify().head_seq
        assert full.ok and head is not None
        began = time.perf_counter()
        daily = operators.verify_signatures(book, keys, head)
        daily_s = time.perf_counter() - began
        assert daily.ok and daily.checked == head - chain.head_seq
        entries = chain.entries
        per_entry = full_s / entries
        print(f"{options.runs} runs ({entries} entries, 6 per run), SQLite")
        print(f"{'':46} {'baseline':>10} {'operators':>10} {'ratio':>8}")
        rows = [
            ("runs appended per second (unsigned, signed)",
             options.runs / append_plain, options.runs / append_signed),
            ("verify (s): chain, + full signature check", chain_s, chain_s + full_s),
            ("verify (s): chain, + signatures after a seal", chain_s, chain_s + daily_s),
        ]  # fmt: skip
        for name, base, mine in rows:
            print(f"{name:46} {base:10.3f} {mine:10.3f} {mine / base:7.2f}x")
        print(f"one signature check: {per_entry * 1e6:.0f} us; all of {SCALE_ENTRIES:,} entries: "
              f"{per_entry * SCALE_ENTRIES:.0f} s; after a seal, {daily.checked} new entries: "
              f"{daily_s * 1e3:.1f} ms")  # fmt: skip
        for _, opened in books.values():
            opened.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(env["XDG_CONFIG_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
