#include <criterion/criterion.h>
#include <errno.h>

#include "common/err.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "shm/symtab.h"
#include "tests/helpers.h"

static struct tk_segment seg;
static char path[128];
static struct tk_symtab_region *tab;

static void setup(void)
{
	struct tk_seg_config cfg;

	tk_seg_config_default(&cfg);
	cfg.symbol_capacity = 10000;
	tk_seg_config_add_log(&cfg, "t", 64, 64, 2);
	cr_assert_eq(tk_segment_create(&seg, tk_test_path(path, sizeof(path), "sym"), &cfg, true), 0);
	tab = tk_symtab_of(&seg);
}

static void teardown(void)
{
	tk_segment_detach(&seg);
	unlink(path);
}

TestSuite(symtab, .init = setup, .fini = teardown);

#define S(x) x, (uint32_t)strlen(x)

Test(symtab, names_get_dense_ids_and_are_found_both_ways)
{
	cr_assert_eq(tk_symtab_intern(tab, S("AAPL")), 0);
	cr_assert_eq(tk_symtab_intern(tab, S("BINANCE:BTCUSDT")), 1);
	cr_assert_eq(tk_symtab_intern(tab, S("AAPL")), 0, "interning twice gives the same id");
	cr_assert_eq(tk_symtab_find(tab, S("BINANCE:BTCUSDT")), 1);
	cr_assert_eq(tk_symtab_find(tab, S("MSFT")), -ENOENT);
	cr_assert_str_eq(tk_symtab_name(tab, 1), "BINANCE:BTCUSDT");
	cr_assert_null(tk_symtab_name(tab, 2));
	cr_assert_null(tk_symtab_name(tab, -1));
	cr_assert_eq(tk_symtab_count(tab), 2);
	/* A prefix is a different name. */
	cr_assert_eq(tk_symtab_find(tab, "AAP", 3), -ENOENT);
}

Test(symtab, invalid_names_are_refused)
{
	char longname[40];

	memset(longname, 'A', 32);
	longname[32] = '\0';
	cr_assert_eq(tk_symtab_intern(tab, "", 0), -EINVAL);
	cr_assert_eq(tk_symtab_intern(tab, longname, 32), -EINVAL);
	cr_assert_eq(tk_symtab_intern(tab, longname, 31), 0, "31 bytes is the maximum");
	cr_assert_eq(tk_symtab_intern(tab, "A\nB", 3), -EINVAL);
	cr_assert_eq(tk_symtab_intern(tab, "A\x7f", 2), -EINVAL);
}

Test(symtab, fills_to_capacity_then_says_so)
{
	char name[32];
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "SYM%05d", i);
		cr_assert_eq(tk_symtab_intern(tab, S(name)), i);
	}
	cr_assert_eq(tk_symtab_intern(tab, S("ONE.MORE")), -ENOSPC);
	for (i = 0; i < 10000; i += 997) {
		snprintf(name, sizeof(name), "SYM%05d", i);
		cr_assert_eq(tk_symtab_find(tab, S(name)), i);
	}
}

static int32_t ids[2][500];

static void *intern_all(void *arg)
{
	int t = (int)(intptr_t)arg, i;
	char name[32];

	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "N%d", t == 0 ? i : 499 - i);
		ids[t][t == 0 ? i : 499 - i] = tk_symtab_intern(tab, S(name));
	}
	return NULL;
}

Test(symtab, concurrent_adders_agree_on_one_id_per_name)
{
	pthread_t a, b;
	char name[32];
	int i;

	pthread_create(&a, NULL, intern_all, (void *)0);
	pthread_create(&b, NULL, intern_all, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "N%d", i);
		cr_assert_geq(ids[0][i], 0);
		cr_assert_eq(ids[0][i], ids[1][i], "both threads got the same id for %s", name);
		cr_assert_eq(tk_symtab_find(tab, S(name)), ids[0][i]);
		cr_assert_str_eq(tk_symtab_name(tab, ids[0][i]), name);
	}
}

/* ---- Regression: three symbol validators disagreed (issue 8). ---------------
 * The symbol table took '"' and '\' and bytes that are not UTF-8, the feed's
 * start-up check refused spaces ("IC MARKETS:1" is a Finnhub symbol), the
 * parsers' trade rule took quotes.  Now one rule (shm/symbol.h) decides. */

