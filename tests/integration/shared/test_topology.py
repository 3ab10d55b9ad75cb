"""Declaring the topology is idempotent, also when several processes do it at once."""

import subprocess
import sys

from kombu import Connection

from switchboard_shared.topology import DELAYS_SECONDS, WORK_QUEUES, declare_topology, delay_name

DECLARE = (
    "import sys; from kombu import Connection; "
    "from switchboard_shared.topology import declare_topology; "
    "c = Connection(sys.argv[1]); declare_topology(c); c.release()"
)


def test_declaring_twice_succeeds(amqp_url, broker):
    with Connection(amqp_url) as connection:
        declare_topology(connection)
        declare_topology(connection)
    for queue in WORK_QUEUES:
        assert broker.depth(queue.name) == 0
        assert broker.depth(queue.dead_letter_queue) == 0
    for seconds in DELAYS_SECONDS:
        assert broker.depth(delay_name(seconds)) == 0


def test_several_processes_declaring_at_once_all_succeed(amqp_url, broker):
    processes = [
        subprocess.Popen([sys.executable, "-c", DECLARE, amqp_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()
