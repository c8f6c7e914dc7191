"""Print the events of an SSE stream (asyncio).

    python3 examples/python/async_example.py [--once] [URL]

Without a URL it follows Wikimedia's public recent-changes stream, until
Ctrl-C. With ``--once`` the client does not reconnect (``max_retries=0``):
it ends with the stream, e.g. the demo server's finite ticker:

    ./target/release/sse-demo-server --port 8080 &
    python3 examples/python/async_example.py --once 'http://127.0.0.1:8080/ticker?count=5&interval_ms=200'

The
client waits on libsse's file descriptor with ``loop.add_reader``: no
thread is blocked per stream, so one loop can follow many streams.
"""

import asyncio
import logging
import sys

import libsse


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    args = sys.argv[1:]
    once = "--once" in args
    args = [a for a in args if a != "--once"]
    url = args[0] if args else "https://stream.wikimedia.org/v2/stream/recentchange"
    # max_retries=0: one-shot, the loop ends with the stream.
    async with libsse.connect_async(url, max_retries=0 if once else None) as client:
        async for event in client:
            print(event, flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
