/* The Finnhub source's bookkeeping (feed/finnhub.h): the subscription set,
 * the requests it sends, the control requests it takes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feed/fh_parse.h"
#include "feed/finnhub.h"

static struct tk_fh_subs *s;

static void setup(void)
{
	s = malloc(sizeof(*s));
	cr_assert_not_null(s);
	tk__fh_subs_init(s);
}

static void teardown(void)
{
	free(s);
}

TestSuite(fh_subs, .init = setup, .fini = teardown);

/* The wanted symbols as one sorted, comma-separated string. */
static const char *wanted(void)
{
	static char out[256];
	const char *names[64];
	uint32_t i, j, n = 0;

	for (i = 0; i < s->nsym; i++)
		if (s->sym[i].state == TK_FH_SYM_WANTED)
			names[n++] = s->sym[i].name;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, i > 0 ? "," : "");
		strcat(out, names[i]);
	}
	cr_assert_eq(tk__fh_subs_wanted(s), n);
	return out;
}

/* What the client does for a subscribe it wants and writes. */
static void subscribe(const char *name)
{
	cr_assert_eq(tk__fh_subs_add(s, name), 1, "%s", name);
	tk__fh_subs_sent(s, name);
}

static const char *refuse(bool want_wanted)
{
	bool w;
	const char *name = tk__fh_subs_refuse(s, &w);

	cr_assert_not_null(name);
	cr_assert_eq(w, want_wanted, "%s", name);
	return name;
}

/* ---- Regression: swap-remove indices (issue 8).  The subscribes sent were
 * kept as indices into sym[]; an unsubscribe moved the last symbol into the
 * hole, so a later "too many symbols" error marked the wrong one refused, and
 * after a reconnect the feed subscribed the refused one instead. */

Test(fh_subs, regression_swap_remove_indices_refusal_after_an_unsubscribe_is_the_newest)
{
	/* A key allowing 3 symbols: A, B, C accepted, D refused. */
	tk__fh_subs_connected(s);
	subscribe("A");
	subscribe("B");
	subscribe("C");
	subscribe("D");
	cr_assert_str_eq(refuse(true), "D");
	cr_assert_str_eq(wanted(), "A,B,C");
	/* Unsubscribe A (D, refused, moves into its place), then E is accepted
	 * and F refused. */
	cr_assert_eq(tk__fh_subs_remove(s, "A"), 1);
	cr_assert_eq(tk__fh_subs_remove(s, "A"), 0, "removed once");
	subscribe("E");
	subscribe("F");
	cr_assert_str_eq(refuse(true), "F", "the newest subscribe is the one refused");
	cr_assert_str_eq(wanted(), "B,C,E");
	/* After a reconnect the wanted ones are subscribed again: B, C, E. */
	tk__fh_subs_connected(s);
	cr_assert_eq(s->nsent, 0);
	cr_assert_str_eq(wanted(), "B,C,E");
	/* F asked for again is sent again. */
	cr_assert_eq(tk__fh_subs_add(s, "F"), 1, "a refused symbol asked for again");
	cr_assert_eq(tk__fh_subs_add(s, "F"), 0, "already wanted");
	cr_assert_str_eq(wanted(), "B,C,E,F");
}

Test(fh_subs, regression_swap_remove_indices_an_error_for_an_unsubscribed_symbol_refuses_no_other)
{
	bool w;

	tk__fh_subs_connected(s);
	subscribe("A");
	subscribe("B");
	subscribe("C");
	/* C's error is on its way when C is unsubscribed. */
	cr_assert_eq(tk__fh_subs_remove(s, "C"), 1);
	cr_assert_str_eq(refuse(false), "C");
	cr_assert_str_eq(wanted(), "A,B");
	/* Every subscribe has had its error: more refuse nothing. */
	cr_assert_str_eq(refuse(true), "B");
	cr_assert_str_eq(refuse(true), "A");
	cr_assert_null(tk__fh_subs_refuse(s, &w));
	cr_assert_str_eq(wanted(), "");
}

Test(fh_subs, many_unsubscribes_keep_every_name_with_its_state)
{
	char name[32];
	int i;

	tk__fh_subs_connected(s);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "S%02d", i);
		subscribe(name);
	}
	for (i = 0; i < 40; i += 3) {
		snprintf(name, sizeof(name), "S%02d", i);
		cr_assert_eq(tk__fh_subs_remove(s, name), 1);
	}
	cr_assert_str_eq(refuse(false), "S39", "unsubscribed before its error");
	cr_assert_str_eq(refuse(true), "S38");
	cr_assert_str_eq(refuse(true), "S37");
	cr_assert_str_eq(refuse(false), "S36", "unsubscribed before its error");
	for (i = 0; i < 40; i++) {
		int k;

		snprintf(name, sizeof(name), "S%02d", i);
		k = tk__fh_subs_find(s, name);
		if (i % 3 == 0) {
			cr_assert_eq(k, -1, "%s", name);
			continue;
		}
		cr_assert_geq(k, 0, "%s", name);
		cr_assert_eq(s->sym[k].state, i >= 37 ? TK_FH_SYM_REFUSED : TK_FH_SYM_WANTED, "%s",
			     name);
	}
}

