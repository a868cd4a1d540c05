/*
 * The feed role's commands, for the `tickd` entry point (tools/main.c).
 * A role folder declares its own commands here so that it never includes
 * tools/ (tests/layering_test.sh).
 */
#ifndef TK_FEED_CMD_H
#define TK_FEED_CMD_H

/* tickd feed [options]: a feed handler writing trades into a tick log. */
int tk_cmd_feed(int argc, char **argv);

/* tickd mock-finnhub [options]: a Finnhub look-alike WebSocket server. */
int tk_cmd_mock_finnhub(int argc, char **argv);

#endif
