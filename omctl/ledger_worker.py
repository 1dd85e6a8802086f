"""A verify worker: ``python -m omctl.ledger_worker`` checks one part of a big SQLite ledger
(``omctl.ledger.verify_part_file``) for a ``ledger verify`` running beside it.

A fresh interpreter, not a fork (SQLite state must not cross a fork) and not multiprocessing
(whose spawn runs the parent's main script again). It reads the part, pickled by its parent,
on stdin and writes the pickled outcome on stdout: a pipe between a process and its own child.
"""

from __future__ import annotations

import pickle
import sys

from omctl import ledger


def main() -> None:
    path, secret, keyed_from, part = pickle.load(sys.stdin.buffer)
    outcome = ledger.verify_part_file(path, secret, keyed_from, part)
    pickle.dump(outcome, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
