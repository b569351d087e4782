/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mirror.h - spp_mirror: the component host of spp_vf (secondary/host.c: slots,
 * lcore plans, ports and their ring sides, RCU) with one component type
 * of its own, `mirror` (comp_mirror.c). mirror.c attaches that host with
 * the mirror type table; every other call is the host's spp_vf_* call.
 */
#ifndef SPP_MIRROR_H
#define SPP_MIRROR_H

#include "secondary/component.h"

/* the mirror type: 1 rx port, every frame to both of its 2 tx ports */
extern const struct comp_ops comp_mirror_ops;

#endif /* SPP_MIRROR_H */
