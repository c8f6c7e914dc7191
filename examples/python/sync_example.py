"""Print the events of an SSE stream (synchronous).

    python3 examples/python/sync_example.py [URL]

Without a URL it follows Wikimedia's public recent-changes stream. Try it
against the bundled demo server too:

    ./target/release/sse-demo-server --port 8080 &
    python3 examples/python/sync_example.py 'http://127.0.0.1:8080/ticker?count=5&interval_ms=200'

Ctrl-C stops it cleanly (the stream is closed by the ``with`` block).
"""

import logging
import sys

import libsse


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    url = sys.argv[1] if len(sys.argv) > 1 else "https://stream.wikimedia.org/v2/stream/recentchange"
    with libsse.connect(url) as client:
        for event in client:
            print(event)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
