/* common/msg.c: operator lines, and the quiet switch libtickd relies on. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "common/msg.h"

static void redirect(void)
{
	cr_redirect_stderr();
}

/* Everything written to stderr so far. */
static const char *captured(void)
{
	static char text[4096];
	FILE *f;
	size_t n;

	fflush(stderr);
	f = cr_get_redirected_stderr();
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	return text;
}

Test(msg, a_line_names_the_role_and_level, .init = redirect)
{
	const char *t;

	tk_msg_set_role("api-test");
	tk_warn("reader %s released", "x");
	t = captured();
	cr_assert(strstr(t, " api-test[") != NULL, "%s", t);
	cr_assert(strstr(t, "] warn: reader x released\n") != NULL, "%s", t);
}

Test(msg, quiet_writes_nothing_at_any_level, .init = redirect)
{
	tk_msg_set_quiet(1);
	tk_msg_set_level(TK_MSG_DEBUG);
	tk_msg(TK_MSG_DEBUG, "debug");
	tk_info("info");
	tk_warn("warn");
	tk_error("error");
	cr_assert_str_eq(captured(), "");
}

Test(msg, quiet_can_be_turned_off_again, .init = redirect)
{
	const char *t;

	tk_msg_set_quiet(1);
	tk_warn("dropped");
	tk_msg_set_quiet(0);
	tk_warn("kept");
	t = captured();
	cr_assert(strstr(t, "warn: kept\n") != NULL && strstr(t, "dropped") == NULL, "%s", t);
}
