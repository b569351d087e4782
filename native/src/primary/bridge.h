/* SPDX-License-Identifier: BSD-3-Clause
 *
 * bridge.h - the primary's worker lcores and the lanes they run.
 *
 * A lane takes a burst from one source (a device rx queue or a ring) and
 * hands it to one destination (a ring, a device tx queue, or nowhere when
 * nobody reads the port). Each bridge lcore runs its own immutable plan,
 * a flat list of lanes, replaced whole under RCU. A source is polled by
 * exactly one lane, and every lane that transmits on a device runs on that
 * device's lcore, so no queue and no single-producer/consumer ring side is
 * ever used by two lcores at once.
 */
#ifndef SPP_BRIDGE_H
#define SPP_BRIDGE_H

#include <stdint.h>
#include <rte_ring.h>

#include "common/shared.h"

enum lane_src { LANE_FROM_DEV, LANE_FROM_RING };
enum lane_dst { LANE_TO_RING, LANE_TO_DEV, LANE_TO_NOWHERE };

#define LANE_NO_RING UINT16_MAX  /* src/dst_ring_id of a ring that is not a ring:N */

struct br_lane {
	uint8_t src;             /* enum lane_src */
	uint8_t dst;             /* enum lane_dst */
	uint16_t src_port;       /* ethdev ids */
	uint16_t dst_port;
	uint16_t src_ring_id;    /* ring:N ids, for ring counters */
	uint16_t dst_ring_id;
	struct rte_ring *src_ring;
	struct rte_ring *dst_ring;
	struct spp_bridge_counters *src_ctr;  /* device counters, NULL for rings */
	struct spp_bridge_counters *dst_ctr;
};

struct br_plan {
	unsigned int nb_lanes;
	struct br_lane lane[];
};

/* Launch one worker per lcore; plans must be published after this. */
int bridge_start(const unsigned int *lcores, unsigned int nb);
void bridge_stop(void);
unsigned int bridge_nb_lcores(void);
unsigned int bridge_lcore(unsigned int idx);
/* index of a bridge lcore id, or -1 */
int bridge_lcore_index(unsigned int lcore);

struct br_plan *bridge_plan_alloc(unsigned int max_lanes);
/* Swap in plans[i] for every bridge lcore i and free the old plans; the
 * caller serialises publishers (the primary's state lock). */
int bridge_publish(struct br_plan **plans);

#endif /* SPP_BRIDGE_H */
