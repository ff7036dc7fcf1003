"""The seed's own peer for bench/client_bench.ts: aiohttp with a semaphore
and asyncio.gather, the way the seed fetches many URLs at once.

Usage: python3 client_aiohttp.py <url> <requests> <concurrency> <warmup>

Prints one line: RESULT {"ms": ..., "cpuMs": ..., "rssMiB": ...} for the
measured requests (after the warmup ones), with the CPU time of this process
and its peak resident memory (getrusage's maxrss, like the Deno contenders).
"""

import asyncio
import json
import resource
import sys
import time

import aiohttp


async def run(session, url, count, concurrency):
    semaphore = asyncio.Semaphore(concurrency)

    async def fetch():
        async with semaphore:
            async with session.get(url) as response:
                response.raise_for_status()
                await response.text()

    await asyncio.gather(*[fetch() for _ in range(count)])


async def main():
    url = sys.argv[1]
    count, concurrency, warmup = (int(arg) for arg in sys.argv[2:5])
    # The default connector already allows 100 connections; size it to the
    # concurrency like the Deno contenders' pools.
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await run(session, url, warmup, concurrency)
        cpu = time.process_time()
        start = time.perf_counter()
        await run(session, url, count, concurrency)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"ms": elapsed * 1000, "cpuMs": cpu * 1000, "rssMiB": rss_kib / 1024}
    print("RESULT " + json.dumps(result), flush=True)


asyncio.run(main())
