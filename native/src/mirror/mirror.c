/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mirror.c - the spp_mirror secondary's control side: attach the
 * component host (secondary/host.c) with spp_mirror's one component type. Ports,
 * components, lcore plans, counters, workers and detach are the host's
 * spp_vf_* calls.
 */
#include <rte_common.h>

#include "common/common.h"
#include "mirror/mirror.h"
#include "secondary/host.h"

/* the component types of spp_mirror, by SPP_COMP_* */
static const struct comp_ops *const mirror_types[] = {
	[SPP_COMP_MIRROR] = &comp_mirror_ops,
};

int
spp_mirror_attach(unsigned client_id, int vhost_client)
{
	return vf_host_attach("spp_mirror", client_id, vhost_client, mirror_types,
			      RTE_DIM(mirror_types));
}
