/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dump.c - lwkt_dump: what every cpu is doing, for a stall watchdog (the
 * soak's), in the spirit of DragonFly's smp_sniff/cpu_sniff
 * (kern/kern_clock.c, "sniff" of a cpu that does not drain its ipiq):
 * each cpu describes itself from its SIGURG handler (current thread,
 * crit depth, run-queue length), and the incoming IPI rings are read from
 * here through their atomic words only (read index, slot sequence words).
 * Diagnostics: nothing is locked, the figures are a recent sample.
 */
#include <errno.h>
#include <stdio.h>

#include "lwkt_priv.h"

/* Slots filled in r: the entries from the read index on whose sequence
 * word says "filled" (with their value tails) (the producer's write index itself is a plain
 * field of the producer cpu). */
static unsigned
ring_pending(struct lwkt_ipiring *r, unsigned size, uint64_t ri)
{
	unsigned n = 0;
	while (n < size &&
	       (atomic_load_explicit(&r->ir_slot[(ri + n) & (size - 1)].is_seq,
				     memory_order_relaxed) & LWKT_IPISEQ_NUM)
	       == ri + n + 1)
		n += 1 + LWKT_IPISEQ_TAILS(atomic_load_explicit(
			&r->ir_slot[(ri + n) & (size - 1)].is_seq,
			memory_order_relaxed));
	return n;
}

int
lwkt_dump(int fd, int timeout_ms)
{
	struct lwkt_runtime *rt = lwkt_rt;
	if (rt == NULL)
		return EINVAL;
	if (timeout_ms <= 0)
		timeout_ms = 1000;
	unsigned size = rt->rt_ipiq_size;
	for (int c = 0; c < rt->rt_ncpus; c++) {
		struct lwkt_cpu *gd = rt->rt_cpu[c];
		struct lwkt_stats st;
		lwkt_stats(c, &st);
		if (_lwkt_ipiq_sniff(gd, (uint64_t)timeout_ms * 1000000u))
			dprintf(fd, "lwkt: dump: cpu %d (PU %u): runs %s '%s' "
				"(id %llu) at crit depth %d; run queue %d, "
				"threads %d", c, gd->gd_pu,
				gd->gd_sniff.sn_idle ? "its idle loop" :
				"thread", gd->gd_sniff.sn_name,
				(unsigned long long)gd->gd_sniff.sn_tid,
				gd->gd_sniff.sn_crit, gd->gd_sniff.sn_rqlen,
				gd->gd_sniff.sn_nthreads);
		else
			dprintf(fd, "lwkt: dump: cpu %d (PU %u): no answer to "
				"the sniff signal in %d ms (its host thread "
				"gets no PU, or blocks signals)", c, gd->gd_pu,
				timeout_ms);
		dprintf(fd, "; idle word %u; ipis sent %llu received %llu, "
			"ring-full waits %llu, idle sleeps %llu, switches "
			"%llu\n",
			atomic_load_explicit(&gd->gd_idle, memory_order_relaxed),
			(unsigned long long)st.ls_ipis_sent,
			(unsigned long long)st.ls_ipis_received,
			(unsigned long long)st.ls_ringfull_waits,
			(unsigned long long)st.ls_idle_sleeps,
			(unsigned long long)st.ls_switches);
		for (int i = 0; i < gd->gd_nin; i++) {
			struct lwkt_ipiring *r = gd->gd_inlist[i];
			uint64_t ri = atomic_load_explicit(
			    &r->ir_rindex, memory_order_relaxed);
			unsigned n = ring_pending(r, size, ri);
			dprintf(fd, "lwkt: dump:   ring cpu %d -> cpu %d: "
				"rindex %llu, windex %llu (%u of %u entries "
				"pending)\n", gd->gd_insrc[i], c,
				(unsigned long long)ri,
				(unsigned long long)(ri + n), n, size);
		}
	}
	return 0;
}
