/* CRC-32C (common/crc32c.c): known values, both paths, chaining.  Expected
 * values: the standard check value and RFC 3720 B.4, each recomputed with a
 * bit-at-a-time python3 CRC (reflected 0x82F63B78, init and xorout ~0). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"

/* The definition, a bit at a time: the test's own reference. */
static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	size_t i;
	int b;

	crc = ~crc;
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
	}
	return ~crc;
}

struct vec {
	const char *what;
	uint8_t data[32];
	size_t len;
	uint32_t crc;
};

static void check_vec(const struct vec *v)
{
	cr_assert_eq(tk_crc32c(0, v->data, v->len), v->crc, "%s: hw/auto %08x, want %08x", v->what,
		     tk_crc32c(0, v->data, v->len), v->crc);
	cr_assert_eq(tk_crc32c_sw(0, v->data, v->len), v->crc, "%s: table %08x, want %08x", v->what,
		     tk_crc32c_sw(0, v->data, v->len), v->crc);
	cr_assert_eq(ref_crc32c(0, v->data, v->len), v->crc, "%s: reference", v->what);
}

Test(crc32c, check_value_123456789)
{
	struct vec v = { "123456789", "123456789", 9, 0xE3069283u };

	check_vec(&v);
	/* python3: crc32c(b"") == 0, crc32c(b"a") == 0xc1d04330,
	 * the quick brown fox == 0x22620404 */
	cr_assert_eq(tk_crc32c(0, "", 0), 0);
	cr_assert_eq(tk_crc32c(0, "a", 1), 0xC1D04330u);
	cr_assert_eq(tk_crc32c_sw(0, "a", 1), 0xC1D04330u);
	cr_assert_eq(tk_crc32c(0, "The quick brown fox jumps over the lazy dog", 43), 0x22620404u);
	cr_assert_eq(tk_crc32c_sw(0, "The quick brown fox jumps over the lazy dog", 43),
		     0x22620404u);
}

Test(crc32c, rfc3720_b4_vectors)
{
	struct vec v;
	int i;

	memset(&v, 0, sizeof(v));
	v.len = 32;
	v.what = "32 zeros";
	v.crc = 0x8A9136AAu;
	check_vec(&v);

	memset(v.data, 0xff, 32);
	v.what = "32 x 0xff";
	v.crc = 0x62A8AB43u;
	check_vec(&v);

	for (i = 0; i < 32; i++)
		v.data[i] = (uint8_t)i;
	v.what = "0x00..0x1f";
	v.crc = 0x46DD794Eu;
	check_vec(&v);

	for (i = 0; i < 32; i++)
		v.data[i] = (uint8_t)(31 - i);
	v.what = "0x1f..0x00";
	v.crc = 0x113FDB5Cu;
	check_vec(&v);
}

Test(crc32c, the_hardware_path_is_used_where_the_cpu_has_it)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		cr_assert_str_eq(tk_crc32c_impl(), "sse4.2");
	else
		cr_assert_str_eq(tk_crc32c_impl(), "table");
#else
	cr_assert_str_eq(tk_crc32c_impl(), "table");
#endif
}

/* Every length 0..1100 at every start 0..7 (so both the byte-wise head and
 * tail and the 8-byte loop are crossed), from a seed and a nonzero
 * starting CRC too. */
Test(crc32c, both_paths_agree_with_the_definition_on_random_buffers)
{
	enum { MAXLEN = 1100 };
	uint8_t *buf = malloc(MAXLEN + 16);
	size_t len, start, i;
	uint32_t seed = 0x9e3779b9u;

	cr_assert_not_null(buf);
	for (i = 0; i < MAXLEN + 16; i++) {
		seed = seed * 1664525u + 1013904223u;
		buf[i] = (uint8_t)(seed >> 24);
	}
	for (len = 0; len <= MAXLEN; len++)
		for (start = 0; start < 8; start++) {
			const uint8_t *p = buf + start;
			uint32_t init = (uint32_t)(len * 2654435761u), want = ref_crc32c(0, p, len);

			cr_assert_eq(tk_crc32c(0, p, len), want, "hw len %zu start %zu", len, start);
			cr_assert_eq(tk_crc32c_sw(0, p, len), want, "sw len %zu start %zu", len, start);
			want = ref_crc32c(init, p, len);
			cr_assert_eq(tk_crc32c(init, p, len), want, "hw init len %zu start %zu", len,
				     start);
			cr_assert_eq(tk_crc32c_sw(init, p, len), want, "sw init len %zu start %zu", len,
				     start);
		}
	free(buf);
}

Test(crc32c, chaining_equals_the_crc_of_the_concatenation)
{
	uint8_t buf[700];
	size_t i, cut;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 3));
	/* python3: crc32c(b"hello, world") == crc32c(b"world", crc32c(b"hello, ")) == 0x6999a41f */
	cr_assert_eq(tk_crc32c(tk_crc32c(0, "hello, ", 7), "world", 5), 0x6999A41Fu);
	cr_assert_eq(tk_crc32c(0, "hello, world", 12), 0x6999A41Fu);
	for (cut = 0; cut <= sizeof(buf); cut++) {
		uint32_t whole = tk_crc32c(0, buf, sizeof(buf));

		cr_assert_eq(tk_crc32c(tk_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole,
			     "cut at %zu", cut);
		cr_assert_eq(tk_crc32c_sw(tk_crc32c_sw(0, buf, cut), buf + cut, sizeof(buf) - cut),
			     whole, "table, cut at %zu", cut);
		/* the paths mix: hardware then table */
		cr_assert_eq(tk_crc32c_sw(tk_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut),
			     whole, "mixed, cut at %zu", cut);
	}
}

/* Buffers long enough for the three-stream path (3 x 8 KiB chunks and
 * more): every length around the chunk boundaries, unaligned starts, a
 * nonzero initial CRC, against the bit-at-a-time definition. */
Test(crc32c, the_three_stream_path_agrees_with_the_definition)
{
	static const size_t lens[] = { 24575, 24576, 24577, 24583, 49151, 49152, 49160,
				       262080, 262144, 300001 };
	uint8_t *buf = malloc(300001 + 16);
	uint32_t seed = 0x12345678u;
	size_t i, k, start;

	cr_assert_not_null(buf);
	for (i = 0; i < 300001 + 16; i++) {
		seed = seed * 1664525u + 1013904223u;
		buf[i] = (uint8_t)(seed >> 24);
	}
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
		for (start = 0; start < 3; start++) {
			const uint8_t *p = buf + start * 5;
			uint32_t want = ref_crc32c(0xdeadbeefu, p, lens[k]);

			cr_assert_eq(tk_crc32c(0xdeadbeefu, p, lens[k]), want, "len %zu start %zu",
				     lens[k], start * 5);
			cr_assert_eq(tk_crc32c_sw(0xdeadbeefu, p, lens[k]), want, "sw len %zu", lens[k]);
		}
	free(buf);
}
