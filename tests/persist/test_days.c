/* UTC days and user times (format.c's day math, query.c's tkj_parse_time).
 * Expected values from python3's datetime (noted at each), and a naive
 * calendar walk written here for the full 1970..2100 round trip. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "persist/format.h"
#include "persist/query.h"

#define NS_PER_DAY 86400000000000LL

Test(days, day_of_floors_toward_minus_infinity)
{
	cr_assert_eq(tkj_day_of(-1), -1);
	cr_assert_eq(tkj_day_of(0), 0);
	cr_assert_eq(tkj_day_of(NS_PER_DAY - 1), 0);
	cr_assert_eq(tkj_day_of(NS_PER_DAY), 1);
	cr_assert_eq(tkj_day_of(-NS_PER_DAY), -1);
	cr_assert_eq(tkj_day_of(-NS_PER_DAY - 1), -2);
	/* python3: -2**63 // 86400e9 == -106752, (2**63-1) // 86400e9 == 106751 */
	cr_assert_eq(tkj_day_of(INT64_MIN), -106752);
	cr_assert_eq(tkj_day_of(INT64_MAX), 106751);
	/* 2023-12-01T00:00Z = 1701388800 s, day 19692 */
	cr_assert_eq(tkj_day_of(1701388800000000000LL), 19692);
	cr_assert_eq(tkj_day_of(1701388800000000000LL - 1), 19691);
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

