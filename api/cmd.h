/* The HTTP API's command, for tools/main.c. */
#ifndef TK_API_CMD_H
#define TK_API_CMD_H

int tk_cmd_api(int argc, char **argv);

#endif
