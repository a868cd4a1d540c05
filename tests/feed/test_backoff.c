#include <criterion/criterion.h>

#include "feed/backoff.h"

#define MS 1000000LL

Test(backoff, doubles_from_the_base_up_to_the_cap_with_half_of_it_jittered)
{
	/* base 250 ms, cap 30 s: 250, 500, 1000, ... 16000, then 30000 */
	cr_assert_eq(tk_backoff_delay(0, 250 * MS, 30000 * MS, 0.0), 125 * MS);
	cr_assert_eq(tk_backoff_delay(0, 250 * MS, 30000 * MS, 0.5), 187500000LL);
	cr_assert_eq(tk_backoff_delay(1, 250 * MS, 30000 * MS, 0.0), 250 * MS);
	cr_assert_eq(tk_backoff_delay(6, 250 * MS, 30000 * MS, 0.0), 8000 * MS);
	cr_assert_eq(tk_backoff_delay(7, 250 * MS, 30000 * MS, 0.0), 15000 * MS, "32 s capped at 30");
	cr_assert_eq(tk_backoff_delay(7, 250 * MS, 30000 * MS, 0.999999), 29999985000LL);
	cr_assert_eq(tk_backoff_delay(1000, 250 * MS, 30000 * MS, 0.0), 15000 * MS, "no overflow");
}
