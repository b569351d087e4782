/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary.h - what the primary's service thread (mp.c) does for
 * secondaries. Each call takes the primary's state lock.
 */
#ifndef SPP_PRIMARY_H
#define SPP_PRIMARY_H

#include <stdint.h>
#include <sys/types.h>

/* A secondary starts: it will run the lcores in `lcore_mask` (2 x 64 bits). */
int spp_primary_attach_process(pid_t pid, uint16_t client_id, const uint64_t *lcore_mask);
/* A secondary leaves in order: its ring sides and lcores are free again. */
int spp_primary_detach_process(pid_t pid);
/* Claim (or release) the reading (`consumer`) or writing side of a port or ring. */
int spp_primary_side(pid_t pid, uint16_t client_id, int type, unsigned int id, int consumer,
		     int claim);
/* Free what processes that died without detaching held; returns how many. */
int spp_primary_reap(void);

#endif /* SPP_PRIMARY_H */
