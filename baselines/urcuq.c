/* SPDX-License-Identifier: BSD-3-Clause */
/* urcuq.c - what the liburcu baselines share: the TSan grace-period token
 * and the flavour switch of the stress test. */
#include "urcuq.h"

#include <errno.h>

#include "urcuq_tsan.h"

char urcuq_tsan_token;

int
urcuq_stress(const struct urcuq_stress_cfg *cfg,
	     struct urcuq_stress_result *res)
{
	switch (cfg->sc_flavour) {
	case URCUQ_MEMB:
		return urcuq_memb_stress(cfg, res);
	case URCUQ_QSBR:
		return urcuq_qsbr_stress(cfg, res);
	}
	return EINVAL;
}