Test(days, names_and_parse_round_trip_1970_to_2100)
{
	static const int mlen[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = 1970, m = 1, d = 1;
	int32_t day, back;
	char name[16], want[40];

	for (day = 0;; day++) {
		snprintf(want, sizeof(want), "%04d-%02d-%02d", y, m, d);
		tkj_day_name(day, name, sizeof(name));
		cr_assert_str_eq(name, want, "day %d", day);
		back = -1;
		cr_assert_eq(tkj_day_parse(want, &back), 0, "%s", want);
		cr_assert_eq(back, day, "%s parsed as %d", want, back);
		if (y == 2100 && m == 12 && d == 31)
			break;
		if (++d > mlen[m - 1] + (m == 2 && leap(y))) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	cr_assert_eq(day, 47846, "python3: (date(2100,12,31) - date(1970,1,1)).days");
}

Test(days, known_days_and_invalid_dates)
{
	static const char *bad[] = { "2100-02-29", "1900-02-29", "1900-01-01", "1969-12-31",
				     "2023-02-29", "2023-04-31", "2023-13-01", "2023-00-10",
				     "2023-12-00", "2023-12-32", "2023-1-01",  "2023-12-01x",
				     "2023/12/01", "",           "20231201",   "2023-12-0a",
				     " 023-12-01" };
	int32_t day;
	size_t i;

	/* python3: (date(...) - date(1970, 1, 1)).days */
	cr_assert_eq(tkj_day_parse("2000-02-29", &day), 0);
	cr_assert_eq(day, 11016);
	cr_assert_eq(tkj_day_parse("2000-03-01", &day), 0);
	cr_assert_eq(day, 11017);
	cr_assert_eq(tkj_day_parse("2024-02-29", &day), 0);
	cr_assert_eq(day, 19782);
	cr_assert_eq(tkj_day_parse("1972-02-29", &day), 0);
	cr_assert_eq(day, 789);
	cr_assert_eq(tkj_day_parse("2100-02-28", &day), 0);
	cr_assert_eq(day, 47540);
	cr_assert_eq(tkj_day_parse("2100-03-01", &day), 0);
	cr_assert_eq(day, 47541);
	cr_assert_eq(tkj_day_parse("1970-01-01", &day), 0);
	cr_assert_eq(day, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		day = 12345;
		cr_assert_eq(tkj_day_parse(bad[i], &day), -EINVAL, "\"%s\" accepted as %d", bad[i],
			     day);
		cr_assert_eq(day, 12345, "\"%s\": *day untouched", bad[i]);
	}
}

static int64_t parsed(const char *t)
{
	int64_t ns = 0;
	int rc = tkj_parse_time(t, &ns);

	cr_assert_eq(rc, 0, "\"%s\" refused (%d)", t, rc);
	return ns;
}

Test(times, parse_time_forms)
{
	/* python3, datetime(..., tzinfo=...) - epoch, in ns */
	cr_assert_eq(parsed("1701388800000"), 1701388800000000000LL);
	cr_assert_eq(parsed("0"), 0);
	cr_assert_eq(parsed("1"), 1000000);
	cr_assert_eq(parsed("2023-12-01"), 1701388800000000000LL);
	cr_assert_eq(parsed("2023-12-01T14:30"), 1701441000000000000LL);
	cr_assert_eq(parsed("2023-12-01 14:30"), 1701441000000000000LL);
	cr_assert_eq(parsed("2023-12-01T14:30Z"), 1701441000000000000LL);
	cr_assert_eq(parsed("2023-12-01T14:30:05.250Z"), 1701441005250000000LL);
	cr_assert_eq(parsed("2023-12-01T14:30:05.123456789Z"), 1701441005123456789LL);
	cr_assert_eq(parsed("2023-12-01T09:30:00-05:00"), 1701441000000000000LL);
	cr_assert_eq(parsed("2023-12-01T09:30:00-0500"), 1701441000000000000LL);
	cr_assert_eq(parsed("2023-12-01T14:30+05:30"), 1701421200000000000LL);
	cr_assert_eq(parsed("2000-02-29T23:59:59"), 951868799000000000LL);
	/* 2024-02-29T12:00-09:30 == 2024-02-29T21:30Z */
	cr_assert_eq(parsed("2024-02-29T12:00:00-09:30"), 1709242200000000000LL);
}

Test(times, garbage_is_rejected)
{
	static const char *bad[] = { "",
				     "abc",
				     "-5",
				     "1e9",
				     "12345678901234567890",
				     "2023-12-01T",
				     "2023-12-01T14",
				     "2023-12-01T14:3",
				     "2023-12-01T24:00",
				     "2023-12-01T14:60",
				     "2023-12-01T14:30:05.",
				     "2023-12-01T14:30:05,250Z",
				     "2023-12-01T14:30Zjunk",
				     "2023-12-01T14:30+5",
				     "2023-12-01T14:30+05:",
				     "2023-12-01T14:30+24:00",
				     "2023-13-01",
				     "2023-12-32",
				     "2023-02-29T00:00",
				     "2023-12-01X14:30",
				     " 2023-12-01",
				     "2023-12-01 ",
				     "2023-12" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 777;

		cr_assert_eq(tkj_parse_time(bad[i], &ns), -EINVAL, "\"%s\" accepted as %lld", bad[i],
			     (long long)ns);
		cr_assert_eq(ns, 777, "\"%s\": *ns untouched", bad[i]);
	}
}

/* int64 ns end at 2262-04-11T23:47:16.854775807Z (python3: epoch +
 * (2**63-1) ns), epoch ms at 9223372036854: past that a time must be
 * refused, not wrapped (signed overflow). */
Test(times, times_past_int64_ns_are_rejected)
{
	static const char *bad[] = { "9223372036855",
				     "99999999999999",
				     "999999999999999",
				     "2262-04-11T23:47:16.854775808Z",
				     "2262-04-11T23:47:17",
				     "2262-04-12",
				     "9999-12-31",
				     "9999-12-31T23:59:59-23:59",
				     "2262-04-11T23:47:16.854775807-00:01" };
	size_t i;

	cr_assert_eq(parsed("9223372036854"), 9223372036854000000LL);
	cr_assert_eq(parsed("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
	cr_assert_eq(parsed("2262-04-11T23:47:16.854775807+00:01"), INT64_MAX - 60000000000LL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 777;

		cr_assert_eq(tkj_parse_time(bad[i], &ns), -EINVAL, "\"%s\" accepted as %lld", bad[i],
			     (long long)ns);
	}
}
