/* SPDX-License-Identifier: BSD-3-Clause
 *
 * queue_claim.c - one poller per rx queue of a directly polled device.
 *
 * A PCI NIC (or any PMD that works across processes) is polled by the
 * secondaries themselves, so nothing but this table stops two components,
 * two spp_vf processes or a primary patch from calling rte_eth_rx_burst on
 * the same queue at once, which no PMD allows. The table lives in the
 * shared memzone; a claim is a compare-and-swap of the owner's pid, so it
 * holds across processes, and a claim left by a process that died is
 * taken over by the next claimer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/shared.h"

int
spp_queue_claim(unsigned int phy, unsigned int queue, const char *owner)
{
	struct spp_queue_claim *c;
	int32_t self = (int32_t)getpid();

	if (spp_shm == NULL || phy >= SPP_MAX_PHY || queue >= SPP_MAX_DEV_QUEUES)
		return spp_fail(EINVAL, "phy:%u nq %u cannot be claimed", phy, queue);
	c = &spp_shm->rx_claim[phy][queue];
	for (;;) {
		int32_t cur = __atomic_load_n(&c->pid, __ATOMIC_ACQUIRE);

		if (cur == self && strncmp(c->owner, owner, sizeof(c->owner)) == 0)
			return 0;  /* already ours */
		if (cur != 0 && (cur == self || spp_pid_alive(cur)))
			return spp_fail(EBUSY, "phy:%u nq %u is polled directly by %s (pid %d); "
					"a queue has one poller: use another nq", phy, queue,
					c->owner, (int)cur);
		if (__atomic_compare_exchange_n(&c->pid, &cur, self, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	snprintf(c->owner, sizeof(c->owner), "%s", owner);
	return 0;
}

int
spp_queue_release(unsigned int phy, unsigned int queue, const char *owner)
{
	struct spp_queue_claim *c;
	int32_t self = (int32_t)getpid();

	if (spp_shm == NULL || phy >= SPP_MAX_PHY || queue >= SPP_MAX_DEV_QUEUES)
		return 0;
	c = &spp_shm->rx_claim[phy][queue];
	if (__atomic_load_n(&c->pid, __ATOMIC_ACQUIRE) != self ||
	    strncmp(c->owner, owner, sizeof(c->owner)) != 0)
		return 0;
	c->owner[0] = '\0';
	__atomic_store_n(&c->pid, 0, __ATOMIC_RELEASE);
	return 0;
}
