/* SPDX-License-Identifier: BSD-3-Clause
 *
 * port.c - open a port of the primary in a secondary, and own the side of
 * its ring this process uses (see port.h, common/shared.h).
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/shared.h"
#include "secondary/port.h"

static int
port_from_dev(struct port *p, const struct spp_shared_dev *dev, const char *type,
	      unsigned int id, unsigned int queue)
{
	if (queue >= dev->nb_queues)
		return spp_fail(EINVAL, "%s:%u has %u queue(s); nq %u does not exist", type, id,
				dev->nb_queues, queue);
	if (dev->kind == SPP_DEV_BRIDGED) {
		if (queue != 0)
			return spp_fail(EINVAL, "%s:%u is bridged by the primary and has only "
					"queue 0", type, id);
		p->kind = PORT_RING;
		p->rx_ring = dev->rx_ring;
		p->tx_ring = dev->tx_ring;
	} else {
		p->kind = PORT_ETHDEV;
		p->ethdev_id = dev->ethdev_id;
		p->queue = (uint16_t)queue;
	}
	return 0;
}

int
port_open(struct port *p, int res_type, unsigned int res_id, unsigned int queue,
	  int vhost_client)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->res_type = (uint8_t)res_type;
	p->res_id = (uint16_t)res_id;

	switch (res_type) {
	case SPP_RES_PHY:
		if (res_id >= SPP_MAX_PHY || !spp_shm->phy[res_id].in_use)
			return spp_fail(ENOENT, "phy:%u does not exist (the primary has %u phy "
					"port(s))", res_id, spp_shm->nb_phy);
		return port_from_dev(p, &spp_shm->phy[res_id], "phy", res_id, queue);
	case SPP_RES_RING:
		if (res_id >= SPP_MAX_RINGS || spp_shm->ring[res_id] == NULL)
			return spp_fail(ENOENT, "ring:%u does not exist (the primary has %u "
					"ring(s))", res_id, spp_shm->nb_rings);
		if (queue != 0)
			return spp_fail(EINVAL, "ring:%u has no queue %u", res_id, queue);
		p->kind = PORT_RING;
		p->rx_ring = p->tx_ring = spp_shm->ring[res_id];
		p->ring_ctr = spp_shm->ring_ctr[res_id];
		return 0;
	case SPP_RES_VHOST:
		if (res_id >= SPP_MAX_VHOST)
			return spp_fail(EINVAL, "vhost:%u is out of range (0-%u)", res_id,
					SPP_MAX_VHOST - 1);
		if (!__atomic_load_n(&spp_shm->vhost[res_id].in_use, __ATOMIC_ACQUIRE)) {
			ret = spp_mp_request_vhost(res_id, vhost_client);
			if (ret < 0)
				return ret;
		}
		return port_from_dev(p, &spp_shm->vhost[res_id], "vhost", res_id, queue);
	default:
		return spp_fail(EINVAL, "unknown resource type %d", res_type);
	}
}

int
port_side(const struct port *p, int consumer, int claim)
{
	if (p->kind != PORT_RING)
		return 0;  /* directly polled devices: no ring to own */
	return spp_mp_side(p->res_type, p->res_id, consumer, claim);
}

int
port_own(const struct port *p, int consumer, int claim, const char *owner)
{
	if (p->kind != PORT_ETHDEV)
		return port_side(p, consumer, claim);
	if (!consumer)
		return 0;
	return claim ? spp_queue_claim(p->res_id, p->queue, owner)
		     : spp_queue_release(p->res_id, p->queue, owner);
}
