/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp.h - requests a secondary makes to the primary over DPDK's
 * multi-process channel (rte_mp): things only the primary may do, and
 * the ownership of ports and rings it keeps for everyone.
 */
#ifndef SPP_MP_H
#define SPP_MP_H

#include <stdint.h>

/* primary: start (stop) answering requests on its service thread */
int spp_mp_primary_register(void);
void spp_mp_primary_unregister(void);

/* secondary: each waits for the primary's answer */
int spp_mp_request_vhost(unsigned int id, int client);
int spp_mp_attach(unsigned int client_id, const uint64_t *lcore_mask);
int spp_mp_detach(void);
int spp_mp_side(int res_type, unsigned int res_id, int consumer, int claim);

#endif /* SPP_MP_H */
