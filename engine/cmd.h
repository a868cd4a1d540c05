/*
 * The engine role's command, for the `tickd` entry point (tools/main.c).
 * A role folder declares its own commands here so that it never includes
 * tools/: the layering is tools -> roles -> shm -> common, never upwards
 * (checked by tests/layering_test.sh).
 */
#ifndef TK_ENGINE_CMD_H
#define TK_ENGINE_CMD_H

/* tickd engine [options]: one engine worker (a shard); exit status 0, 1 on
 * a runtime error, 2 on a bad setting. */
int tk_cmd_engine(int argc, char **argv);

#endif