/* ---- Regression: control-ring symbol validation (issue 8), the feed's side.
 * The feed took whatever the ring held (any process attached to the segment
 * may write it) and formatted it into its message to Finnhub. */

static struct tk_ctl_msg raw(uint32_t type, const char *arg, size_t len)
{
	struct tk_ctl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.pid = 4242;
	memcpy(m.arg, arg, len);
	return m;
}

Test(fh_subs, regression_symbol_validation_feed_refuses_a_bad_control_request)
{
	static const struct {
		uint32_t type;
		const char *arg;
		size_t len;
		const char *why;
	} bad[] = {
		{ TK_CTL_SUBSCRIBE, "AAPL\",\"type\":\"unsubscribe", 25, "holds '\"' at byte 5" },
		{ TK_CTL_SUBSCRIBE, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32, "without a NUL" },
		{ TK_CTL_SUBSCRIBE, "A\r\nB", 4, "control character 0x0d at byte 2" },
		{ TK_CTL_UNSUBSCRIBE, "\xc3(", 2, "not valid UTF-8 at byte 1" },
		{ TK_CTL_SUBSCRIBE, "", 0, "0 bytes long" },
		{ 9, "AAPL", 4, "request type 9" },
	};
	struct tk_ctl_msg m;
	char why[160];
	size_t i;

	cr_assert_eq(tk__fh_subs_add(s, "AAPL"), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = raw(bad[i].type, bad[i].arg, bad[i].len);
		why[0] = '\0';
		cr_assert_eq(tk__fh_ctl_apply(s, &m, why, sizeof(why)), TK_FH_CTL_REJECTED,
			     "bad[%zu]", i);
		cr_assert(strstr(why, bad[i].why) != NULL, "bad[%zu]: '%s', want '%s'", i, why,
			  bad[i].why);
	}
	cr_assert_eq(s->nsym, 1, "a refused request changed the set");
	cr_assert_str_eq(wanted(), "AAPL");
	m = raw(TK_CTL_SUBSCRIBE, "IC MARKETS:1", 12);
	cr_assert_eq(tk__fh_ctl_apply(s, &m, why, sizeof(why)), TK_FH_CTL_SUBSCRIBE);
	cr_assert_eq(tk__fh_ctl_apply(s, &m, why, sizeof(why)), TK_FH_CTL_NONE);
	m = raw(TK_CTL_UNSUBSCRIBE, "AAPL", 4);
	cr_assert_eq(tk__fh_ctl_apply(s, &m, why, sizeof(why)), TK_FH_CTL_UNSUBSCRIBE);
	cr_assert_eq(tk__fh_ctl_apply(s, &m, why, sizeof(why)), TK_FH_CTL_NONE);
	cr_assert_str_eq(wanted(), "IC MARKETS:1");
}

/* The request to Finnhub is built by the JSON writer: whatever the name, the
 * message has exactly the two members, and the server reads the name back. */
Test(fh_subs, regression_symbol_validation_request_is_json_escaped)
{
	static const char *const names[] = { "AAPL", "AAPL\",\"type\":\"unsubscribe", "A\\B",
					     "A\nB\x01", "BINANCE:BTCUSDT" };
	struct tk_fh_limits lim;
	struct tk_fh_parser *p;
	char out[256], sym[32], why[128];
	size_t i, n;

	cr_assert_eq(tk__fh_request(out, sizeof(out), &n, true, "AAPL", 4), 0);
	cr_assert_str_eq(out, "{\"type\":\"subscribe\",\"symbol\":\"AAPL\"}");
	cr_assert_eq(n, strlen(out));
	cr_assert_eq(tk__fh_request(out, sizeof(out), &n, false, "BRK.B", 5), 0);
	cr_assert_str_eq(out, "{\"type\":\"unsubscribe\",\"symbol\":\"BRK.B\"}");
	tk_fh_limits_default(&lim);
	p = tk_fh_parser_new(&lim);
	cr_assert_not_null(p);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(tk__fh_request(out, sizeof(out), &n, true, names[i], strlen(names[i])),
			     0);
		cr_assert_eq(tk_fh_parse_request(p, out, n, sym, why, sizeof(why)), 1,
			     "%s: not a subscribe (%s)", out, why);
		cr_assert_str_eq(sym, names[i], "%s", out);
	}
	cr_assert_eq(tk__fh_request(out, 16, &n, true, "AAPL", 4), -ENOSPC, "cut: not sent");
	tk_fh_parser_free(p);
}
