/*
 * Cold-path error context.
 *
 * Cold-path functions return 0 or a negative errno and leave a one-line
 * human message here, naming what failed and why; callers up the stack may
 * prefix context with tk_err_push().  The buffer is per thread.
 */
#ifndef TK_COMMON_ERR_H
#define TK_COMMON_ERR_H

#include <stddef.h>

/* Replace the message.  Returns -err (err given positive or negative) so a
 * function can write `return tk_err_set(EINVAL, "...")`. */
int tk_err_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with context ("attach /dev/shm/x: " + old). */
void tk_err_push(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The current message; "" if none.  Valid until the next tk_err_* call on this thread. */
const char *tk_err_msg(void);

void tk_err_clear(void);

#endif
