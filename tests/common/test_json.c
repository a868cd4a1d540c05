#include <criterion/criterion.h>
#include <math.h>

#include "common/json.h"

static const char *render_double(double v)
{
	static char mem[64];
	struct tk_buf b;

	tk_buf_init(&b, mem, sizeof(mem));
	tk_json_double(&b, v);
	return mem;
}

static const char *render_str(const char *s, size_t n)
{
	static char mem[128];
	struct tk_buf b;

	tk_buf_init(&b, mem, sizeof(mem));
	tk_json_str(&b, s, n);
	return mem;
}

Test(json, doubles_use_the_shortest_round_trip_form)
{
	cr_assert_str_eq(render_double(189.53), "189.53");
	cr_assert_str_eq(render_double(0.1), "0.1");
	cr_assert_str_eq(render_double(100), "100");
	cr_assert_str_eq(render_double(0.30000000000000004), "0.30000000000000004");
	cr_assert_str_eq(render_double(NAN), "null");
	cr_assert_str_eq(render_double(INFINITY), "null");
}

Test(json, strings_are_escaped_and_made_valid_utf8)
{
	cr_assert_str_eq(render_str("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	cr_assert_str_eq(render_str("x\ny", 3), "\"x\\u000ay\"");
	cr_assert_str_eq(render_str("\xc3\xa9", 2), "\"\xc3\xa9\"");
	cr_assert_str_eq(render_str("\xff", 1), "\"\\ufffd\"");
	cr_assert_str_eq(render_str("\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"", "surrogates");
}

Test(json, overflow_is_flagged_and_never_writes_past_the_buffer)
{
	char mem[8];
	struct tk_buf b;

	memset(mem, 'Z', sizeof(mem));
	tk_buf_init(&b, mem, 6);
	tk_buf_puts(&b, "0123456789");
	cr_assert(b.overflow);
	cr_assert_str_eq(mem, "01234");
	cr_assert_eq(mem[6], 'Z');
}
