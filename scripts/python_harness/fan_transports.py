"""The Python worker pools of fanout and fanin: each is made by the controller before the fork
(the OS objects), then each child opens its part. As transports.py, for a hub and W workers."""
from typing import TYPE_CHECKING, List, Optional

from .fan_workloads import (FANOUT, chunksize_for, pool_fanin_consumer, pool_fanout_producer,
                            queue_fanin_consumer, queue_fanin_producer, queue_fanout_consumer,
                            queue_fanout_producer)
from .payload import PayloadPool
from .workloads import Role

if TYPE_CHECKING:
    from .settings import Settings


class FanTransport:
    """A way for one hub and W workers to move a run's messages.

    __init__ runs in the controller before the fork; roles() says which processes the
    controller forks (the hub first, in board slot order); open(slot) runs in each of them and
    returns what its role's body takes; close() drops the controller's copies once every child
    exists; slot_names() names every board slot, those of workers that are not the
    controller's children included.
    """

    id = ""
    summary = ""  # what it is, for --list

    @classmethod
    def cannot_carry(cls, message_size: int) -> Optional[str]:
        if message_size < PayloadPool.STAMP_SIZE:
            return (f"fanout and fanin need messages of at least {PayloadPool.STAMP_SIZE} bytes: "
                    "a worker learns which message it holds from its sequence number")
        return None

    @classmethod
    def unavailable(cls, settings: "Settings") -> Optional[str]:
        return None

    @classmethod
    def cannot_run(cls, workload: str) -> Optional[str]:
        return None

    def __init__(self, ctx, pool: PayloadPool, workload: str, workers: int, count: int):
        self.workload = workload
        self.workers = workers

    def label(self) -> str:
        raise NotImplementedError

    def roles(self) -> List[Role]:
        raise NotImplementedError

    def slot_names(self) -> List[str]:
        return [role.name for role in self.roles()]

    def open(self, slot: int):
        raise NotImplementedError

    def close(self) -> None:
        pass


class QueueFan(FanTransport):
    id = "py_queue"
    summary = "one multiprocessing.Queue shared by the hub and W worker processes"

    def __init__(self, ctx, pool: PayloadPool, workload: str, workers: int, count: int):
        super().__init__(ctx, pool, workload, workers, count)
        self._data = ctx.Queue()
        self._acks = ctx.Queue() if workload == FANOUT else None  # the consumers' counts

    def label(self) -> str:
        if self.workload == FANOUT:
            return (f"one multiprocessing.Queue: the producer put()s every message, then one "
                    f"None per consumer; {self.workers} consumer processes get() until their "
                    f"None, then put() their count on a second Queue")
        return (f"one multiprocessing.Queue: {self.workers} producer processes put() their share "
                f"(every {self.workers}th message), then None; the consumer get()s until "
                f"{self.workers} Nones")

    def roles(self) -> List[Role]:
        if self.workload == FANOUT:
            return ([Role("producer", queue_fanout_producer)]
                    + [Role(f"consumer {i}", queue_fanout_consumer)
                       for i in range(1, self.workers + 1)])
        return ([Role("consumer", queue_fanin_consumer)]
                + [Role(f"producer {i}", queue_fanin_producer) for i in range(1, self.workers + 1)])

    def open(self, slot: int):
        # A Queue carries both of its pipe's ends in every process; there is nothing to drop.
        return self._data, self._acks

    def close(self) -> None:
        for queue in (self._data, self._acks):
            if queue is not None:
                queue.close()


class PoolFan(FanTransport):
    """multiprocessing.Pool(W) as a program uses one: the hub makes it and streams through
    imap_unordered. fanout: the tasks are the messages, the workers check them and return their
    sequence numbers. fanin: the tasks are sequence numbers, the workers make the messages and
    return them: every result crosses the Pool's one result pipe to the hub, which checks it."""

    id = "py_pool"
    summary = ("multiprocessing.Pool(W).imap_unordered, for fanout (the messages are the tasks) "
               "and fanin (the messages are the results) only")

    def __init__(self, ctx, pool: PayloadPool, workload: str, workers: int, count: int):
        super().__init__(ctx, pool, workload, workers, count)
        self.chunksize = chunksize_for(pool.message_size, count, workers)

    def label(self) -> str:
        if self.workload == FANOUT:
            return (f"multiprocessing.Pool({self.workers}).imap_unordered(check, messages, "
                    f"chunksize={self.chunksize}): the messages (bytes) are the tasks, each "
                    f"worker checks its messages and returns their sequence numbers")
        return (f"multiprocessing.Pool({self.workers}).imap_unordered(make, range(count), "
                f"chunksize={self.chunksize}): each worker makes the messages it is asked for "
                f"and returns them (bytes) as its results")

    def roles(self) -> List[Role]:
        hub = pool_fanout_producer if self.workload == FANOUT else pool_fanin_consumer
        return [Role("producer" if self.workload == FANOUT else "consumer", hub)]

    def slot_names(self) -> List[str]:
        return [self.roles()[0].name] + [f"pool worker {i}" for i in range(1, self.workers + 1)]

    def open(self, slot: int):
        return self.chunksize