Test(symtab, regression_symbol_validation_one_rule_in_the_symbol_table)
{
	static const char *const good[] = { "AAPL", "BINANCE:BTCUSDT", "IC MARKETS:1", "BRK.B",
					     "OANDA:EUR_USD", "^GSPC", "\xc3\x84PFEL", "\xe2\x82\xac",
					     "\xf0\x9f\x93\x88" };
	static const struct {
		const char *name;
		size_t len;
		const char *why;
	} bad[] = {
		{ "AAPL\",\"type\":\"unsubscribe", 25, "holds '\"' at byte 5" },
		{ "A\\B", 3, "holds '\\' at byte 2" },
		{ "A\nB", 3, "control character 0x0a at byte 2" },
		{ "A\0B", 3, "control character 0x00 at byte 2" },
		{ "A\x7f", 2, "control character 0x7f at byte 2" },
		{ "A\xc2\x85", 3, "control character U+0085 at byte 2" },
		{ "\xff", 1, "not valid UTF-8 at byte 1" },
		{ "AB\xc0\xaf", 4, "not valid UTF-8 at byte 3" },   /* overlong '/' */
		{ "\xed\xa0\x80", 3, "not valid UTF-8 at byte 1" }, /* a surrogate */
		{ "\xf4\x90\x80\x80", 4, "not valid UTF-8" },        /* past U+10FFFF */
		{ "AB\xe2\x82", 4, "not valid UTF-8 at byte 3" },   /* cut short */
		{ "", 0, "is 0 bytes long (1 to 31)" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32, "is 32 bytes long (1 to 31)" },
	};
	char why[96];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert_eq(tk_symbol_check(good[i], strlen(good[i]), why, sizeof(why)), 0, "%s: %s",
			     good[i], why);
		cr_assert_geq(tk_symtab_intern(tab, S(good[i])), 0, "%s", good[i]);
		cr_assert_str_eq(tk_symtab_name(tab, tk_symtab_find(tab, S(good[i]))), good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		cr_assert_eq(tk_symbol_check(bad[i].name, bad[i].len, why, sizeof(why)), -EINVAL,
			     "bad[%zu]", i);
		cr_assert(strstr(why, bad[i].why) != NULL, "bad[%zu]: '%s', want '%s'", i, why,
			  bad[i].why);
		cr_assert_eq(tk_symtab_intern(tab, bad[i].name, (uint32_t)bad[i].len), -EINVAL,
			     "bad[%zu] (%s) was interned", i, why);
		cr_assert_eq(tk_symtab_find(tab, bad[i].name, (uint32_t)bad[i].len), -EINVAL);
	}
}

/* The inline fast path is the same rule: every name of one or two bytes, and
 * of three and four bytes over the interesting ones, gets the same verdict
 * from tk_symbol_plain (when it answers), tk_symbol_valid and
 * tk_symbol_check; and a valid name comes out of the JSON writer unchanged
 * (the reason non-UTF-8 is refused). */
static uint32_t n_names, n_valid;

static void same_verdict(const unsigned char *s, size_t len)
{
	const char *c = (const char *)s;
	int rc = tk_symbol_check(c, len, NULL, 0);
	char out[64];
	struct tk_buf b;

	n_names++;
	if (tk_symbol_plain(c, len))
		cr_assert_eq(rc, 0, "the fast path took what the rule refuses");
	cr_assert_eq(tk_symbol_valid(c, len), rc == 0);
	if (rc != 0)
		return;
	n_valid++;
	tk_buf_init(&b, out, sizeof(out));
	tk_json_str(&b, c, len);
	cr_assert(b.len == len + 2 && memcmp(b.p + 1, c, len) == 0,
		  "a valid symbol changed in JSON: %s", b.p);
}

Test(symtab, symbol_rule_fast_path_agrees_with_the_full_check)
{
	static const unsigned char pick[] = { 0x00, 0x1f, ' ', '"', 'A', '\\', '~', 0x7f, 0x80,
					      0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xed,
					      0xef, 0xf0, 0xf4, 0xf5, 0xff };
	const size_t np = sizeof(pick);
	unsigned char s[4];
	size_t a, b, c, d;

	for (a = 0; a < 256; a++) {
		s[0] = (unsigned char)a;
		same_verdict(s, 1);
		for (b = 0; b < 256; b++) {
			s[1] = (unsigned char)b;
			same_verdict(s, 2);
		}
	}
	for (a = 0; a < np; a++)
		for (b = 0; b < np; b++)
			for (c = 0; c < np; c++) {
				s[0] = pick[a], s[1] = pick[b], s[2] = pick[c];
				same_verdict(s, 3);
				for (d = 0; d < np; d++) {
					s[3] = pick[d];
					same_verdict(s, 4);
				}
			}
	cr_assert_gt(n_valid, 1000, "%u of %u names valid", n_valid, n_names);
}

