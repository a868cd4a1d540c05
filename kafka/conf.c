/* librdkafka settings (conf.h). */
#include "kafka/conf.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"

int tkk_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char err[256];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		return tk_err_set(-EINVAL, "kafka: %s=%s: %s", name, value, err);
	return 0;
}

int tkk_conf_apply(rd_kafka_conf_t *conf, const char *const *props, uint32_t n)
{
	char name[256];
	uint32_t i;

	for (i = 0; i < n; i++) {
		const char *eq = strchr(props[i], '=');
		size_t len = eq != NULL ? (size_t)(eq - props[i]) : 0;

		if (len == 0 || len >= sizeof(name))
			return tk_err_set(-EINVAL, "kafka: --property '%s' is not NAME=VALUE",
					  props[i]);
		memcpy(name, props[i], len);
		name[len] = '\0';
		if (tkk_conf_set(conf, name, eq + 1) < 0)
			return -EINVAL;
	}
	return 0;
}
