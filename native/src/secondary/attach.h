/* SPDX-License-Identifier: BSD-3-Clause
 *
 * attach.h - joining and leaving the primary, the steps every secondary
 * (spp_vf, spp_mirror, spp_nfv, spp_pcap) takes alike. The state they fill
 * (the RCU state) is the caller's, passed in.
 */
#ifndef SPP_SEC_ATTACH_H
#define SPP_SEC_ATTACH_H

#include <stdint.h>
#include <rte_rcu_qsbr.h>

/* This process's lcores as the bit set spp_mp_attach() sends (bit N: lcore N). */
void sec_lcore_mask(uint64_t lcores[2]);

/*
 * Attach as secondary `client_id` whose workers run under RCU: fail unless
 * EAL runs as a secondary (`who` names the process in that error), map the
 * primary's shared state, tell the primary our lcores, then allocate and
 * initialise the RCU state (memzone name `qsbr_name`) into *qsbr.
 */
int sec_attach(const char *who, unsigned int client_id, const char *qsbr_name,
	       struct rte_rcu_qsbr **qsbr);

/*
 * Leave once no worker runs and every port side is given back: return the
 * mbufs cached for our lcores to the pool (nobody else may touch those
 * caches), then let the primary free our lcore ids. A failure is logged.
 */
void sec_leave(void);

#endif /* SPP_SEC_ATTACH_H */
