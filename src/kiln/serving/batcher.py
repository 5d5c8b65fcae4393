"""Dynamic micro-batching: concurrent requests share one model call.

Requests queue their encoded rows; one worker takes whatever is queued, waits at most
``max_wait_ms`` for more while under ``max_batch_size`` rows, runs the model once in a
worker thread (the event loop keeps accepting requests meanwhile), and hands each request
its slice of the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


@dataclass
class _Job:
    inputs: list[np.ndarray]
    future: asyncio.Future

    @property
    def rows(self) -> int:
        return len(self.inputs[0])


class MicroBatcher:
    def __init__(
        self,
        run: Callable[[list[np.ndarray]], np.ndarray],
        executor: ThreadPoolExecutor,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.run = run
        self.executor = executor
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._carry: _Job | None = None
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Finish every queued request, then end the worker."""
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None

    async def submit(self, inputs: list[np.ndarray]) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(inputs, future))
        return await future

    async def _next(self, timeout: float) -> _Job | None | bool:
        """The next job, None for stop, False when nothing came within ``timeout``."""
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            if timeout <= 0:
                return False
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return False

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping or self._carry is not None:
            first = self._carry or await self._queue.get()
            self._carry = None
            if first is None:
                break
            jobs, rows = [first], first.rows
            deadline = loop.time() + self.max_wait
            while rows < self.max_batch_size:
                job = await self._next(deadline - loop.time())
                if job is False:
                    break
                if job is None:
                    stopping = True
                    break
                if rows + job.rows > self.max_batch_size:
                    self._carry = job
                    break
                jobs.append(job)
                rows += job.rows
            await self._run(jobs, rows)

    async def _run(self, jobs: list[_Job], rows: int) -> None:
        n_inputs = len(jobs[0].inputs)
        if len(jobs) == 1:
            inputs = jobs[0].inputs
        else:
            inputs = [np.concatenate([j.inputs[k] for j in jobs]) for k in range(n_inputs)]
        try:
            out = await asyncio.get_running_loop().run_in_executor(self.executor, self.run, inputs)
        except Exception as err:  # the model failed: every request of the batch gets the error
            for j in jobs:
                if not j.future.done():
                    j.future.set_exception(err)
            return
        if self.on_batch is not None:
            self.on_batch(rows)
        start = 0
        for j in jobs:
            if not j.future.done():
                j.future.set_result(out[start : start + j.rows])
            start += j.rows
