/* SPDX-License-Identifier: BSD-3-Clause
 *
 * cycles.c - the per-lcore cycle counters of this process and their reader
 * (see cycles.h).
 */
#include <errno.h>

#include <rte_lcore.h>

#include "common/common.h"
#include "common/cycles.h"

struct spp_lcore_cycles spp_lcore_cyc[SPP_MAX_LCORES];

uint64_t
spp_tsc_hz(void)
{
	return rte_get_tsc_hz();
}

int
spp_lcore_cycles(unsigned lcore, struct spp_cycles *out)
{
	if (lcore >= SPP_MAX_LCORES || !rte_lcore_is_enabled(lcore))
		return spp_fail(EINVAL, "lcore %u is not an lcore of this process", lcore);
	*out = spp_lcore_cyc[lcore].c;
	return 0;
}
