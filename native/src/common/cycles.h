/* SPDX-License-Identifier: BSD-3-Clause
 *
 * cycles.h - what a packet costs: TSC cycle accounting of worker lcores and
 * components, cheap enough to stay on in production.
 *
 * A worker reads the TSC once per poll round (and, in spp_vf, once after
 * each component it runs). A round that moved frames adds its cycles to
 * the lcore's busy count, any other round (empty polls and the idle
 * back-off sleep) to its idle count. A component adds the cycles of its
 * burst call to its own busy count only when that call moved frames, with
 * the number of frames, so busy / packets is its cost per frame.
 *
 * Every counter is written by the lcore that owns it and read by the
 * control thread; a 64-bit aligned load on x86-64 cannot tear, and a
 * reader that is one round behind is fine for statistics.
 */
#ifndef SPP_CYCLES_H
#define SPP_CYCLES_H

#include <stdint.h>
#include <rte_common.h>
#include <rte_cycles.h>

#include "spp_native.h"

struct spp_lcore_cycles {
	struct spp_cycles c;
} __rte_cache_aligned;

/* per lcore id of this process; rows of lcores this process does not run stay 0 */
extern struct spp_lcore_cycles spp_lcore_cyc[SPP_MAX_LCORES];

/*
 * End of a poll round: account for the cycles since *tsc (the start of the
 * round) as busy when `work` frames moved, else idle, and start the next
 * round now. Call it after the idle back-off, so a sleep counts as idle.
 */
static inline void
spp_cycles_round(struct spp_cycles *c, uint64_t *tsc, unsigned int work)
{
	uint64_t now = rte_rdtsc();

	if (likely(work != 0)) {
		c->busy += now - *tsc;
		c->packets += work;
	} else {
		c->idle += now - *tsc;
	}
	*tsc = now;
}

/*
 * After one burst call of a component that started at *tsc: charge it to
 * the component if it moved frames. *tsc becomes the start of the next call.
 */
static inline void
spp_cycles_burst(struct spp_cycles *c, uint64_t *tsc, unsigned int moved)
{
	uint64_t now = rte_rdtsc();

	if (moved != 0) {
		c->busy += now - *tsc;
		c->packets += moved;
	}
	*tsc = now;
}

#endif /* SPP_CYCLES_H */
