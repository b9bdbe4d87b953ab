// SPDX-License-Identifier: BSD-3-Clause
//
// test_cxx.cc - a C++ user of liblwkt: every public header compiles as
// C++ (this file as C++17 here, and as C++11 and C++20 by the build, see
// lwkt/module.mk), the structs have the layout the C library was built
// with, and the C functions link and run from C++.
#include <cstring>

#include "lwkt/lwkt.h"
#include "cxx_layout.h"
#include "ltest.h"

#define LS_(s) {#s, sizeof(struct s), alignof(struct s)},
#define LM_(s, m) {#s "." #m, offsetof(struct s, m), 0},
static const struct lt_layout lt_layout_cxx[] = {
	LAYOUT_LIST(LS_, LM_){NULL, 0, 0}};

START_TEST(t_layout_matches_c)
{
	int n = 0;
	for (; lt_layout_c[n].l_name != NULL; n++) {
		const struct lt_layout *c = &lt_layout_c[n];
		const struct lt_layout *x = &lt_layout_cxx[n];
		ck_assert_str_eq(c->l_name, x->l_name);
		ck_assert_msg(c->l_size == x->l_size && c->l_align == x->l_align,
			      "%s: C says size/offset %zu align %zu, C++ says "
			      "%zu, %zu", c->l_name, c->l_size, c->l_align,
			      x->l_size, x->l_align);
	}
	ck_assert_int_gt(n, 20);
	ck_assert_ptr_null(lt_layout_cxx[n].l_name);
}
END_TEST

// A function port that handles every message inline: domsg from outside
// LWKT returns its result without any cpu involved.
static int
inline_begin(lwkt_port_t port, lwkt_msg_t msg)
{
	msg->u.ms_result = *static_cast<int *>(port->mp_u.data) + 1;
	return 0;
}

START_TEST(t_runtime_from_cxx)
{
	struct lwkt_config cfg;
	lwkt_config_default(&cfg);
	cfg.lc_cpus = "count=1";
	ck_assert_int_eq(lwkt_init(&cfg), 0);
	int base = 41;
	struct lwkt_port fp;
	lwkt_initport_func(&fp, inline_begin, &base);
	struct lwkt_port rp;
	lwkt_initport_spin(&rp);
	struct lwkt_msg m;
	lwkt_initmsg(&m, &rp, 0);
	ck_assert_int_eq(lwkt_domsg(&fp, &m, 0), 0);
	ck_assert_int_eq(m.u.ms_result, 42);
	ck_assert_uint_ne(lwkt_msg_flags(&m) & MSGF_DONE, 0);
	ck_assert(!lwkt_msg_abort_requested(&m));
	struct lwkt_token tok;
	ck_assert_int_eq(lwkt_token_init(&tok, LWKT_TOKEN_ATOMIC, "cxx"), 0);
	ck_assert(!lwkt_token_is_held(&tok));
	lwkt_shutdown();
}
END_TEST

static void
add(Suite *s)
{
	TCase *tc = ltest_tcase(s, "cxx", 30);
	tcase_add_test(tc, t_layout_matches_c);
	tcase_add_test(tc, t_runtime_from_cxx);
}
LTEST_MAIN("cxx", add)
