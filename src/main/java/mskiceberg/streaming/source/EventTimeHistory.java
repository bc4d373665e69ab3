package mskiceberg.streaming.source;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.OptionalLong;

/**
 * The newest event time seen in the logs, as it grew over (monotonic) time: so a reader can ask
 * "how far had event time got by then?", not only "how far has it got now?".
 */
final class EventTimeHistory {

    private final ArrayDeque<long[]> marks = new ArrayDeque<>(); // {nanos, newest event time}, both ascending

    synchronized void add(long nanos, long eventTime, long retainNanos) {
        long[] last = marks.peekLast();
        if (last != null && eventTime <= last[1]) {
            return; // not newer: the history only keeps the times at which it grew
        }
        marks.addLast(new long[] {nanos, eventTime});
        // drop marks older than retainNanos, but keep the newest of them: it still answers at()
        while (marks.size() > 1) {
            Iterator<long[]> it = marks.iterator();
            it.next();
            long[] second = it.next();
            if (nanos - second[0] > retainNanos) {
                marks.removeFirst();
            } else {
                break;
            }
        }
    }

    /** The newest event time seen by a read that ended at or before nanos. */
    synchronized OptionalLong at(long nanos) {
        Iterator<long[]> it = marks.descendingIterator();
        while (it.hasNext()) {
            long[] mark = it.next();
            if (mark[0] <= nanos) {
                return OptionalLong.of(mark[1]);
            }
        }
        return OptionalLong.empty();
    }
}
