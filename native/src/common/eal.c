/* SPDX-License-Identifier: BSD-3-Clause
 *
 * eal.c - EAL start and stop for both process kinds, and the error text
 * the control plane shows operators.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "common/common.h"

static_assert(SPP_MAX_LCORES >= RTE_MAX_LCORE, "lcore tables too small");

static __thread char last_error[256];

int
spp_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -err;
}

const char *
spp_last_error(void)
{
	return last_error;
}

int
spp_eal_init(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);

	if (ret < 0)
		return spp_fail(rte_errno ? rte_errno : EINVAL,
				"EAL initialisation failed: %s", rte_strerror(rte_errno));
	return ret;
}

int
spp_eal_cleanup(void)
{
	return rte_eal_cleanup();
}

unsigned
spp_main_lcore(void)
{
	return rte_get_main_lcore();
}

int
spp_worker_lcores(unsigned *out, unsigned max)
{
	unsigned int lcore, n = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (n < max)
			out[n] = lcore;
		n++;
	}
	return (int)n;
}

int
spp_is_primary(void)
{
	return rte_eal_process_type() == RTE_PROC_PRIMARY;
}
