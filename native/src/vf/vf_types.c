/* SPDX-License-Identifier: BSD-3-Clause
 *
 * vf_types.c - the spp_vf secondary's control side: attach the component
 * host (secondary/host.c) with spp_vf's component types. Ports,
 * components, lcore plans, counters, workers and detach are the host's
 * spp_vf_* calls.
 */
#include <rte_common.h>

#include "common/common.h"
#include "secondary/host.h"
#include "vf/comp_types.h"

/* the component types of spp_vf, by SPP_COMP_* */
static const struct comp_ops *const vf_types[] = {
	[SPP_COMP_FORWARD] = &comp_forward_ops,
	[SPP_COMP_MERGE] = &comp_merge_ops,
	[SPP_COMP_CLASSIFIER] = &comp_classifier_ops,
};

int
spp_vf_attach(unsigned client_id, int vhost_client)
{
	return vf_host_attach("spp_vf", client_id, vhost_client, vf_types, RTE_DIM(vf_types));
}
