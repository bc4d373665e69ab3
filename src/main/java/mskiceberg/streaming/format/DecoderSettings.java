package mskiceberg.streaming.format;

import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the decoder needs beyond the row type: event time, its valid range, required fields, size
 * limit, and the topic its metrics are labelled with.
 */
public final class DecoderSettings implements Serializable {

    private static final long serialVersionUID = 1L;

    final String eventTimeField;
    final Instant validFrom; // event times before it are dead letters
    final Instant validUntil; // event times at or after it are dead letters
    final List<String> requiredFields;
    final int maxBytes;
    final String topic; // the "topic" label of the good / dead record counters

    public DecoderSettings(
            String eventTimeField, Instant validFrom, Instant validUntil, List<String> requiredFields, int maxBytes,
            String topic) {
        this.eventTimeField = eventTimeField;
        this.validFrom = validFrom;
        this.validUntil = validUntil;
        this.requiredFields = new ArrayList<>(requiredFields);
        this.maxBytes = maxBytes;
        this.topic = topic;
    }
}
