/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cxx_layout.h - one list of (struct, member) pairs, expanded twice: as a
 * table of sizes/offsets compiled as C (cxx_layout.c, LAYOUT_C defined)
 * and compiled as C++ inside test_cxx.cc.  Every struct of the public
 * headers and every member a user or the runtime may touch is listed.
 */
#ifndef LWKT_TESTS_CXX_LAYOUT_H
#define LWKT_TESTS_CXX_LAYOUT_H
#include <stddef.h>

#define LAYOUT_LIST(S, M)						\
	S(lwkt_msg) M(lwkt_msg, ms_next) M(lwkt_msg, ms_reply_port)	\
	M(lwkt_msg, ms_abortfn) M(lwkt_msg, ms_flags)			\
	M(lwkt_msg, ms_abortreq) M(lwkt_msg, ms_error)			\
	M(lwkt_msg, ms_valsize) M(lwkt_msg, ms_vcpu)			\
	M(lwkt_msg, ms_id) M(lwkt_msg, u)				\
	S(lwkt_port) M(lwkt_port, mp_head) M(lwkt_port, mp_flags)	\
	M(lwkt_port, mp_kind) M(lwkt_port, mp_cpuid) M(lwkt_port, mp_id) \
	M(lwkt_port, mp_td) M(lwkt_port, mp_u) M(lwkt_port, mp_getport)	\
	M(lwkt_port, mp_abortport)					\
	S(lwkt_serialize) M(lwkt_serialize, ls_lock)			\
	M(lwkt_serialize, ls_owner)					\
	S(lwkt_token) M(lwkt_token, t_count) M(lwkt_token, t_owner)	\
	M(lwkt_token, t_reqmask) M(lwkt_token, t_cpu)			\
	M(lwkt_token, t_ref) M(lwkt_token, t_name)			\
	S(lwkt_tokref) M(lwkt_tokref, tr_reserved)			\
	S(lwkt_tokstate) M(lwkt_tokstate, ts_inslow)			\
	M(lwkt_tokstate, ts_ref) S(lwkt_tok_tls) M(lwkt_tok_tls, tt_cpuid) \
	S(lwkt_token_stats) M(lwkt_token_stats, lts_contended)		\
	S(lwkt_config) M(lwkt_config, lc_cpus)				\
	M(lwkt_config, lc_idle_spin_ns) M(lwkt_config, lc_fence)	\
	M(lwkt_config, lc_hard_ipi) M(lwkt_config, lc_stack_size)	\
	S(lwkt_stats) M(lwkt_stats, ls_switches)

struct lt_layout {
	const char *l_name;
	size_t l_size;		/* sizeof, or offsetof for a member */
	size_t l_align;		/* _Alignof the struct; 0 for a member */
};

#ifdef __cplusplus
extern "C" {
#endif
extern const struct lt_layout lt_layout_c[];
#ifdef __cplusplus
}
#endif
#endif /* LWKT_TESTS_CXX_LAYOUT_H */

#ifdef LAYOUT_C
#define LS_(s) {#s, sizeof(struct s), _Alignof(struct s)},
#define LM_(s, m) {#s "." #m, offsetof(struct s, m), 0},
const struct lt_layout lt_layout_c[] = {LAYOUT_LIST(LS_, LM_){NULL, 0, 0}};
#undef LS_
#undef LM_
#endif
