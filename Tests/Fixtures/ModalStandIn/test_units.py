"""Unit tests of the stand-in's small parts: tokens, fault rules, output buffers, image CMDs."""

import asyncio

import pytest

from faults import FaultBook, FaultSpecError
from output_buffer import OutputBuffer, utf8_prefix_length
from tokens import TokenIssuer, new_task_id, new_v1_sandbox_id, new_v2_sandbox_id
from world import image_cmd


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_tokens_verify_only_their_own_unexpired_kind():
    clock = FakeClock(1_000_000.0)
    issuer = TokenIssuer(clock)
    token = issuer.mint("router", "ta-1", ttl_secs=60)
    assert issuer.verify(token, "router")["sub"] == "ta-1"
    assert issuer.verify(token, "auth") is None
    assert TokenIssuer(clock).verify(token, "router") is None  # another key
    header, payload, signature = token.split(".")
    assert issuer.verify(f"{header}.{payload}x.{signature}", "router") is None
    clock.now += 60
    assert issuer.verify(token, "router") is None


def test_ids_have_the_shapes_the_client_routes_on():
    from modal.sandbox._common import _is_v1_sandbox_id
    from modal.sandbox._task_command_router_client import _is_v2_task_id

    assert _is_v1_sandbox_id(new_v1_sandbox_id())
    assert not _is_v1_sandbox_id(new_v2_sandbox_id())
    assert _is_v2_task_id(new_task_id(True))
    assert not any(_is_v2_task_id(new_task_id(False)) for _ in range(200))


def test_fault_rules_fire_in_order_and_run_out():
    book = FaultBook()
    book.add({"method": "Sandbox.*", "action": "unavailable", "count": 2})
    book.add({"method": "SandboxCreate", "action": "delay", "delay_ms": 5})
    assert book.take("AppGetOrCreate") is None
    assert book.take("SandboxCreateV2").action == "unavailable"  # fullmatch of the first live rule
    assert book.take("SandboxCreate").action == "unavailable"
    assert book.take("SandboxCreate").action == "delay"
    assert book.take("SandboxCreate") is None
    assert [(r["fired"], r["remaining"]) for r in book.describe()] == [(2, 0), (1, 0)]
    with pytest.raises(FaultSpecError):
        book.add({"method": "X", "action": "drop", "after_messages": -1})


def test_output_buffer_caps_and_serves_any_offset():
    async def run():
        buffer = OutputBuffer(cap_bytes=10)
        buffer.append(b"0123456")
        buffer.append(b"789abc")
        buffer.close()
        assert (buffer.size, buffer.dropped) == (10, 3)
        return [c async for c in buffer.read_from(4, 4)]

    assert asyncio.run(run()) == [b"4567", b"89"]


def test_output_buffer_readers_wait_for_data_until_eof():
    async def run():
        buffer = OutputBuffer(cap_bytes=100)
        got = []

        async def read():
            async for chunk in buffer.read_from(0, 100):
                got.append(chunk)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0)  # let the reader start and block: an event-loop turn, not a wait
        assert got == [] and not reader.done()
        buffer.append(b"a")
        buffer.close()
        await reader
        return got

    assert asyncio.run(run()) == [b"a"]


@pytest.mark.parametrize(
    "data, cut",
    [(b"abc", 3), ("é".encode(), 2), ("é".encode()[:1], 0), (b"a" + "✓".encode()[:2], 1), ("a✓".encode(), 4)],
)
def test_utf8_prefix_never_splits_a_character(data, cut):
    assert utf8_prefix_length(data) == cut


def test_image_cmd_takes_the_last_exec_form_cmd():
    assert image_cmd(["FROM x", 'CMD ["a"]', "RUN y", 'CMD ["sleep", "172800"]']) == ("sleep", "172800")
    assert image_cmd(["FROM x", "CMD sleep 1"]) is None
    assert image_cmd(["FROM x"]) is None
