package mskiceberg.streaming.format;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.UUID;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * How a schema registry frames an Avro value on a Kafka topic: which writer schema it names and
 * where the Avro binary starts. A value that is not framed so is refused with a reason, not
 * guessed at.
 */
enum WireFormat {

    /**
     * Confluent's wire format (also Apicurio's and Karapace's Confluent mode): magic byte 0, the
     * schema id as a 4-byte big-endian int, then the Avro binary.
     */
    CONFLUENT {
        @Override
        Framed unframe(byte[] value) throws BadFrame {
            if (value.length < 5) {
                throw new BadFrame("not the Confluent wire format: " + value.length
                        + " bytes, shorter than its 5-byte header");
            }
            if (value[0] != 0) {
                throw new BadFrame("not the Confluent wire format: first byte " + hex(value[0])
                        + ", expected the magic byte 0x00");
            }
            int id = ByteBuffer.wrap(value, 1, 4).getInt();
            return new Framed("schema id " + Integer.toUnsignedString(id), Integer.toUnsignedString(id), value, 5,
                    value.length - 5);
        }
    },

    /**
     * AWS Glue Schema Registry's wire format (its serde library's AWSSchemaRegistryConstants):
     * header version byte 3, compression byte (0 none, 5 zlib), the schema version id as a
     * 16-byte UUID (most then least significant 8 bytes, big-endian), then the Avro binary,
     * zlib-compressed when the compression byte says so.
     */
    GLUE {
        @Override
        Framed unframe(byte[] value) throws BadFrame {
            if (value.length < 18) {
                throw new BadFrame("not the Glue Schema Registry wire format: " + value.length
                        + " bytes, shorter than its 18-byte header");
            }
            if (value[0] != 3) {
                throw new BadFrame("not the Glue Schema Registry wire format: header version byte "
                        + hex(value[0]) + ", expected 0x03");
            }
            ByteBuffer buffer = ByteBuffer.wrap(value, 2, 16);
            String id = new UUID(buffer.getLong(), buffer.getLong()).toString();
            String name = "schema version " + id;
            if (value[1] == 0) {
                return new Framed(name, id, value, 18, value.length - 18);
            }
            if (value[1] != 5) {
                throw new BadFrame("not the Glue Schema Registry wire format: compression byte "
                        + hex(value[1]) + ", expected 0x00 (none) or 0x05 (zlib)");
            }
            byte[] inflated = inflate(value, 18);
            return new Framed(name, id, inflated, 0, inflated.length);
        }
    };

    /** The registry's key of the writer schema (for its lookup), a name for reasons, and the Avro bytes. */
    static final class Framed {
        final String name; // "schema id 42", "schema version <uuid>": how reasons name the writer schema
        final String key; // the registry's lookup key
        final byte[] bytes;
        final int offset;
        final int length;

        Framed(String name, String key, byte[] bytes, int offset, int length) {
            this.name = name;
            this.key = key;
            this.bytes = bytes;
            this.offset = offset;
            this.length = length;
        }
    }

    /** A value not in the wire format; its message is the dead-letter reason. */
    static final class BadFrame extends Exception {
        private static final long serialVersionUID = 1L;

        BadFrame(String reason) {
            super(reason, null, false, false);
        }
    }

    abstract Framed unframe(byte[] value) throws BadFrame;

    static WireFormat of(String registry) {
        return registry.equals("glue") ? GLUE : CONFLUENT;
    }

    private static String hex(byte b) {
        return String.format("0x%02x", b & 0xff);
    }

    private static byte[] inflate(byte[] value, int offset) throws BadFrame {
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(value, offset, value.length - offset);
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, 4 * (value.length - offset)));
            byte[] chunk = new byte[8192];
            while (!inflater.finished()) {
                int n = inflater.inflate(chunk);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new BadFrame("not the Glue Schema Registry wire format: its zlib data is cut short");
                }
                out.write(chunk, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new BadFrame("not the Glue Schema Registry wire format: its zlib data is broken (" + e.getMessage() + ")");
        } finally {
            inflater.end();
        }
    }
}
