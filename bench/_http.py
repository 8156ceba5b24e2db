"""A minimal keep-alive HTTP/1.1 load client on raw asyncio streams.

httpx measured ~180 requests/s against a trivial endpoint on this machine (the client was the
bottleneck), so the benchmarks use this instead: N connections, each sending its share in turn.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit


async def _request(reader, writer, host: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1])


async def post_all(
    url: str, requests: list[tuple[bytes, dict[str, str]]], connections: int = 20, seconds: float = 3600
) -> tuple[float, list[float], list[int]]:
    """POST (body, headers) in order over `connections` keep-alive connections until all are sent or
    `seconds` have passed (requests in flight then still complete); (seconds, latencies, statuses)."""
    parts = urlsplit(url)
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: list[int] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while queue and time.perf_counter() < deadline:
                body, headers = queue.pop()
                start = time.perf_counter()
                statuses.append(await _request(reader, writer, parts.netloc, parts.path, body, headers))
                latencies.append(time.perf_counter() - start)
        finally:
            writer.close()

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - started, latencies, statuses
