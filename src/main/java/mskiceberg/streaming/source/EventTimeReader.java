package mskiceberg.streaming.source;

import mskiceberg.streaming.format.DecoderSettings;
import mskiceberg.streaming.format.RecordDecoder;
import mskiceberg.streaming.format.RegistryAvroDecoder;
import mskiceberg.streaming.format.StrictJsonDecoder;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.utils.LogicalTypeParser;

import java.time.Instant;
import java.util.Collections;
import java.util.OptionalLong;

/**
 * The event time of one record of a peer topic, read exactly as the job's own decoder reads it
 * (the strict-json rules, or an Avro topic's writer schema from its registry); a record without a
 * valid event time has none, nor has one whose schema the registry cannot give now (the probe
 * then knows less, and an idle partition holds the watermark a little longer: never too far).
 */
final class EventTimeReader {

    private static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");
    private static final Instant LATEST = Instant.parse("9999-01-01T00:00:00Z");

    private final RecordDecoder decoder;
    private final int eventTimePos;
    private final int reasonPos;

    EventTimeReader(IdleSettings.Peer peer) {
        LogicalType fieldType = LogicalTypeParser.parse(peer.type, EventTimeReader.class.getClassLoader());
        RowType rowType = RowType.of(
                new LogicalType[] {fieldType, new LocalZonedTimestampType(3), new VarCharType(VarCharType.MAX_LENGTH)},
                new String[] {peer.field, RecordDecoder.EVENT_TIME_COLUMN, RecordDecoder.REASON_COLUMN});
        DecoderSettings settings = new DecoderSettings(
                peer.field, EARLIEST, LATEST, Collections.emptyList(), Integer.MAX_VALUE, peer.topic);
        decoder = peer.registry == null
                ? new StrictJsonDecoder(rowType, settings, null)
                : new RegistryAvroDecoder(rowType, settings, peer.registry, null);
        eventTimePos = 1;
        reasonPos = 2;
    }

    OptionalLong eventTimeMillis(byte[] value) {
        if (value == null) {
            return OptionalLong.empty();
        }
        RowData row;
        try {
            row = decoder.deserialize(value);
        } catch (RuntimeException registryDown) { // RegistryAvroDecoder.RegistryUnavailable: not known now
            return OptionalLong.empty();
        }
        if (row == null || !row.isNullAt(reasonPos) || row.isNullAt(eventTimePos)) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(row.getTimestamp(eventTimePos, 3).getMillisecond());
    }

}
