/* SPDX-License-Identifier: BSD-3-Clause
 *
 * comp_forward.c - the forward component: every frame of its one rx port
 * to its one tx port. Shared by the secondaries: spp_vf's `forward` and
 * each patch of spp_nfv.
 */
#include "secondary/component.h"

static int
forward_ready(uint16_t nb_rx, uint16_t nb_tx)
{
	return nb_rx == 1 && nb_tx == 1;
}

const struct comp_ops comp_forward_ops = {
	.name = "forward",
	.ready = forward_ready,
	.rx_burst = comp_rx_burst,
	.tx = comp_tx_first,
	.status = comp_status_counters,
};
