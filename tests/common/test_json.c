#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The definition tk_fmt_double keeps (the fewest %g digits that read back,
 * as plain decimals where %g would use an exponent), written out slowly. */
static void reference(char *out, size_t cap, double v)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	if (strchr(out, 'e') != NULL && fabs(v) >= 1e-6 && fabs(v) < 1e21)
		for (prec = 0; prec <= 24; prec++) {
			snprintf(out, cap, "%.*f", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
}

/* Its fast path (prices and sizes of up to nine decimals) against the
 * definition, byte for byte: decimals of every length, halves, the range's
 * edges, negatives, and arbitrary doubles (which mostly take the slow path). */
Test(json, fast_decimals_equal_the_definition)
{
	static const double edges[] = { 1e-6, 9.99999e-7, 0.000001000000001, 999999.999999999,
					1e6, 999999.5, 0.5, 1.5, 2.5, 0.125, 123456.789012345,
					0.1 + 0.2, 1.0 / 3, 100, 1e5, 65536.0009765625, 3e-5 };
	uint64_t x = 88172645463325252ull;
	char a[64], b[64];
	size_t i;
	int k;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		double v = edges[i];
		int s;

		for (s = 0; s < 2; s++, v = -v) {
			tk_fmt_double(a, sizeof(a), v);
			reference(b, sizeof(b), v);
			cr_assert_str_eq(a, b, "%.17g", v);
		}
	}
	for (i = 0; i < 400000; i++) {
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (int)(x % 10);
		if (i % 4 == 2) {
			/* a full-precision double in [1e-6, 1e21) */
			v = (double)(x >> 11) / 9007199254740992.0 * pow(10, (double)(x % 27) - 6);
		} else if (i % 4 == 3) {
			uint64_t bits = x;

			memcpy(&v, &bits, sizeof(v));
			if (!isfinite(v))
				continue;
		} else {
			uint64_t m = i % 5 == 0 ? x % 1000 : (x >> 20) % 1000000000000ull;

			v = (double)m / pow(10, k);
		}
		if (i % 7 == 0)
			v = -v;
		tk_fmt_double(a, sizeof(a), v);
		reference(b, sizeof(b), v);
		cr_assert_str_eq(a, b, "%.17g", v);
		cr_assert_eq(strtod(a, NULL), v, "%s does not read back as %.17g", a, v);
	}
}

/* The exact digits path (1e-3 <= |v| < 1e14) where rounding is hardest:
 * powers of two (whose lower neighbour is half as far) and ten, and the
 * doubles beside them, against the definition. */
Test(json, binade_and_decade_edges_equal_the_definition)
{
	char a[64], b[64];
	int e, d;

	for (e = -10; e <= 46; e++)
		for (d = -3; d <= 3; d++) {
			double v = ldexp(1.0, e), w = v;
			int i;

			for (i = 0; i < (d < 0 ? -d : d); i++)
				w = nextafter(w, d < 0 ? 0.0 : INFINITY);
			tk_fmt_double(a, sizeof(a), w);
			reference(b, sizeof(b), w);
			cr_assert_str_eq(a, b, "%.17g", w);
			(void)v;
		}
	for (e = -3; e <= 13; e++)
		for (d = -3; d <= 3; d++) {
			double w = pow(10, e);
			int i;

			for (i = 0; i < (d < 0 ? -d : d); i++)
				w = nextafter(w, d < 0 ? 0.0 : INFINITY);
			tk_fmt_double(a, sizeof(a), w);
			reference(b, sizeof(b), w);
			cr_assert_str_eq(a, b, "%.17g", w);
		}
}

/* The integer formatters print what printf prints: edges, every power of
 * ten and its neighbours, and a million pseudo-random values of every size. */
Test(json, integers_as_printf_prints_them)
{
	static const int64_t edge[] = { 0, 1, -1, 9, 10, 99, 100, -100, INT64_MAX, INT64_MIN,
					INT64_MIN + 1, 1704205819000LL, -1704205819000LL };
	char got[32], want[32];
	uint64_t x = 88172645463325252ull, p;
	size_t i;
	int n;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		n = tk_fmt_i64(got, edge[i]);
		snprintf(want, sizeof(want), "%lld", (long long)edge[i]);
		cr_assert_str_eq(got, want);
		cr_assert_eq(n, (int)strlen(want));
	}
	cr_assert_eq(tk_fmt_u64(got, UINT64_MAX), 20);
	cr_assert_str_eq(got, "18446744073709551615");
	for (p = 1; p <= 10000000000000000000ull; p *= 10) {
		uint64_t v[] = { p - 1, p, p + 1 };

		for (i = 0; i < 3; i++) {
			tk_fmt_u64(got, v[i]);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)v[i]);
			cr_assert_str_eq(got, want);
		}
		if (p == 10000000000000000000ull)
			break;
	}
	for (i = 0; i < 1000000; i++) {
		uint64_t v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = x >> (x % 64); /* every length */
		tk_fmt_u64(got, v);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		cr_assert_str_eq(got, want);
		tk_fmt_i64(got, (int64_t)v);
		snprintf(want, sizeof(want), "%lld", (long long)(int64_t)v);
		cr_assert_str_eq(got, want);
	}
}
