#include <criterion/criterion.h>
#include <errno.h>

#include "common/err.h"
#include <pthread.h>

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
