"""What holds a window, in words: the status's verdicts from the source gauges (no Flink needed)."""

from common.ops.event_time_status import WATERMARK_UNSET, TopicEventTime, explain, topic_event_time

IDLE = 30_000


def topic(name: str, watermark: int | None, idle: int, quiet_ms: int | None, released: bool = False) -> TopicEventTime:
    return TopicEventTime(
        name, watermark, partitions=4, idle_partitions=idle, quiet_ms=quiet_ms, released=released, idle_timeout_ms=IDLE
    )


def test_the_topic_is_the_one_with_the_lowest_watermark_over_its_reading_subtasks():
    t = topic_event_time(
        "bids",
        IDLE,
        [
            {"partitions": 2, "idlePartitions": 1, "quietMs": 40_000, "released": 0, "currentOutputWatermark": 500},
            {"partitions": 2, "idlePartitions": 2, "quietMs": 41_000, "released": 0, "currentOutputWatermark": 300},
            {"partitions": 0, "idlePartitions": 0, "quietMs": 41_000, "released": 0, "currentOutputWatermark": 100},
        ],
    )
    assert (t.watermark_ms, t.partitions, t.idle_partitions, t.quiet_ms, t.released) == (300, 4, 3, 40_000, False)
    assert not t.quiet  # one partition still has something to read
    unset = topic_event_time("bids", IDLE, [{"partitions": 1, "currentOutputWatermark": WATERMARK_UNSET}])
    assert unset.watermark_ms is None and unset.quiet_ms is None


def test_a_quiet_topic_is_named_as_what_the_windows_wait_for():
    topics = {"bids": topic("bids", 2_000, 0, 100), "users": topic("users", 1_000, 4, 240_000)}
    wait = explain("session_analytics", 1_000, ["bids", "users"], topics, {"bids": 0, "users": 0})
    assert wait.held_by == "users"
    assert wait.reason == (
        "session_analytics waits for users: nothing written for 4.0 min; its windows close when "
        "users resumes or the job is drained (event_time.release_after releases it)"
    )


def test_unread_records_say_the_job_is_behind_not_that_the_topic_is_quiet():
    topics = {"bids": topic("bids", 1_000, 0, 100)}
    wait = explain("bid_events_aggregated", 1_000, ["bids"], topics, {"bids": 12_345})
    assert (
        wait.reason == "bid_events_aggregated waits for bids: 12,345 records not yet read (the job is behind or stuck)"
    )


def test_a_topic_quiet_for_less_than_the_idle_timeout_is_still_reading():
    topics = {"bids": topic("bids", 1_000, 4, IDLE - 1)}
    assert explain("p", 1_000, ["bids"], topics, {}).reason == "p follows bids (reading, 4 of 4 partitions idle)"


def test_a_released_topic_and_a_topic_without_event_time():
    released = {"users": topic("users", 1_000, 4, 900_000, released=True)}
    assert explain("s", 1_000, ["users"], released, {}).reason == (
        "s follows the other topics: users is released (nothing written for 15.0 min)"
    )
    assert explain("s", None, ["users"], {"users": topic("users", None, 0, 10)}, {}).reason == (
        "s waits for users: no watermark yet (no valid record read)"
    )
    assert explain("s", None, ["other"], released, {}).reason == "its sources report no event time yet"
