"""One bot process's scheduler, for the multi-process test: ``python tests/support/scheduler_process.py URL OUT``.

Takes part in the election; prints ``follower`` after its first lost election round and
``leader`` once it is elected and has run its first sweep. Posts are appended to the file OUT,
one line each. Stops when its standard input closes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

from reviewbot.config import Settings
from reviewbot.core.replies import Mark
from reviewbot.runtime import build_runtime
from reviewbot.scheduling import Scheduler


class FilePoster:
    """Appends each post to a file, as one line."""

    def __init__(self, path: str) -> None:
        self.path = path

    def post(self, workspace_id: str, channel_id: str, text: str, marks: Sequence[Mark] = ()) -> None:
        with open(self.path, "a") as out:
            out.write(f"{channel_id} {text.splitlines()[0]}\n")


def main(url: str, out: str) -> None:
    runtime = build_runtime(Settings(database_url=url), migrate=False)
    poster = FilePoster(out)
    scheduler = Scheduler(runtime.db, lambda: runtime.notices.sweep(poster), interval=3600, election_interval=0.1)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    said = None
    while not stop.is_set():
        leader = scheduler.elect()
        if leader and said != "leader" and scheduler.wait_for_runs(1, timeout=10):
            said = "leader"
            print(said, flush=True)
        elif not leader and said is None:
            said = "follower"
            print(said, flush=True)
        stop.wait(0.1)
    scheduler.stop()
    runtime.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
