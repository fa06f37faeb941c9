"""A local SMTP sink (aiosmtpd) for the benchmarks: accepts every message and counts them.

Run as its own process; every 0.1 s it writes its counts to a JSON file: messages and SMTP connections in
all, and per recipient domain the number of messages with the time of the first and the last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.connections = 0
        self.domains: dict[str, dict[str, float]] = {}

    def snapshot(self) -> dict[str, Any]:
        return {"messages": self.messages, "connections": self.connections, "domains": self.domains,
                "at": time.time()}


class Handler:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.counter.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        self.counter.messages += 1
        for address in envelope.rcpt_tos:
            domain = address.rpartition("@")[2].lower()
            entry = self.counter.domains.setdefault(domain, {"messages": 0, "first": now, "last": now})
            entry["messages"] += 1
            entry["last"] = now
        return "250 Message accepted for delivery"


async def main(port: int, status: Path) -> None:
    counter = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(counter), hostname="sink.localhost"),
                                      host="127.0.0.1", port=port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tmp = status.with_suffix(".tmp")
    while not stop.is_set():
        tmp.write_text(json.dumps(counter.snapshot()))
        os.replace(tmp, status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--status", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.status))
