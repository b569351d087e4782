/* SPDX-License-Identifier: BSD-3-Clause
 *
 * common.h - definitions shared by every file of the C core: error
 * reporting to the control plane, the mbuf pool's name and cache, and the
 * idle back-off that keeps polling lcores from starving a small machine.
 * Limits and sizes Python also needs are in spp_native.h.
 */
#ifndef SPP_COMMON_H
#define SPP_COMMON_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_pause.h>

#include "spp_native.h"

#define SPP_POOL_NAME "spp_mbuf_pool"
#define SPP_POOL_CACHE 256

#define RTE_LOGTYPE_SPP RTE_LOGTYPE_USER1
#define SPP_LOG(level, fmt, ...) \
	RTE_LOG(level, SPP, fmt "\n", ##__VA_ARGS__)

/* Record an operator-facing reason and return -err (err > 0). */
int spp_fail(int err, const char *fmt, ...) __rte_format_printf(2, 3);

/*
 * Idle back-off. A lane that found no work spins a little, then sleeps in
 * growing steps up to SPP_IDLE_MAX_US, so that a machine with fewer CPUs
 * than polling lcores stays responsive. Any work resets it at once, so a
 * loaded lane never sleeps.
 */
#define SPP_IDLE_SPINS 256
#define SPP_IDLE_MAX_US 200

struct spp_idle {
	uint32_t empty_polls;
	uint32_t sleep_us;
};

static inline void
spp_idle_update(struct spp_idle *idle, unsigned int work)
{
	if (likely(work != 0)) {
		idle->empty_polls = 0;
		idle->sleep_us = 0;
		return;
	}
	if (++idle->empty_polls < SPP_IDLE_SPINS) {
		rte_pause();
		return;
	}
	idle->sleep_us = idle->sleep_us ? RTE_MIN(idle->sleep_us * 2, SPP_IDLE_MAX_US) : 1;
	rte_delay_us_sleep(idle->sleep_us);
}

#endif /* SPP_COMMON_H */
