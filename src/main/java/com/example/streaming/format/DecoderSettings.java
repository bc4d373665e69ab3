package com.example.streaming.format;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/** What the decoder needs beyond the row type: event time, its valid range, required fields, size limit. */
public final class DecoderSettings implements Serializable {

    private static final long serialVersionUID = 1L;

    final String eventTimeField;
    final long validFromMillis;
    final long validUntilMillis;
    final String validFromText;
    final String validUntilText;
    final List<String> requiredFields;
    final int maxBytes;

    public DecoderSettings(
            String eventTimeField,
            long validFromMillis,
            long validUntilMillis,
            String validFromText,
            String validUntilText,
            List<String> requiredFields,
            int maxBytes) {
        this.eventTimeField = eventTimeField;
        this.validFromMillis = validFromMillis;
        this.validUntilMillis = validUntilMillis;
        this.validFromText = validFromText;
        this.validUntilText = validUntilText;
        this.requiredFields = new ArrayList<>(requiredFields);
        this.maxBytes = maxBytes;
    }
}
