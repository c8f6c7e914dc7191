"""Print the events of an SSE stream (asyncio).

    python3 examples/python/async_example.py [URL]

Without a URL it follows Wikimedia's public recent-changes stream. The
client waits on libsse's file descriptor with ``loop.add_reader``: no
thread is blocked per stream, so one loop can follow many streams.
"""

import asyncio
import logging
import sys

import libsse


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    url = sys.argv[1] if len(sys.argv) > 1 else "https://stream.wikimedia.org/v2/stream/recentchange"
    async with libsse.connect_async(url) as client:
        async for event in client:
            print(event)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