/* ---- Regression: a full table ran next_id up by one per refused add (one per
 * trade of a new symbol); after 2^32 of them the id wrapped to 0 and the next
 * add overwrote symbol 0. */

Test(symtab, regression_symbol_table_overflow_never_wraps_onto_symbol_0)
{
	const uint32_t cap = 4;
	struct tk_symtab_region *t = aligned_alloc(64, (size_t)tk_symtab_region_size(cap));
	char name[32];
	uint32_t i;

	cr_assert_not_null(t);
	memset(t, 0, (size_t)tk_symtab_region_size(cap));
	tk_symtab_init(t, cap);
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "S%u", i);
		cr_assert_eq(tk_symtab_intern(t, S(name)), (int32_t)i);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "NEW%u", i);
		cr_assert_eq(tk_symtab_intern(t, S(name)), -ENOSPC);
	}
	cr_assert_eq(t->next_id, cap, "a refused add moved next_id to %u", t->next_id);
	cr_assert_eq(tk_symtab_refused(t), 1000);
	cr_assert_eq(tk_symtab_count(t), cap);
	/* A table whose counter an older build ran up to 2^32 - 10 refusals. */
	t->next_id = UINT32_MAX - 9;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "WRAP%u", i);
		cr_assert_eq(tk_symtab_intern(t, S(name)), -ENOSPC, "add %u past the wrap", i);
		cr_assert_eq(tk_symtab_find(t, S(name)), -ENOENT);
	}
	for (i = 0; i < cap; i++) {
		snprintf(name, sizeof(name), "S%u", i);
		cr_assert_str_eq(tk_symtab_name(t, (int32_t)i), name, "symbol %u overwritten", i);
		cr_assert_eq(tk_symtab_find(t, S(name)), (int32_t)i);
	}
	cr_assert_eq(tk_symtab_refused(t), 1020);
	free(t);
}

/* An adder between taking its id and publishing its bucket: lookups miss
 * its name, and tk_symtab_settled stays at its id until the bucket is in. */
Test(symtab, settled_stops_at_an_adder_in_flight)
{
	struct tk_symbol *entries = (struct tk_symbol *)((uint8_t *)tab + sizeof(*tab));

	cr_assert_eq(tk_symtab_settled(tab), 0);
	cr_assert_eq(tk_symtab_intern(tab, S("AAA")), 0);
	cr_assert_eq(tk_symtab_intern(tab, S("BBB")), 1);
	cr_assert_eq(tk_symtab_settled(tab), 2);
	/* id 2 taken (next_id moved), nothing written yet */
	tab->next_id = 3;
	cr_assert_eq(tk_symtab_count(tab), 3);
	cr_assert_eq(tk_symtab_settled(tab), 2);
	/* name written, READY, bucket not yet published */
	strcpy(entries[2].name, "ZZZ");
	__atomic_store_n(&entries[2].state, TK_SYM_READY, __ATOMIC_RELEASE);
	cr_assert_eq(tk_symtab_find(tab, S("ZZZ")), -ENOENT);
	cr_assert_eq(tk_symtab_settled(tab), 2);
	/* a later adder done while id 2 is still in flight: 2 bounds it */
	cr_assert_eq(tk_symtab_intern(tab, S("CCC")), 3);
	cr_assert_eq(tk_symtab_settled(tab), 2);
	/* the in-flight adder finishes the way intern does: a duplicate of
	 * an earlier name counts as settled too */
	__atomic_store_n(&entries[2].alias, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&entries[2].state, TK_SYM_DUPLICATE, __ATOMIC_RELEASE);
	cr_assert_eq(tk_symtab_settled(tab), 4);
	cr_assert_eq(tk_symtab_intern(tab, S("DDD")), 4);
	cr_assert_eq(tk_symtab_settled(tab), 5);
}
