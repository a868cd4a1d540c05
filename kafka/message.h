/*
 * What `tickd kafka` makes of a log record: which topic it goes to, with
 * which key, value, headers and timestamp.  Pure functions over caller
 * buffers (no librdkafka, no clock), so the routing and the bytes on the
 * wire are unit-tested.
 *
 *   ticks.N   trade      -> trades topic, key = symbol
 *             heartbeat  -> trades topic, every partition (the source's clock
 *                           travels in band: a consumer of a share of the
 *                           partitions still sees time pass, and the end)
 *             gap        -> gaps topic, key = the log's name
 *   bars.<tf>[.i]        -> <bars prefix><tf>, key = symbol
 *   signals[.i]          -> signals topic, key = symbol
 *
 * Headers, on every message: tickd.src ("<source>/<log>@<generation>": whose
 * sequence),
 * tickd.seq (the record's sequence in that log, decimal), and on the trades
 * topic tickd.clock (the log's stream clock before the record: the largest
 * event time of the records before it, ns) and tickd.ts (a trade's event
 * time in ns; the JSON has ms).  The Kafka timestamp is the event time, ms.
 */
#ifndef TK_KAFKA_MESSAGE_H
#define TK_KAFKA_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/json.h"

enum tkk_kind { TKK_TRADES = 0, TKK_GAPS, TKK_BARS, TKK_SIGNALS, TKK_KINDS };

/* What a log is, by its name: ticks.N, bars.<tf>[.i], signals[.i]; -1 otherwise. */
int tkk_log_kind(const char *log);

/* The bar log's timeframe name ("1m" of bars.1m.0) into out; 0 or -EINVAL. */
int tkk_bars_tf(const char *log, char *out, size_t cap);

enum tkk_format { TKK_FMT_TICKD = 0, TKK_FMT_FINNHUB };

/* Where a record goes. */
struct tkk_route {
	enum tkk_kind topic; /* for a bar log: its bars topic */
	bool all_partitions; /* a heartbeat: one copy on every partition */
	bool skip;           /* not published (a type no topic carries) */
};

/* The route of a record of type `type` in a log of kind `log_kind`. */
struct tkk_route tkk_route_of(int log_kind, uint32_t type);

/* Value of a record (seq, type, aux, data[len]) in `fmt`: the data contract's
 * JSON (tickd tail's line), or for trades with TKK_FMT_FINNHUB Finnhub's own
 * message ({"data":[{"s","p","t","v","c"}],"type":"trade"}; a heartbeat stays
 * {"type":"heartbeat",...}, which a reader of Finnhub's trades skips as it
 * skips Finnhub's pings).  b->overflow on no room. */
void tkk_value(struct tk_buf *b, enum tkk_format fmt, uint64_t seq, uint32_t type, uint32_t aux,
	       const void *data, size_t len, const char *symbol);

/* The record's event time, ns (INT64_MIN: none): what tickd.clock follows. */
int64_t tkk_event_ns(uint32_t type, const void *data, size_t len);

/* Kafka's timestamp of a record of event time event_ns (tkk_event_ns): in
 * ms, 0 (none: the producer's clock) when it has none. */
int64_t tkk_timestamp_ms(int64_t event_ns);

/* Java's murmur2 of the key (org.apache.kafka.common.utils.Utils.murmur2),
 * and the partition the Java producer's default partitioner gives it:
 * (murmur2 & 0x7fffffff) % partitions. */
int32_t tkk_murmur2(const void *key, size_t len);
int32_t tkk_partition_of(const void *key, size_t len, int32_t partitions);

/* "<source>/<log>@<generation, hex>" into out (the generation: the
 * segment's creation time, so that a new segment's sequences, which start
 * at 1 again, are never taken for an old one's); -ENAMETOOLONG if it does
 * not fit. */
int tkk_src_name(char *out, size_t cap, const char *source, const char *log, uint64_t generation);

/* A decimal header value (tickd.seq, tickd.clock) -> its number; -EINVAL on
 * anything but digits (a leading '-' for signed), or an overflow. */
int tkk_parse_u64(const void *v, size_t n, uint64_t *out);
int tkk_parse_i64(const void *v, size_t n, int64_t *out);

#endif
