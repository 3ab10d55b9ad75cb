"""The test harness's own view of RabbitMQ: vhosts, queue depths, broker stop/start (pika)."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from urllib.parse import quote

import pika
import pika.exceptions

from switchboard_shared.topology import DELAYS_SECONDS, REJECTED_QUEUE, WORK_QUEUES, delay_name
from tests.support.waiting import wait_for

HOST = "127.0.0.1"


def rabbitmqctl(*args: str, timeout: float = 120) -> str:
    """Run rabbitmqctl and return its output; fail loudly with what it said."""
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def create_vhost() -> tuple[str, str]:
    """Create a throwaway vhost for this test run; return (name, amqp URL)."""
    name = f"sb-test-{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return name, f"amqp://guest:guest@{HOST}:5672/{quote(name, safe='')}"


def delete_vhost(name: str) -> None:
    """Delete a test vhost and everything in it."""
    rabbitmqctl("delete_vhost", name)


def all_queue_names() -> list[str]:
    """Every queue the topology declares."""
    names = [q.name for q in WORK_QUEUES] + [q.dead_letter_queue for q in WORK_QUEUES]
    return [*names, *(delay_name(s) for s in DELAYS_SECONDS), REJECTED_QUEUE]


class BrokerProbe:
    """Inspect and manipulate queues in one vhost with pika, independently of kombu."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: pika.BlockingConnection | None = None

    def _channel(self):
        if self._connection is not None:
            try:
                return self._connection.channel()
            except pika.exceptions.AMQPError:
                self.close()  # lost, e.g. across a broker restart: reconnect
        self._connection = pika.BlockingConnection(pika.URLParameters(self.url))
        return self._connection.channel()

    def close(self) -> None:
        """Close the probe's connection (quietly, if it is already broken)."""
        if self._connection is not None and self._connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                self._connection.close()
        self._connection = None

    def depth(self, queue: str) -> int:
        """Messages ready in `queue`."""
        channel = self._channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        finally:
            channel.close()

    def purge_all(self) -> None:
        """Empty every topology queue that exists."""
        for name in all_queue_names():
            channel = self._channel()
            try:
                channel.queue_purge(name)
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass  # not declared yet in this vhost

    def take_all(self, queue: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
        """Remove and return every message in `queue`."""
        channel = self._channel()
        taken = []
        try:
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return taken
                taken.append((properties, body))
        finally:
            channel.close()

    def wait_depth(self, queue: str, expected: int, timeout: float = 15) -> None:
        """Wait until `queue` holds exactly `expected` ready messages."""
        wait_for(
            lambda: self.depth(queue) == expected,
            timeout,
            message=f"{queue} to hold {expected} messages",
        )


def stop_broker() -> None:
    """Stop the RabbitMQ application (the Erlang node keeps running)."""
    rabbitmqctl("stop_app")


def start_broker() -> None:
    """Start the RabbitMQ application and wait until it accepts connections."""
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup", timeout=180)

    def accepts() -> bool:
        try:
            pika.BlockingConnection(pika.ConnectionParameters(HOST)).close()
            return True
        except pika.exceptions.AMQPError:
            return False

    wait_for(accepts, timeout=60, interval=0.2, message="RabbitMQ to accept connections")
