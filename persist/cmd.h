/* The journal's commands, for tools/main.c. */
#ifndef TK_PERSIST_CMD_H
#define TK_PERSIST_CMD_H

int tk_cmd_persist(int argc, char **argv);
int tk_cmd_export(int argc, char **argv);
int tk_cmd_journal(int argc, char **argv);

#endif
