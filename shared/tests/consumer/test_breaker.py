"""The circuit breaker, pure: examples for each rule, then Hypothesis against the rules as a whole."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from lovia_billing.consumer._breaker import (
    MAX_PROBE_WAIT_SECONDS,
    Breaker,
    BreakerPolicy,
    BreakerState,
    Signal,
)
from lovia_billing.consumer._outcome import Cause, Outcome, Verdict, signal_of

CLOSED, OPEN, PROBING = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.PROBING
S, R, U, N = Signal.SUCCESS, Signal.REFUSED, Signal.UNAVAILABLE, Signal.NONE
POLICY = BreakerPolicy(groups=3, window=60.0, probe_first=5.0, probe_cap=40.0)


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def breaker(policy: BreakerPolicy = POLICY) -> tuple[Breaker, Clock]:
    clock = Clock()
    return Breaker(policy, clock), clock


def opened() -> tuple[Breaker, Clock]:
    b, clock = breaker()
    for group in ("a", "b", "c"):
        b.record(group, U, error="DownstreamUnavailable: 503")
    assert b.state is OPEN
    return b, clock


# ---- closed: when it opens ---------------------------------------------------------------------


def test_opens_when_three_groups_fail_for_the_system_within_the_window() -> None:
    b, clock = breaker()
    assert b.record("a", U) is None
    clock.now += 10
    assert b.record("b", U) is None
    clock.now += 10
    moved = b.record("c", U, error="DownstreamTimeout: erpnext")
    assert moved is not None
    assert (moved.before, moved.after, moved.at) == (CLOSED, OPEN, clock.now)
    assert (b.opened_at, b.next_probe_at, b.last_error) == (
        clock.now,
        clock.now + 5.0,
        "DownstreamTimeout: erpnext",
    )


def test_one_group_failing_again_and_again_is_the_message_not_the_system() -> None:
    b, clock = breaker()
    for _ in range(100):
        b.record("only", U)
        clock.now += 1
    assert b.state is CLOSED
    assert b.failing_groups() == 1


def test_a_success_in_between_means_the_failures_were_the_messages() -> None:
    b, _ = breaker()
    b.record("a", U)
    b.record("b", U)
    b.record("x", S)
    assert b.record("c", U) is None
    assert b.state is CLOSED


def test_a_refusal_proves_the_downstream_answers_and_resets_too() -> None:
    b, _ = breaker()
    b.record("a", U)
    b.record("b", U)
    b.record("x", R)
    b.record("c", U)
    assert b.state is CLOSED


def test_failures_older_than_the_window_are_forgotten() -> None:
    b, clock = breaker()
    b.record("a", U)
    clock.now += 61
    b.record("b", U)
    b.record("c", U)
    assert b.state is CLOSED
    assert b.failing_groups() == 2


def test_outcomes_that_say_nothing_about_the_system_change_nothing() -> None:
    b, _ = breaker()
    b.record("a", U)
    b.record("b", U)
    b.record("x", N)
    b.record("c", U)
    assert b.state is OPEN


# ---- open: probes ------------------------------------------------------------------------------


def test_no_probe_before_it_is_due() -> None:
    b, clock = opened()
    clock.now += 4.9
    assert not b.probe_due()
    assert b.seconds_to_probe() == pytest.approx(0.1)
    with pytest.raises(RuntimeError):
        b.begin_probe()


def test_probe_intervals_double_up_to_the_cap() -> None:
    b, clock = opened()
    waits = []
    for _ in range(6):
        assert b.seconds_to_probe() is not None
        wait = b.seconds_to_probe() or 0.0
        waits.append(wait)
        clock.now += wait
        assert b.begin_probe().after is PROBING
        assert b.end_probe("a", U, error="ConnectError") is not None
    assert waits == [5.0, 10.0, 20.0, 40.0, 40.0, 40.0]
    assert b.probes == 6
    assert b.state is OPEN


def test_a_probe_that_gets_an_answer_closes_it() -> None:
    for answer in (S, R):
        b, clock = opened()
        clock.now += 5
        b.begin_probe()
        moved = b.end_probe("a", answer)
        assert moved is not None
        assert (moved.before, moved.after) == (PROBING, CLOSED)
        assert (b.opened_at, b.next_probe_at, b.probes, b.last_error) == (None, None, 0, None)


def test_a_probe_that_says_nothing_tries_again_after_the_same_interval() -> None:
    b, clock = opened()
    clock.now += 5
    b.begin_probe()
    b.end_probe("a", U)  # interval 10
    clock.now += 10
    b.begin_probe()
    b.end_probe("a", N)
    assert b.seconds_to_probe() == 10.0
    clock.now += 10
    b.begin_probe()
    b.no_probe()  # the queue was empty
    assert b.seconds_to_probe() == 10.0


def test_the_downstreams_own_wait_delays_the_next_probe() -> None:
    b, clock = breaker()
    b.record("a", U)
    b.record("b", U)
    b.record("c", U, wait=1800.0)  # Mautic: the hourly window resets in 30 min
    assert b.seconds_to_probe() == 1800.0
    clock.now += 1800
    b.begin_probe()
    b.end_probe("a", U, wait=10**10)  # a nonsense wait is capped
    assert b.seconds_to_probe() == MAX_PROBE_WAIT_SECONDS


def test_any_message_that_gets_an_answer_while_open_closes_it() -> None:
    b, _ = opened()
    moved = b.record("late", S)
    assert moved is not None
    assert (moved.before, moved.after) == (OPEN, CLOSED)


def test_stragglers_failing_while_open_do_not_move_the_probe() -> None:
    b, _ = opened()
    due = b.next_probe_at
    assert b.record("d", U, error="later error") is None
    assert (b.state, b.next_probe_at, b.last_error) == (OPEN, due, "later error")


def test_a_probe_ended_after_another_message_closed_it_counts_as_an_ordinary_outcome() -> None:
    b, clock = opened()
    clock.now += 5
    b.begin_probe()
    b.record("other", S)
    assert b.end_probe("a", U) is None
    assert b.state is CLOSED
    assert b.failing_groups() == 1


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="groups"):
        BreakerPolicy(groups=0)
    with pytest.raises(ValueError, match="positive"):
        BreakerPolicy(window=0)
    with pytest.raises(ValueError, match="probe_cap"):
        BreakerPolicy(probe_first=10, probe_cap=5)


# ---- outcomes → signals (the one place) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "signal"),
    [
        (Outcome(Verdict.DONE), S),
        (Outcome(Verdict.DUPLICATE), N),
        (Outcome(Verdict.HELD), N),
        (Outcome(Verdict.DEAD, Cause.REFUSED, error="ErpnextRejected: 417"), R),
        (Outcome(Verdict.DEAD, Cause.MESSAGE, error="unparseable message body"), N),
        (Outcome(Verdict.RETRY, Cause.SYSTEM, error="DownstreamTimeout"), U),
        (Outcome(Verdict.RETRY, Cause.MESSAGE, error="KeyError: 'x'"), N),
    ],
)
def test_each_outcome_says_what_it_says_about_the_system(outcome: Outcome, signal: Signal) -> None:
    assert signal_of(outcome) is signal


# ---- Hypothesis -------------------------------------------------------------------------------------

policies = st.builds(
    BreakerPolicy,
    groups=st.integers(1, 5),
    window=st.floats(1, 600),
    probe_first=st.floats(0.5, 30),
    probe_cap=st.floats(30, 900),
)
groups = st.sampled_from(["a", "b", "c", "d", "e", "f"])
signals = st.sampled_from(list(Signal))


class BreakerRules(RuleBasedStateMachine):
    """Any interleaving of outcomes, probes and time: the breaker keeps every rule of its docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.policy = POLICY
        self.breaker = Breaker(self.policy, self.clock)
        self.history: list[tuple[float, str, Signal]] = []  # ordinary outcomes since the last close
        self.failed_probes = 0  # unavailable probe ends in this open period
        self.scheduled_at = 0.0  # when the next probe was scheduled
        self.asked_wait = 0.0

    @rule(policy=policies)
    @precondition(lambda self: not self.history and self.breaker.closed)
    def new_policy(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.breaker = Breaker(policy, self.clock)

    @rule(seconds=st.floats(0, 120))
    def time_passes(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule(fraction=st.floats(0.5, 1.5))
    def about_a_window_passes(self, fraction: float) -> None:
        self.clock.now += self.policy.window * fraction

    @rule()
    @precondition(lambda self: self.breaker.state is OPEN)
    def until_the_probe_is_due(self) -> None:
        assert self.breaker.next_probe_at is not None
        self.clock.now = max(self.clock.now, self.breaker.next_probe_at)

    @rule(count=st.integers(1, 5), wait=st.none() | st.floats(0, 3600))
    def an_outage_hits_several_groups_at_once(self, count: int, wait: float | None) -> None:
        for index in range(count):
            self.outcome(f"burst{index}", U, wait)

    @rule(group=groups, signal=signals, wait=st.none() | st.floats(0, 3600))
    def outcome(self, group: str, signal: Signal, wait: float | None) -> None:
        was = self.breaker.state
        moved = self.breaker.record(group, signal, wait=wait)
        if was is CLOSED:
            self.history.append((self.clock.now, group, signal))
            should_open = self._groups_failing() >= self.policy.groups
            assert (moved is not None and moved.after is OPEN) == should_open
            if should_open:
                self._opened(wait)
        elif signal in (S, R):
            assert moved is not None
            assert moved.after is CLOSED
            self._closed()
        else:
            assert moved is None
            assert self.breaker.state is was

    @rule(signal=signals, wait=st.none() | st.floats(0, 3600))
    @precondition(lambda self: self.breaker.probe_due())
    def probe(self, signal: Signal, wait: float | None) -> None:
        assert self.clock.now >= self.scheduled_at + self._expected_delay()
        self.breaker.begin_probe()
        assert self.breaker.state is PROBING
        moved = self.breaker.end_probe("p", signal, wait=wait)
        assert moved is not None
        if signal in (S, R):
            assert moved.after is CLOSED
            self._closed()
            return
        assert moved.after is OPEN
        if signal is U:
            self.failed_probes += 1
        self.scheduled_at, self.asked_wait = self.clock.now, (wait or 0.0) if signal is U else 0.0

    @rule()
    @precondition(lambda self: self.breaker.probe_due())
    def probe_finds_nothing(self) -> None:
        self.breaker.begin_probe()
        self.breaker.no_probe()
        self.scheduled_at, self.asked_wait = self.clock.now, 0.0

    def _groups_failing(self) -> int:
        """From the history alone: groups unavailable within the window since the last answer."""
        since_answer: list[tuple[float, str, Signal]] = []
        for entry in self.history:
            if entry[2] in (S, R):
                since_answer.clear()
            else:
                since_answer.append(entry)
        horizon = self.clock.now - self.policy.window
        return len({g for at, g, s in since_answer if s is U and at >= horizon})

    def _opened(self, wait: float | None) -> None:
        self.history.clear()
        self.failed_probes = 0
        self.scheduled_at, self.asked_wait = self.clock.now, wait or 0.0

    def _closed(self) -> None:
        self.history.clear()
        self.failed_probes = 0

    def _interval(self) -> float:
        return min(self.policy.probe_cap, self.policy.probe_first * 2**self.failed_probes)

    def _expected_delay(self) -> float:
        return max(self._interval(), min(self.asked_wait, MAX_PROBE_WAIT_SECONDS))

    @invariant()
    def the_schedule_is_the_rule(self) -> None:
        b = self.breaker
        if b.state is CLOSED:
            assert (b.opened_at, b.next_probe_at, b.probes) == (None, None, 0)
            return
        assert b.state is OPEN  # probing never outlives a rule
        assert b.interval == pytest.approx(self._interval())
        assert self.policy.probe_first <= b.interval <= self.policy.probe_cap
        assert b.next_probe_at == pytest.approx(self.scheduled_at + self._expected_delay())


TestBreakerRules = BreakerRules.TestCase
TestBreakerRules.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)


@given(
    groups_seen=st.integers(1, 5),
    failures=st.lists(st.tuples(st.integers(0, 10), st.floats(0, 30)), min_size=1, max_size=200),
)
def test_fewer_groups_than_the_threshold_never_open_it(
    groups_seen: int, failures: list[tuple[int, float]]
) -> None:
    policy = BreakerPolicy(groups=groups_seen + 1, window=600)
    b, clock = breaker(policy)
    for group, pause in failures:
        clock.now += pause
        b.record(f"g{group % groups_seen}", U)
    assert b.state is CLOSED


@given(
    first=st.floats(0.5, 30),
    cap=st.floats(30, 900),
    outage=st.floats(0, 7 * 24 * 3600),
)
def test_probes_grow_with_the_log_then_the_cap_of_an_outage_not_with_its_length(
    first: float, cap: float, outage: float
) -> None:
    """Every probe fails until the downstream returns: at most log2(cap/first) + 1 + outage/cap probes.

    Each probe tries the same message in hand, so the outage costs it no receive either way; this
    bounds the downstream calls an open breaker makes.
    """
    b, clock = breaker(BreakerPolicy(groups=1, probe_first=first, probe_cap=cap))
    b.record("a", U)
    end = clock.now + outage
    while (due := b.next_probe_at) is not None and due <= end:
        clock.now = due
        b.begin_probe()
        b.end_probe("a", U)
    assert b.probes <= math.ceil(math.log2(cap / first)) + 1 + outage / cap
