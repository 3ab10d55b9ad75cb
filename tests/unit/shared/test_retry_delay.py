from datetime import UTC, datetime, timedelta

from switchboard_shared.consumer import choose_delay


def test_the_ladder_climbs_and_stays_at_the_top():
    assert [choose_delay(a) for a in (1, 2, 3, 4, 5, 9)] == [1, 10, 60, 600, 600, 600]


def test_a_reset_time_picks_the_shortest_delay_that_honours_it():
    now = datetime.now(UTC)
    assert choose_delay(1, now + timedelta(seconds=5)) == 10
    assert choose_delay(3, now + timedelta(seconds=5)) == 10
    assert choose_delay(1, now - timedelta(seconds=5)) == 1
    assert choose_delay(1, now + timedelta(hours=2)) == 600
