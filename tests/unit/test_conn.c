/* The connection state machine table and receive reassembly (server/net/conn.c). */
#include <check.h>
#include <signal.h>
#include <string.h>

#include "akv_test.h"
#include "err.h"
#include "net/conn.h"

START_TEST(t_conn_lifecycle_transitions)
{
	struct akv_conn c = {0};

	ck_assert_str_eq(akv_conn_state_name(c.state), "DEAD");
	akv_conn_set_state(&c, AKV_CONN_ACCEPTED);
	akv_conn_set_state(&c, AKV_CONN_OPEN);
	akv_conn_set_state(&c, AKV_CONN_DRAINING);
	akv_conn_set_state(&c, AKV_CONN_CLOSING);
	akv_conn_set_state(&c, AKV_CONN_DEAD);
	/* an error straight from OPEN, and an init failure from ACCEPTED */
	akv_conn_set_state(&c, AKV_CONN_ACCEPTED);
	akv_conn_set_state(&c, AKV_CONN_CLOSING);
	akv_conn_set_state(&c, AKV_CONN_DEAD);
	ck_assert_str_eq(akv_conn_state_name(99), "?");
}
END_TEST

/* Illegal moves are bugs: the assert stays on in release builds. */
START_TEST(t_conn_open_to_dead_aborts)
{
	struct akv_conn c = {0};

	akv_conn_set_state(&c, AKV_CONN_ACCEPTED);
	akv_conn_set_state(&c, AKV_CONN_OPEN);
	akv_conn_set_state(&c, AKV_CONN_DEAD);
}
END_TEST

START_TEST(t_conn_draining_to_open_aborts)
{
	struct akv_conn c = {0};

	akv_conn_set_state(&c, AKV_CONN_ACCEPTED);
	akv_conn_set_state(&c, AKV_CONN_DRAINING);
	akv_conn_set_state(&c, AKV_CONN_OPEN);
}
END_TEST

START_TEST(t_conn_rx_reassembly)
{
	struct akv_conn c = {0};
	/* the stream below reaches big[120 + AKV_CONN_RX_MAX - 1] */
	static uint8_t big[AKV_CONN_RX_MAX + 120];
	uint64_t seed = 3;

	akv_conn_bufs_alloc(&c);
	ck_assert_ptr_nonnull(c.rx);
	ck_assert_uint_eq(akv_conn_tx_room(&c), AKV_CONN_TX_CAP);
	akv_test_fill(&seed, big, sizeof(big));
	ck_assert_int_eq(akv_conn_rx_append(&c, big, 100), 0);
	ck_assert_int_eq(akv_conn_rx_append(&c, big + 100, 50), 0);
	ck_assert_uint_eq(c.rx_len, 150);
	ck_assert_mem_eq(c.rx + c.rx_off, big, 150);
	akv_conn_rx_consume(&c, 120);
	ck_assert_uint_eq(c.rx_len, 30);
	ck_assert_mem_eq(c.rx + c.rx_off, big + 120, 30);
	/* filling up to the limit compacts the unconsumed bytes to the front */
	ck_assert_int_eq(akv_conn_rx_append(&c, big + 150, AKV_CONN_RX_MAX - 30), 0);
	ck_assert_uint_eq(c.rx_off, 0);
	ck_assert_mem_eq(c.rx, big + 120, AKV_CONN_RX_MAX);
	/* one byte more than a frame can be is refused, nothing changes */
	ck_assert_int_eq(akv_conn_rx_append(&c, big, 1), AKV_ETOOBIG);
	ck_assert_uint_eq(c.rx_len, AKV_CONN_RX_MAX);
	akv_conn_rx_consume(&c, AKV_CONN_RX_MAX);
	ck_assert_uint_eq(c.rx_len, 0);
	ck_assert_uint_eq(c.rx_off, 0);
	akv_conn_bufs_free(&c);
	ck_assert_ptr_null(c.rx);
	ck_assert_uint_eq(akv_conn_tx_room(&c), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_conn_lifecycle_transitions);
	tcase_add_test_raise_signal(tc, t_conn_open_to_dead_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, t_conn_draining_to_open_aborts, SIGABRT);
	tcase_add_test(tc, t_conn_rx_reassembly);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return akv_test_run(suite());
}
