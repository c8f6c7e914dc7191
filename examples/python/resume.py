"""Resume an SSE stream across restarts of the program: nothing lost.

    python3 examples/python/resume.py [--state FILE] [--count N] URL

The id of the last event processed is kept in a state file (default
``./last-event-id``). At start the program reads it and connects with
``last_event_id=``, so the server sends what came after it (the stream
itself resumes with ``Last-Event-ID`` on every reconnection: the file is
for restarts of the process). After each event is processed, its id is
written to the file atomically (a temporary file, then ``os.replace``): a
crash leaves either the old id or the new one, never half of one.

With ``--count N`` the program stops by itself after N events; without,
it runs until Ctrl-C, which stops it cleanly. Try it twice against the
bundled demo server, whose endless ticker resumes after the id it is sent:

    ./target/release/sse-demo-server --port 8080 &
    python3 examples/python/resume.py --count 3 'http://127.0.0.1:8080/ticker?interval_ms=200'   # tick 1 to 3
    python3 examples/python/resume.py --count 3 'http://127.0.0.1:8080/ticker?interval_ms=200'   # tick 4 to 6

An event processed when the program dies before the id is written is
processed again at the next start (at least once): make processing
idempotent, or store the id in the same transaction as its effect.
"""

import argparse
import os
from typing import Optional

import libsse


def load(path: str) -> Optional[str]:
    """The last id saved, or None at the first start."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read() or None
    except FileNotFoundError:
        return None


def save(path: str, last_id: str) -> None:
    """Writes ``last_id`` to ``path`` atomically (an id has no line break)."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline="") as f:
        f.write(last_id)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def process(event: libsse.Event) -> None:
    print(event.data, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Follow an SSE stream, resuming after restarts.")
    parser.add_argument("url")
    parser.add_argument("--state", default="last-event-id", help="file holding the last event id")
    parser.add_argument("--count", type=int, default=None, help="stop after this many events")
    args = parser.parse_args()

    last_id = load(args.state)
    seen = 0
    with libsse.connect(args.url, last_event_id=last_id) as client:
        for event in client:
            process(event)
            # The id in force after this event (an empty one resets it).
            if event.id != last_id:
                save(args.state, event.id)
                last_id = event.id
            seen += 1
            if seen == args.count:
                break


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
