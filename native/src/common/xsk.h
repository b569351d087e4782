/* SPDX-License-Identifier: BSD-3-Clause
 *
 * xsk.h - the AF_XDP sockets the af_xdp PMD opened in this process, and
 * the kernel's counters of each (what it refused or dropped).
 *
 * The PMD keeps its socket private, and an AF_XDP socket answers neither
 * getsockname() nor (without the xsk_diag module) sock_diag. But the
 * primary opens ports one at a time under its state lock: the AF_XDP
 * sockets that appear in /proc/self/fd while a port starts are that
 * port's.
 */
#ifndef SPP_XSK_H
#define SPP_XSK_H

#include <stdint.h>

#include "common/common.h"

#define XSK_MAX_FDS 64

struct xsk_fds {
	unsigned int nb;
	int fd[XSK_MAX_FDS];
};

/* the AF_XDP sockets open in this process now */
void xsk_fds_scan(struct xsk_fds *out);
/* those in `after` and not in `before` */
void xsk_fds_new(const struct xsk_fds *before, const struct xsk_fds *after, struct xsk_fds *out);
/* sum of XDP_STATISTICS over the sockets; 0 or -errno */
int xsk_stats_sum(const struct xsk_fds *fds, struct spp_xsk_stats *out);

#endif /* SPP_XSK_H */
