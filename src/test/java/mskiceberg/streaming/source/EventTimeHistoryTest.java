package mskiceberg.streaming.source;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EventTimeHistoryTest {

    @Test
    void answersWithTheNewestEventTimeReadByThen() {
        EventTimeHistory history = new EventTimeHistory();
        history.add(100, 5_000, 1_000_000);
        history.add(200, 7_000, 1_000_000);
        history.add(300, 6_000, 1_000_000); // older than the newest: the history does not go back
        assertEquals(OptionalLong.empty(), history.at(99));
        assertEquals(OptionalLong.of(5_000), history.at(100));
        assertEquals(OptionalLong.of(5_000), history.at(199));
        assertEquals(OptionalLong.of(7_000), history.at(10_000));
    }

    @Test
    void oldMarksGoButTheNewestOldOneStillAnswers() {
        EventTimeHistory history = new EventTimeHistory();
        history.add(0, 1, 100);
        history.add(10, 2, 100);
        history.add(500, 3, 100);
        assertEquals(OptionalLong.of(2), history.at(400)); // 10 kept: the newest mark older than the retention
        assertEquals(OptionalLong.empty(), history.at(5)); // 0 dropped
    }

    @Test
    void eventTimeIsReadAsTheJobsDecoderReadsIt() {
        EventTimeReader millis = new EventTimeReader(new IdleSettings.Peer("t", "timestamp_ms", "BIGINT"));
        assertEquals(OptionalLong.of(1_772_400_000_123L),
                millis.eventTimeMillis(bytes("{\"user_id\":7,\"timestamp_ms\":1772400000123,\"x\":[1]}")));
        assertEquals(OptionalLong.empty(), millis.eventTimeMillis(bytes("{\"timestamp_ms\":\"soon\"}")));
        assertEquals(OptionalLong.empty(), millis.eventTimeMillis(bytes("not json")));
        assertEquals(OptionalLong.empty(), millis.eventTimeMillis(null));
        EventTimeReader text = new EventTimeReader(new IdleSettings.Peer("t", "at", "TIMESTAMP_LTZ(3)"));
        assertEquals(OptionalLong.of(1_772_400_000_000L), text.eventTimeMillis(bytes("{\"at\":\"2026-03-01T21:20:00Z\"}")));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
