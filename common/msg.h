/*
 * Operator messages on stderr: one line each, prefixed with the time, the
 * role and the level, so a supervisor's merged output stays readable.
 */
#ifndef TK_COMMON_MSG_H
#define TK_COMMON_MSG_H

enum tk_msg_level { TK_MSG_DEBUG, TK_MSG_INFO, TK_MSG_WARN, TK_MSG_ERROR };

/* Name shown in every line ("feed", "engine.0"); default "tickd". */
void tk_msg_set_role(const char *role);
void tk_msg_set_level(enum tk_msg_level min);

/* Process-wide off switch: with quiet set, tk_msg writes nothing at all.
 * A library that must never print (libtickd) sets it in its own private
 * copy of this module when it is loaded; its callers' errors travel as
 * return codes and tk_err messages instead. */
void tk_msg_set_quiet(int quiet);

void tk_msg(enum tk_msg_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tk_info(...) tk_msg(TK_MSG_INFO, __VA_ARGS__)
#define tk_warn(...) tk_msg(TK_MSG_WARN, __VA_ARGS__)
#define tk_error(...) tk_msg(TK_MSG_ERROR, __VA_ARGS__)

#endif
