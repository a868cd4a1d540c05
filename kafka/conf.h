/*
 * librdkafka settings, one way for the publisher, its read-back consumer and
 * the Kafka source: each setting checked, a refusal an error naming it.
 */
#ifndef TK_KAFKA_CONF_H
#define TK_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* name=value into conf; 0, or -EINVAL with librdkafka's reason (tk_err_msg). */
int tkk_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value);

/* Each "NAME=VALUE" of props[n] (--property) into conf; 0 or -EINVAL. */
int tkk_conf_apply(rd_kafka_conf_t *conf, const char *const *props, uint32_t n);

#endif
