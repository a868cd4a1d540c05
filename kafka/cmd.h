/* The Kafka publisher's command, for tools/main.c. */
#ifndef TK_KAFKA_CMD_H
#define TK_KAFKA_CMD_H

int tk_cmd_kafka(int argc, char **argv);

#endif
