/* SPDX-License-Identifier: BSD-3-Clause
 *
 * comp_merge.c - the merge component: the frames of all its rx ports to
 * its one tx port. comp_run() polls every rx port once per call, starting
 * one further each call, so no port can starve the others.
 */
#include "vf/comp_types.h"

static int
merge_ready(uint16_t nb_rx, uint16_t nb_tx)
{
	return nb_rx >= 1 && nb_tx == 1;
}

const struct comp_ops comp_merge_ops = {
	.name = "merge",
	.ready = merge_ready,
	.rx_burst = comp_rx_burst,
	.tx = comp_tx_first,
	.status = comp_status_counters,
};
