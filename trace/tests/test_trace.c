/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_trace.c - the `lwkt` trace sites without a recording session: with
 * the provider not loaded every site is off and a call is harmless; after
 * dlopen() of liblwkt-tp.so (no session enables anything) they stay off.
 * The recording side is checked by trace/tests/trace-check (make check).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ltest.h"
#include "../lwkt/src/lwkt_trace.h"

static int test_evaluated;

/* An argument with a side effect: must not run while the site is off. */
static uint64_t
test_arg(void)
{
	test_evaluated++;
	return 42;
}

static void
test_fire_all(void)
{
	static char tok;

	LWKT_TRACE(ipi_send, 0, 1, test_arg(), (const void *)test_fire_all);
	LWKT_TRACE(ipi_recv, 0, 1, 1, (const void *)test_fire_all);
	LWKT_TRACE(ipi_done, 0, 1, 1);
	LWKT_TRACE(ipi_ring_full, 0, 1, 64);
	LWKT_TRACE(ipi_wake, 0, 1, 0);
	LWKT_TRACE(idle_enter, 0);
	LWKT_TRACE(idle_sleep, 0);
	LWKT_TRACE(idle_exit, 0);
	LWKT_TRACE(thread_create, 0, 1, "t");
	LWKT_TRACE(thread_create, 0, 1, NULL);
	LWKT_TRACE(thread_switch, 0, 0, 1);
	LWKT_TRACE(thread_exit, 0, 1);
	LWKT_TRACE(crit_enter, 0, 1);
	LWKT_TRACE(crit_exit, 0, 1);
	LWKT_TRACE(msg_send, 1, 2, 0, 1, 1, 0);
	LWKT_TRACE(msg_dispatch, 1, 2, 1, 2);
	LWKT_TRACE(msg_reply, 1, 1, 1, 0, 2, 0);
	LWKT_TRACE(msg_wait_begin, 1, 0, 1);
	LWKT_TRACE(msg_wait_end, 1, 0, 1);
	LWKT_TRACE(token_request, &tok, 1, 2);
	LWKT_TRACE(token_transfer, &tok, 0, 1);
	LWKT_TRACE(token_acquire, &tok, 1, 2);
	LWKT_TRACE(token_release, &tok, 1, 2);
}

static int
test_provider_in_process(void)
{
	return dlsym(RTLD_DEFAULT, "lttng_ust_tracepoint_provider_lwkt") != NULL;
}

START_TEST(t_unloaded_sites_off)
{
	ck_assert_msg(!test_provider_in_process(),
		      "provider loaded without LD_PRELOAD/dlopen");
	ck_assert(!LWKT_TRACE_ENABLED(msg_send));
	ck_assert(!LWKT_TRACE_ENABLED(ipi_send));
	for (int i = 0; i < 1000; i++)
		test_fire_all();
	ck_assert_int_eq(test_evaluated, 0);
}
END_TEST

START_TEST(t_loaded_no_session_sites_off)
{
	const char *path = LWKT_BUILD_DIR "/liblwkt-tp.so";
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);

	ck_assert_msg(h != NULL, "dlopen %s: %s", path, dlerror());
	ck_assert(test_provider_in_process());
	/* run-tests sets LTTNG_UST_REGISTER_TIMEOUT=0: no session daemon is
	 * waited for; even if one runs, no session enables this process's
	 * events unless someone records lwkt:* right now. */
	test_fire_all();
	ck_assert_int_le(test_evaluated, 1);
	/* The handle is kept: LTTng-UST probes are not meant to be unloaded
	 * while their threads run. */
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "unloaded", 10);

	tcase_add_test(tc, t_unloaded_sites_off);
	tc = ltest_tcase(s, "loaded_no_session", 20);
	tcase_add_test(tc, t_loaded_no_session_sites_off);
}

LTEST_MAIN("trace", add)
