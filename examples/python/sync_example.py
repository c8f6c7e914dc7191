"""Print the events of an SSE stream (synchronous).

    python3 examples/python/sync_example.py [--once] [URL]

Without a URL it follows Wikimedia's public recent-changes stream, until
Ctrl-C stops it cleanly (the stream is closed by the ``with`` block).
With ``--once`` the client does not reconnect (``max_retries=0``): it ends
with the stream. Try it against the bundled demo server, whose ticker
sends five events and ends:

    ./target/release/sse-demo-server --port 8080 &
    python3 examples/python/sync_example.py --once 'http://127.0.0.1:8080/ticker?count=5&interval_ms=200'

Without ``--once`` it reconnects after the fifth event (sending
Last-Event-ID: 5) and waits for more, as EventSource does.
"""

import logging
import sys

import libsse


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    args = sys.argv[1:]
    once = "--once" in args
    args = [a for a in args if a != "--once"]
    url = args[0] if args else "https://stream.wikimedia.org/v2/stream/recentchange"
    # max_retries=0: one-shot, the loop ends with the stream.
    with libsse.connect(url, max_retries=0 if once else None) as client:
        for event in client:
            print(event, flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
