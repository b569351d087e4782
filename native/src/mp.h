/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp.h - requests a secondary makes to the primary over DPDK's
 * multi-process channel (rte_mp), for devices only the primary may own.
 */
#ifndef SPP_MP_H
#define SPP_MP_H

int spp_mp_primary_register(void);
void spp_mp_primary_unregister(void);
int spp_mp_request_vhost(unsigned int id, int client);

#endif /* SPP_MP_H */
