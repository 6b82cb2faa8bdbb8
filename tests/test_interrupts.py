"""A Ctrl-C that Python swallows (it landed in a __del__ or a callback from C++) is not lost."""

from __future__ import annotations

import signal

import pytest

from zazu.interrupts import catching_interrupts, interrupt_callback, raise_if_interrupted


class _SwallowsInDel:
    def __del__(self):
        try:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # what the interpreter calls on Ctrl-C
        except KeyboardInterrupt:
            pass


def test_a_swallowed_interrupt_is_raised_at_the_next_check():
    with catching_interrupts():
        raise_if_interrupted()  # nothing yet
        _SwallowsInDel()  # created and collected at once: the interrupt is swallowed inside __del__
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    raise_if_interrupted()  # the record ends with the block


def test_the_training_callback_raises_it_at_the_next_batch_end():
    callback = interrupt_callback()
    with catching_interrupts():
        callback.on_train_batch_end(0)
        _SwallowsInDel()
        with pytest.raises(KeyboardInterrupt):
            callback.on_train_batch_end(1)


def test_the_previous_handler_comes_back():
    before = signal.getsignal(signal.SIGINT)
    with catching_interrupts():
        pass
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_is_recorded_too_and_raised_as_terminated():
    from zazu.interrupts import Terminated, exit_code

    before = signal.getsignal(signal.SIGTERM)
    with catching_interrupts():
        try:
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)  # swallowed, as in a __del__
        except KeyboardInterrupt:
            pass
        with pytest.raises(Terminated) as stopped:
            raise_if_interrupted()
    assert exit_code(stopped.value) == 143 and exit_code(KeyboardInterrupt()) == 130
    assert signal.getsignal(signal.SIGTERM) is before
